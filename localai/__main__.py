"""``python -m localai``: the ``localai`` command line."""

from localai.cli.main import main

if __name__ == "__main__":
    main()
