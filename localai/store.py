"""Persistent state of the daemon: notebooks, app tokens and a few facts.

This is the only module that uses TinyDB and the only one that converts
records to and from stored documents. Every write replaces the state file
atomically, so a killed daemon leaves either the previous or the new
content, never a partial file. Only the daemon writes the file, and one
``Store`` serialises its threads with a lock.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from localai.errors import LocalaiError
from localai.models import (
    EnvVar,
    JsonDict,
    Notebook,
    NotebookEnv,
    NotebookSpec,
    NotebookState,
    NotebookStatus,
    Resources,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_MODE = 0o600

_NOTEBOOKS = "notebooks"
_TOKENS = "tokens"
_META = "meta"


class StoreCorrupted(LocalaiError):
    """The state file cannot be read as a localai state."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The state file {path} {problem}. Move it aside (for example to {path}.corrupt)"
            " and start the daemon again. The daemon then starts with an empty state and"
            " reconciles it with the notebook containers in Docker."
        )
        self.path = path


@dataclass
class TokenRecord:
    """An app token as the daemon stores it."""

    id: str
    name: str
    role: str
    label_selector: str | None
    version: int
    created_ns: int
    updated_ns: int
    verifier: str
    """Data that verifies the token's current value, such as a hash, and never the value itself."""


