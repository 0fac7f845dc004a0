from __future__ import annotations

import importlib.util
import json
import os
import random
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

import localai
from localai.models import (
    EnvVar,
    Notebook,
    NotebookEnv,
    NotebookSpec,
    NotebookState,
    NotebookStatus,
    Resources,
)
from localai.store import Store, StoreCorrupted, TokenRecord

WRITER_SCRIPT = Path(__file__).with_name("store_writer.py")
TEMP_PATTERN = ".state.json.*.tmp"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    opened = Store(path)
    yield opened
    opened.close()


def reopen(path: Path) -> Store:
    """Open a second Store on the same file, so a check reads what is on disk."""
    return Store(path)


def full_notebook(notebook_id: str = "nb-full", created_ns: int = 1_000) -> Notebook:
    return Notebook(
        id=notebook_id,
        created_ns=created_ns,
        updated_ns=created_ns + 5,
        user="user-abcdefabcdef",
        spec=NotebookSpec(
            name="my-notebook",
            env=NotebookEnv("pytorch", "2.3", "vscode"),
            resources=Resources(
                cpu=4,
                gpu=2,
                gpu_model="H200",
                gpu_brand="NVIDIA",
                gpu_memory=150_000_000_000,
                memory=64 * 1024**3,
                flavor="ai1-1-gpu",
            ),
            labels={"zeta": "last", "alpha": "first", "team": "é-ü"},
            unsecure_http=True,
            env_vars=[EnvVar("B_VAR", "two"), EnvVar("A_VAR", "one=1")],
        ),
        status=NotebookStatus(
            state=NotebookState.FAILED,
            last_transition_ns=1_100,
            infos="the editor exited",
            exit_code=137,
            duration_base=42,
            running_since_ns=1_050,
            url="http://nb-full.notebook.localhost:8300/",
            monitoring_url="http://monitoring.localhost:8300/d/gpu?var-notebook=nb-full",
            last_started_ns=1_040,
            last_stopped_ns=1_090,
        ),
    )


def minimal_notebook(notebook_id: str = "nb-min", created_ns: int = 2_000) -> Notebook:
    return Notebook(
        id=notebook_id,
        created_ns=created_ns,
        updated_ns=created_ns,
        user="user-abcdefabcdef",
        spec=NotebookSpec(
            name="",
            env=NotebookEnv("one-for-all", "v98", "jupyterlab"),
            resources=Resources(cpu=1),
        ),
        status=NotebookStatus(state=NotebookState.STARTING),
    )


def token(token_id: str = "tok-1", created_ns: int = 1_000) -> TokenRecord:
    return TokenRecord(
        id=token_id,
        name="ci",
        role="ai_training_read",
        label_selector="team=ml",
        version=1,
        created_ns=created_ns,
        updated_ns=created_ns,
        verifier="sha256:abcdef",
    )


# Notebooks


def test_full_notebook_round_trip(path: Path, store: Store) -> None:
    store.put_notebook(full_notebook())

    assert reopen(path).get_notebook("nb-full") == full_notebook()


def test_minimal_notebook_round_trip(path: Path, store: Store) -> None:
    store.put_notebook(minimal_notebook())

    assert reopen(path).get_notebook("nb-min") == minimal_notebook()


def test_labels_and_env_vars_keep_order(path: Path, store: Store) -> None:
    store.put_notebook(full_notebook())

    loaded = reopen(path).get_notebook("nb-full")

    assert loaded is not None
    assert list(loaded.spec.labels) == ["zeta", "alpha", "team"]
    assert [var.name for var in loaded.spec.env_vars] == ["B_VAR", "A_VAR"]


def test_document_format(path: Path, store: Store) -> None:
    store.put_notebook(full_notebook())

    [document] = json.loads(path.read_text(encoding="utf-8"))["notebooks"].values()

    assert document["schema"] == 1
    assert document["status"]["state"] == "FAILED"
    assert document["spec"]["resources"]["gpu_model"] == "H200"
    assert document["spec"]["env_vars"] == [
        {"name": "B_VAR", "value": "two"},
        {"name": "A_VAR", "value": "one=1"},
    ]


