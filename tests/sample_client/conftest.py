"""Keeps localai's own test run out of this sample project.

The sample runs as a pytest project of its own, with this folder (or a copy
of it) as the rootdir, so that pytest.ini applies. localai's test run, whose
rootdir is the repository, collects tests/ and skips everything here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if config.rootpath != HERE:
        return True
    return None
