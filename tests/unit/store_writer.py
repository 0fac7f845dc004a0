"""Put notebooks into a Store in a loop until the process is killed.

The store's kill test runs this file as a script with the state file's path
as its argument. After each completed put the script prints the notebook's
index, so the test can tell which notebooks must survive a kill.
"""

from __future__ import annotations

import sys
from pathlib import Path

from localai.models import (
    EnvVar,
    Notebook,
    NotebookEnv,
    NotebookSpec,
    NotebookState,
    NotebookStatus,
    Resources,
)
from localai.store import Store


def notebook_id(index: int) -> str:
    return f"nb-{index:05d}"


def build_notebook(index: int) -> Notebook:
    """Build notebook number ``index``; a higher index gives a larger document."""
    return Notebook(
        id=notebook_id(index),
        created_ns=1_000 + index,
        updated_ns=2_000 + index,
        user="user-abcdefabcdef",
        spec=NotebookSpec(
            name=f"notebook-{index}",
            env=NotebookEnv("pytorch", "2.3", "jupyterlab"),
            resources=Resources(cpu=1 + index % 4, gpu=index % 2, memory=index * 1024),
            labels={f"label-{n}": f"value-{n}" for n in range(index % 30)},
            env_vars=[EnvVar("PADDING", "x" * (20 * index))],
        ),
        status=NotebookStatus(state=NotebookState.RUNNING, last_transition_ns=3_000 + index),
    )


def main() -> None:
    store = Store(Path(sys.argv[1]))
    index = len(store.list_notebooks())
    while True:
        store.put_notebook(build_notebook(index))
        print(index, flush=True)
        index += 1


if __name__ == "__main__":
    main()