def test_get_missing_notebook(store: Store) -> None:
    assert store.get_notebook("nb-none") is None


def test_list_empty(store: Store) -> None:
    assert store.list_notebooks() == []


def test_list_in_creation_order(store: Store) -> None:
    store.put_notebook(minimal_notebook("nb-b", created_ns=20))
    store.put_notebook(minimal_notebook("nb-c", created_ns=30))
    store.put_notebook(minimal_notebook("nb-a", created_ns=10))
    store.put_notebook(minimal_notebook("nb-a2", created_ns=10))

    ids = [notebook.id for notebook in store.list_notebooks()]

    assert ids == ["nb-a", "nb-a2", "nb-b", "nb-c"]


def test_put_replaces_same_id(path: Path, store: Store) -> None:
    store.put_notebook(full_notebook("nb-1"))
    changed = replace(minimal_notebook("nb-1"), user="user-changed00000")

    store.put_notebook(changed)

    assert reopen(path).list_notebooks() == [changed]


def test_delete_notebook(path: Path, store: Store) -> None:
    store.put_notebook(minimal_notebook("nb-1"))
    store.put_notebook(minimal_notebook("nb-2", created_ns=3_000))

    assert store.delete_notebook("nb-1") is True
    assert [notebook.id for notebook in reopen(path).list_notebooks()] == ["nb-2"]


def test_delete_missing_notebook(store: Store) -> None:
    assert store.delete_notebook("nb-none") is False


# App tokens


def test_token_round_trip(path: Path, store: Store) -> None:
    store.put_token(token())

    assert reopen(path).get_token("tok-1") == token()


def test_token_without_selector(path: Path, store: Store) -> None:
    record = replace(token(), label_selector=None)

    store.put_token(record)

    assert reopen(path).get_token("tok-1") == record


def test_tokens_list_replace_delete(path: Path, store: Store) -> None:
    store.put_token(token("tok-2", created_ns=20))
    store.put_token(token("tok-1", created_ns=10))
    renewed = replace(token("tok-2", created_ns=20), version=2, verifier="sha256:fedcba")

    store.put_token(renewed)
    deleted = store.delete_token("tok-1")

    assert deleted is True
    assert reopen(path).list_tokens() == [renewed]
    assert store.get_token("tok-1") is None
    assert store.delete_token("tok-1") is False


def test_tokens_separate_from_notebooks(store: Store) -> None:
    store.put_notebook(minimal_notebook("same-id"))
    store.put_token(token("same-id"))

    assert store.delete_token("same-id") is True
    assert store.get_notebook("same-id") == minimal_notebook("same-id")


# Daemon facts


def test_meta_missing(store: Store) -> None:
    assert store.get_meta("project_id") is None


def test_meta_set_and_overwrite(path: Path, store: Store) -> None:
    store.set_meta("project_id", "first")
    store.set_meta("project_id", "second")
    store.set_meta("other", "value")

    reopened = reopen(path)

    assert reopened.get_meta("project_id") == "second"
    assert reopened.get_meta("other") == "value"


# The file


@pytest.mark.parametrize(
    "content",
    ["{not json", "", '{"notebooks": {"1": {"id": "nb-1"', "[1, 2]", '{"notebooks": 3}', "\xff"],
)
def test_corrupted_file(path: Path, content: str) -> None:
    path.write_text(content, encoding="latin-1")

    with pytest.raises(StoreCorrupted) as caught:
        Store(path)

    assert str(path) in caught.value.message
    assert "Move it aside" in caught.value.message


def test_invalid_notebook_document(path: Path) -> None:
    path.write_text('{"notebooks": {"1": {"schema": 1, "id": "nb-1"}}}', encoding="utf-8")
    store = Store(path)

    with pytest.raises(StoreCorrupted) as caught:
        store.get_notebook("nb-1")

    assert "invalid notebook 'nb-1'" in caught.value.message
    assert str(path) in caught.value.message


