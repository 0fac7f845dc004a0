"""Tests of the sample client against a real localai daemon started by localai.testing.

Run them with ``pytest`` in this folder once the ``pytorch`` + ``jupyterlab``
image is built for the image prefix (``--localai-image-prefix``, default
``localai``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client import ApiError, NotebookClient, open_notebook

from localai.testing import LocalaiDaemon

FRAMEWORK = "pytorch"
EDITOR = "jupyterlab"


@pytest.fixture(autouse=True)
def delete_notebooks(localai_daemon: LocalaiDaemon) -> Iterator[None]:
    """Delete every notebook after each test, as the daemon lives for the whole session."""
    yield
    api = localai_daemon.client()
    try:
        for notebook in api.notebooks_list():
            api.notebook_delete(notebook["id"], force=True)
    finally:
        api.close()


@pytest.fixture
def owner(localai_base_url: str, localai_user_token: str) -> Iterator[NotebookClient]:
    """The client as the project user."""
    with NotebookClient(localai_base_url, localai_user_token) as client:
        yield client


@pytest.fixture
def operator(localai_base_url: str, localai_operator_token: str) -> Iterator[NotebookClient]:
    """The client with an app token of the operator role."""
    with NotebookClient(localai_base_url, localai_operator_token) as client:
        yield client


def test_notebook_reaches_running(owner: NotebookClient, localai_daemon: LocalaiDaemon) -> None:
    notebook = owner.run_notebook(FRAMEWORK, EDITOR)
    assert notebook["status"]["state"] == "STARTING"

    running = owner.wait_for_state(notebook["id"], "RUNNING")
    assert running["status"]["url"] == localai_daemon.url_for_notebook(notebook["id"])


def test_gpu_notebook_in_emulation_mode(owner: NotebookClient) -> None:
    notebook = owner.run_notebook(FRAMEWORK, EDITOR, gpu=1)

    resources = notebook["spec"]["resources"]
    assert resources["gpu"] == 1
    assert resources["gpuModel"] == "Tesla-V100S"
    assert owner.wait_for_state(notebook["id"], "RUNNING")["status"]["state"] == "RUNNING"


def test_shared_token_opens_notebook(owner: NotebookClient) -> None:
    notebook = owner.run_notebook(FRAMEWORK, EDITOR)
    url = owner.wait_for_state(notebook["id"], "RUNNING")["status"]["url"]

    token = owner.share(notebook["id"], "image-recognition")

    assert open_notebook(url, token).status_code == 200


def test_unshared_notebook_rejects_token(owner: NotebookClient) -> None:
    shared = owner.run_notebook(FRAMEWORK, EDITOR)
    other = owner.run_notebook(FRAMEWORK, EDITOR)
    token = owner.share(shared["id"], "image-recognition")
    url = owner.wait_for_state(other["id"], "RUNNING")["status"]["url"]

    assert open_notebook(url, token).status_code == 403


def test_shared_token_cannot_stop(owner: NotebookClient, localai_base_url: str) -> None:
    notebook = owner.run_notebook(FRAMEWORK, EDITOR)
    owner.wait_for_state(notebook["id"], "RUNNING")
    token = owner.share(notebook["id"], "image-recognition")

    with NotebookClient(localai_base_url, token) as reader, pytest.raises(ApiError) as raised:
        reader.stop(notebook["id"])
    assert raised.value.status == 403
    assert owner.get_notebook(notebook["id"])["status"]["state"] == "RUNNING"


def test_operator_stops_and_deletes(owner: NotebookClient, operator: NotebookClient) -> None:
    notebook = owner.run_notebook(FRAMEWORK, EDITOR)
    owner.wait_for_state(notebook["id"], "RUNNING")

    operator.stop(notebook["id"])
    assert operator.wait_for_state(notebook["id"], "STOPPED")["status"]["state"] == "STOPPED"

    operator.delete(notebook["id"])
    with pytest.raises(ApiError) as raised:
        operator.get_notebook(notebook["id"])
    assert raised.value.status == 404
