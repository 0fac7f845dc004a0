"""Helpers that drive a live daemon through the official ``ovhai`` Python SDK (0.1a4).

The SDK is generated from the AI Training OpenAPI document. Each call
module's ``sync_detailed`` returns the HTTP status, and a ``parsed`` model
for the status codes that document lists. The models' ``from_dict`` raise
``AttributeError`` when a key typed as an object is ``null``.
"""

from __future__ import annotations

import os
import signal
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import docker
import ovhai.models
from ovhai.api.notebook import notebook_get, notebook_new
from ovhai.client import AuthenticatedClient
from ovhai.models import Notebook, NotebookEnv, NotebookSpec, NotebookStatus, Resources

from tests.integration.conftest import TEST_PREFIX, Daemon, free_port, remove_objects_of

# Long enough for the test editor to start on a busy host, where it usually needs under 5 s.
STATE_DEADLINE = 60.0


@contextmanager
def running_daemon(base_dir: Path, docker_client: docker.DockerClient,
                   **env: str) -> Iterator[Daemon]:
    """Start a daemon on a new data directory under ``base_dir``, and remove its objects after.

    This is the module-scoped twin of the ``make_daemon`` fixture, so that
    one daemon can serve every test of a module.
    """
    data_dir = base_dir / "data"
    environment = {**os.environ, "LOCALAI_IMAGE_PREFIX": TEST_PREFIX,
                   "LOCALAI_START_TIMEOUT": "60", **env}
    environment.pop("LOCALAI_DATA_DIR", None)
    environment.pop("LOCALAI_PORT", None)
    daemon = Daemon(data_dir=data_dir, port=free_port(), env=environment)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.kill(signal.SIGTERM)
        remove_objects_of(docker_client, data_dir)


@contextmanager
def sdk_client(daemon: Daemon, token: str) -> Iterator[AuthenticatedClient]:
    """Yield an SDK client that sends ``Authorization: Bearer <token>``, and close it after."""
    with AuthenticatedClient(base_url=daemon.api, token=token) as client:
        yield client


def new_spec(**fields: Any) -> NotebookSpec:
    """Return a NotebookSpec for the test image (pytorch + jupyterlab, one CPU) with overrides."""
    values: dict[str, Any] = {
        "env": NotebookEnv(framework_id="pytorch", editor_id="jupyterlab"),
        "resources": Resources(cpu=1),
    }
    values.update(fields)
    return NotebookSpec(**values)


def create_notebook(client: AuthenticatedClient, **fields: Any) -> Notebook:
    """Create a notebook through ``notebook_new`` and fail unless the daemon returns 200."""
    response = notebook_new.sync_detailed(client=client, body=new_spec(**fields))
    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Notebook)
    return response.parsed


def fetch_notebook(client: AuthenticatedClient, notebook_id: str) -> Notebook:
    """Read a notebook through ``notebook_get`` and fail unless the daemon returns 200."""
    response = notebook_get.sync_detailed(notebook_id, client=client)
    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Notebook)
    return response.parsed


def wait_for_state(client: AuthenticatedClient, notebook_id: str, state: str,
                   timeout: float = STATE_DEADLINE) -> Notebook:
    """Poll ``notebook_get`` until the notebook is in ``state``, and fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        notebook = fetch_notebook(client, notebook_id)
        assert isinstance(notebook.status, NotebookStatus), notebook
        if notebook.status.state == state:
            return notebook
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"notebook {notebook_id} never became {state} within {timeout:g} s: "
                f"{notebook.status.to_dict()}"
            )
        time.sleep(0.1)


# Null checks ----------------------------------------------------------------


def json_key(field_name: str) -> str:
    """Return the JSON key of an SDK model field: ``gpu_model`` gives ``gpuModel``.

    The SDK appends ``_`` to names that shadow Python builtins (``max_``, ``next_``).
    """
    first, *rest = field_name.rstrip("_").split("_")
    return first + "".join(word.capitalize() for word in rest)


def _model_class(annotation: Any) -> type | None:
    """Return the SDK model class an annotation names, or None for scalars."""
    if isinstance(annotation, typing.ForwardRef):
        found: type = getattr(ovhai.models, annotation.__forward_arg__)
        return found
    if isinstance(annotation, type) and attrs.has(annotation):
        return annotation
    return None


def _field_shape(field: attrs.Attribute[Any]) -> tuple[type | None, bool, bool]:
    """Return ``(model class, is a list of it, null allowed)`` of one model field."""
    options = typing.get_args(field.type) or (field.type,)
    nullable = type(None) in options
    for option in options:
        if typing.get_origin(option) is list:
            item = _model_class(typing.get_args(option)[0])
            if item is not None:
                return item, True, nullable
        model = _model_class(option)
        if model is not None:
            return model, False, nullable
    return None, False, nullable


def null_object_paths(model: type, data: Any, path: str = "$") -> list[str]:
    """Return the JSON paths in ``data`` where ``model`` expects an object or a list but finds null.

    The check follows the SDK model's field types recursively. Scalar fields
    are not checked, because the SDK passes a null scalar through.
    """
    if not isinstance(data, dict):
        return [f"{path} is {type(data).__name__}, expected an object for {model.__name__}"]

    found: list[str] = []
    for field in attrs.fields(model):
        key = json_key(field.name)
        if field.name == "additional_properties" or key not in data:
            continue
        nested, is_list, nullable = _field_shape(field)
        value = data[key]
        if nested is None:
            continue
        if value is None:
            if not nullable:
                found.append(f"{path}.{key}")
            continue
        if is_list and isinstance(value, list):
            for index, item in enumerate(value):
                found += null_object_paths(nested, item, f"{path}.{key}[{index}]")
        elif not is_list:
            found += null_object_paths(nested, value, f"{path}.{key}")
    return found