def test_unknown_schema(path: Path) -> None:
    document = {"schema": 2, "id": "tok-1"}
    path.write_text(json.dumps({"tokens": {"1": document}}), encoding="utf-8")
    store = Store(path)

    with pytest.raises(StoreCorrupted) as caught:
        store.list_tokens()

    assert "schema 2, but this localai reads only schema 1" in caught.value.message


def test_file_mode(path: Path, store: Store) -> None:
    store.set_meta("key", "value")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_open_narrows_file_mode(path: Path) -> None:
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)

    Store(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_data_dir_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.json"

    Store(path).set_meta("key", "value")

    assert reopen(path).get_meta("key") == "value"


def test_open_removes_stale_temp_files(path: Path) -> None:
    stale = path.with_name(".state.json.abc123.tmp")
    stale.write_text('{"notebooks": {', encoding="utf-8")
    unrelated = path.with_name("notes.tmp")
    unrelated.write_text("keep", encoding="utf-8")

    Store(path)

    assert not stale.exists()
    assert unrelated.exists()


def test_failed_write_keeps_old_file(
    path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_notebook(minimal_notebook("nb-1"))

    def fail_replace(source: str, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError):
        store.put_notebook(minimal_notebook("nb-2"))
    monkeypatch.undo()

    assert list(path.parent.glob(TEMP_PATTERN)) == []
    assert [notebook.id for notebook in reopen(path).list_notebooks()] == ["nb-1"]


def test_concurrent_puts(path: Path, store: Store) -> None:
    def put_many(thread: int) -> None:
        for n in range(10):
            store.put_notebook(minimal_notebook(f"nb-{thread}-{n}", created_ns=thread * 100 + n))
            store.set_meta(f"thread-{thread}", str(n))

    with ThreadPoolExecutor(max_workers=8) as pool:
        # list() re-raises the first exception of any thread.
        list(pool.map(put_many, range(8)))

    reopened = reopen(path)
    stored = {notebook.id for notebook in reopened.list_notebooks()}
    expected = {f"nb-{thread}-{n}" for thread in range(8) for n in range(10)}
    assert stored == expected
    assert [reopened.get_meta(f"thread-{thread}") for thread in range(8)] == ["9"] * 8


# A write interrupted by SIGKILL


def load_writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("store_writer", WRITER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_writer_until_killed(path: Path, delay: float) -> list[int]:
    """Run the writer script and SIGKILL it ``delay`` seconds after its first put.

    Returns the notebook indexes that the script printed, one per completed put.
    """
    # The script must import this checkout of localai even where it is not installed.
    source_root = str(Path(localai.__file__).parents[1])
    pythonpath = os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, str(WRITER_SCRIPT), str(path)],
        env={**os.environ, "PYTHONPATH": pythonpath},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None

    first = process.stdout.readline()
    time.sleep(delay)
    process.kill()
    process.wait()

    assert first, f"the writer exited before its first put: {process.stderr.read()}"
    acknowledged = [int(line) for line in [first, *process.stdout.read().split()]]
    process.stdout.close()
    process.stderr.close()
    return acknowledged


def test_kill_during_writes(path: Path) -> None:
    writer = load_writer()
    chooser = random.Random(1234)

    for _ in range(10):
        acknowledged = run_writer_until_killed(path, chooser.uniform(0.0, 0.05))

        assert len(list(path.parent.glob(TEMP_PATTERN))) <= 1
        json.loads(path.read_text(encoding="utf-8"))

        store = Store(path)
        notebooks = store.list_notebooks()
        store.close()

        assert list(path.parent.glob(TEMP_PATTERN)) == []
        # Every acknowledged put survives; the put running at the kill may or may not.
        assert acknowledged[-1] < len(notebooks) <= acknowledged[-1] + 2
        for index, notebook in enumerate(notebooks):
            assert notebook == writer.build_notebook(index)