class AtomicJSONStorage(Storage):
    """TinyDB storage that replaces its JSON file atomically on every write.

    The file is read and parsed again on every access, because the state of
    one daemon is small and only this process writes it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return None

        try:
            data = json.loads(content)
        except ValueError as e:
            raise StoreCorrupted(self.path, f"is not valid JSON ({e})") from e

        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            raise StoreCorrupted(self.path, "does not contain a JSON object of tables")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        text = json.dumps(data, ensure_ascii=False)
        directory = self.path.parent

        # mkstemp creates the file with mode 0600, which os.replace keeps.
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as temp_file:
                temp_file.write(text)
                temp_file.flush()
                os.fsync(temp_file.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

        # The rename is durable only once the directory entry is on disk.
        _fsync_directory(directory)

    def remove_stale_temp_files(self) -> None:
        """Delete temp files left by a writer that was killed before its rename."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            log.warning("removing %s, left by an interrupted write of the state file", stale)
            stale.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """Notebooks, app tokens and daemon facts in one state file, usable from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()

        path.parent.mkdir(parents=True, exist_ok=True)
        self._storage = AtomicJSONStorage(path)
        self._storage.remove_stale_temp_files()

        # Read once now so that a corrupted file fails the daemon's start.
        self._storage.read()
        if path.exists():
            path.chmod(FILE_MODE)

        self._db = TinyDB(storage=lambda: self._storage)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Notebooks

    def get_notebook(self, notebook_id: str) -> Notebook | None:
        with self._lock:
            document = self._get(_NOTEBOOKS, "id", notebook_id)
            return None if document is None else self._notebook(document)

    def list_notebooks(self) -> list[Notebook]:
        """Return every notebook, oldest first."""
        with self._lock:
            notebooks = [self._notebook(document) for document in self._table(_NOTEBOOKS).all()]
        # sorted() is stable, so notebooks created in the same nanosecond keep insertion order.
        return sorted(notebooks, key=lambda notebook: notebook.created_ns)

    def put_notebook(self, notebook: Notebook) -> None:
        """Insert ``notebook``, or replace the stored notebook with the same id."""
        with self._lock:
            self._put(_NOTEBOOKS, "id", notebook.id, notebook_to_document(notebook))

    def delete_notebook(self, notebook_id: str) -> bool:
        """Delete a notebook and return whether one had that id."""
        with self._lock:
            return self._delete(_NOTEBOOKS, "id", notebook_id)

    # App tokens

    def get_token(self, token_id: str) -> TokenRecord | None:
        with self._lock:
            document = self._get(_TOKENS, "id", token_id)
            return None if document is None else self._token(document)

    def list_tokens(self) -> list[TokenRecord]:
        """Return every app token, oldest first."""
        with self._lock:
            tokens = [self._token(document) for document in self._table(_TOKENS).all()]
        return sorted(tokens, key=lambda token: token.created_ns)

    def put_token(self, token: TokenRecord) -> None:
        """Insert ``token``, or replace the stored token with the same id."""
        with self._lock:
            self._put(_TOKENS, "id", token.id, token_to_document(token))

    def delete_token(self, token_id: str) -> bool:
        """Delete an app token and return whether one had that id."""
        with self._lock:
            return self._delete(_TOKENS, "id", token_id)

    # Daemon facts

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            document = self._get(_META, "key", key)
            return None if document is None else str(document["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._put(_META, "key", key, {"key": key, "value": value})

    # The helpers below expect the caller to hold the lock.

    def _table(self, name: str) -> Table:
        # The query cache is off because documents are read again on every access anyway.
        return self._db.table(name, cache_size=0)

    def _get(self, table: str, key: str, value: str) -> JsonDict | None:
        documents = self._table(table).search(Query()[key] == value)
        return dict(documents[0]) if documents else None

    def _put(self, table: str, key: str, value: str, document: JsonDict) -> None:
        condition = Query()[key] == value
        if self._table(table).contains(condition):
            self._table(table).update(_replace_with(document), condition)
        else:
            self._table(table).insert(document)

    def _delete(self, table: str, key: str, value: str) -> bool:
        return bool(self._table(table).remove(Query()[key] == value))

    def _notebook(self, document: JsonDict) -> Notebook:
        try:
            return notebook_from_document(document)
        except (KeyError, TypeError, ValueError) as e:
            problem = f"contains an invalid notebook {document.get('id')!r} ({e!r})"
            raise StoreCorrupted(self.path, problem) from e

    def _token(self, document: JsonDict) -> TokenRecord:
        try:
            return token_from_document(document)
        except (KeyError, TypeError, ValueError) as e:
            problem = f"contains an invalid app token {document.get('id')!r} ({e!r})"
            raise StoreCorrupted(self.path, problem) from e


def _replace_with(document: JsonDict) -> Callable[[MutableMapping[str, Any]], None]:
    """Return a TinyDB update function that replaces a whole document.

    Table.update() with a dict would merge the keys into the stored document instead.
    """

    def replace(stored: MutableMapping[str, Any]) -> None:
        stored.clear()
        stored.update(document)

    return replace


def _check_schema(document: JsonDict) -> None:
    schema = document["schema"]
    if schema != SCHEMA_VERSION:
        raise ValueError(f"schema {schema!r}, but this localai reads only schema {SCHEMA_VERSION}")


# Notebook documents


def notebook_to_document(notebook: Notebook) -> JsonDict:
    return {
        "schema": SCHEMA_VERSION,
        "id": notebook.id,
        "created_ns": notebook.created_ns,
        "updated_ns": notebook.updated_ns,
        "user": notebook.user,
        "spec": _spec_to_document(notebook.spec),
        "status": _status_to_document(notebook.status),
    }


def notebook_from_document(document: JsonDict) -> Notebook:
    """Build a Notebook from a stored document.

    Raises KeyError, TypeError or ValueError when the document is malformed.
    """
    _check_schema(document)
    return Notebook(
        id=document["id"],
        created_ns=document["created_ns"],
        updated_ns=document["updated_ns"],
        user=document["user"],
        spec=_spec_from_document(document["spec"]),
        status=_status_from_document(document["status"]),
    )


def _spec_to_document(spec: NotebookSpec) -> JsonDict:
    return {
        "name": spec.name,
        "env": {
            "framework_id": spec.env.framework_id,
            "framework_version": spec.env.framework_version,
            "editor_id": spec.env.editor_id,
        },
        "resources": _resources_to_document(spec.resources),
        "labels": dict(spec.labels),
        "unsecure_http": spec.unsecure_http,
        "env_vars": [{"name": var.name, "value": var.value} for var in spec.env_vars],
        "timeout_auto_restart": spec.timeout_auto_restart,
    }


def _spec_from_document(document: JsonDict) -> NotebookSpec:
    env = document["env"]
    return NotebookSpec(
        name=document["name"],
        env=NotebookEnv(
            framework_id=env["framework_id"],
            framework_version=env["framework_version"],
            editor_id=env["editor_id"],
        ),
        resources=_resources_from_document(document["resources"]),
        labels=dict(document["labels"]),
        unsecure_http=document["unsecure_http"],
        env_vars=[EnvVar(name=var["name"], value=var["value"]) for var in document["env_vars"]],
        timeout_auto_restart=document.get("timeout_auto_restart"),
    )


def _resources_to_document(resources: Resources) -> JsonDict:
    return {
        "cpu": resources.cpu,
        "gpu": resources.gpu,
        "gpu_model": resources.gpu_model,
        "gpu_brand": resources.gpu_brand,
        "gpu_memory": resources.gpu_memory,
        "memory": resources.memory,
        "flavor": resources.flavor,
    }


def _resources_from_document(document: JsonDict) -> Resources:
    return Resources(
        cpu=document["cpu"],
        gpu=document["gpu"],
        gpu_model=document["gpu_model"],
        gpu_brand=document["gpu_brand"],
        gpu_memory=document["gpu_memory"],
        memory=document["memory"],
        flavor=document["flavor"],
    )


def _status_to_document(status: NotebookStatus) -> JsonDict:
    return {
        "state": status.state.value,
        "last_transition_ns": status.last_transition_ns,
        "infos": status.infos,
        "exit_code": status.exit_code,
        "duration_base": status.duration_base,
        "running_since_ns": status.running_since_ns,
        "url": status.url,
        "monitoring_url": status.monitoring_url,
        "last_started_ns": status.last_started_ns,
        "last_stopped_ns": status.last_stopped_ns,
    }


def _status_from_document(document: JsonDict) -> NotebookStatus:
    return NotebookStatus(
        state=NotebookState(document["state"]),
        last_transition_ns=document["last_transition_ns"],
        infos=document["infos"],
        exit_code=document["exit_code"],
        duration_base=document["duration_base"],
        running_since_ns=document["running_since_ns"],
        url=document["url"],
        monitoring_url=document["monitoring_url"],
        last_started_ns=document["last_started_ns"],
        last_stopped_ns=document["last_stopped_ns"],
    )


# App token documents


def token_to_document(token: TokenRecord) -> JsonDict:
    return {
        "schema": SCHEMA_VERSION,
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "label_selector": token.label_selector,
        "version": token.version,
        "created_ns": token.created_ns,
        "updated_ns": token.updated_ns,
        "verifier": token.verifier,
    }


def token_from_document(document: JsonDict) -> TokenRecord:
    """Build a TokenRecord from a stored document.

    Raises KeyError, TypeError or ValueError when the document is malformed.
    """
    _check_schema(document)
    return TokenRecord(
        id=document["id"],
        name=document["name"],
        role=document["role"],
        label_selector=document["label_selector"],
        version=document["version"],
        created_ns=document["created_ns"],
        updated_ns=document["updated_ns"],
        verifier=document["verifier"],
    )
