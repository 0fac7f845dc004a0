"""End to end with the real pytorch + JupyterLab image, through the daemon's proxy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
import websocket

from tests.integration.conftest import Daemon
from tests.support.images import ensure_jupyterlab_image

pytestmark = pytest.mark.integration

PREFIX = "localaitestlab"


@pytest.fixture(scope="module")
def jupyterlab_image() -> str:
    tag: str = ensure_jupyterlab_image(PREFIX)
    return tag


@pytest.fixture
def lab(make_daemon: Callable[..., Daemon], jupyterlab_image: str) -> tuple[Daemon, str]:
    daemon = make_daemon(prefix=PREFIX)
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING", timeout=180)
    return daemon, notebook_id


def login(daemon: Daemon, notebook_id: str) -> requests.Session:
    """Log in through the login page like a browser and return the session with its cookie."""
    session = requests.Session()
    host = daemon.notebook_host(notebook_id)
    response = session.post(
        f"{daemon.api}/_localai/login", headers={"Host": host}, allow_redirects=False,
        data={"username": daemon.credentials["username"],
              "password": daemon.credentials["password"], "next": "/lab"},
    )
    assert response.status_code == 303
    return session


def test_login_page_without_credentials(lab: tuple[Daemon, str]) -> None:
    daemon, notebook_id = lab
    response = daemon.open_url(notebook_id, "/lab")
    assert response.status_code == 401
    assert "Login with token" in response.text


def test_jupyterlab_answers_after_login(lab: tuple[Daemon, str]) -> None:
    daemon, notebook_id = lab
    session = login(daemon, notebook_id)
    page = session.get(f"{daemon.api}/lab",
                       headers={"Host": daemon.notebook_host(notebook_id)}, timeout=30)
    assert page.status_code == 200
    assert "JupyterLab" in page.text


def execute(daemon: Daemon, notebook_id: str, code: str) -> str:
    """Start a kernel over the proxy, run ``code`` over its WebSocket, return the result text."""
    host = daemon.notebook_host(notebook_id)
    headers = {"Host": host, **daemon.auth}
    session = requests.Session()
    session.get(f"{daemon.api}/lab", headers=headers, timeout=30)
    xsrf = session.cookies.get("_xsrf")
    assert xsrf, "JupyterLab set no _xsrf cookie"

    kernel = session.post(f"{daemon.api}/api/kernels", timeout=60, json={"name": "python3"},
                          headers={**headers, "X-XSRFToken": xsrf})
    assert kernel.status_code == 201, kernel.text
    kernel_id = kernel.json()["id"]

    socket = websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}/api/kernels/{kernel_id}/channels",
        host=host, origin=f"http://{host}", cookie=f"_xsrf={xsrf}",
        header=[f"Authorization: {daemon.auth['Authorization']}"], timeout=60,
    )
    try:
        socket.send(json.dumps(execute_request(code)))
        return read_result(socket)
    finally:
        socket.close()


def execute_request(code: str) -> dict[str, Any]:
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }


def read_result(socket: websocket.WebSocket) -> str:
    for _ in range(200):
        message = json.loads(socket.recv())
        if message.get("msg_type") == "execute_result":
            result: str = message["content"]["data"]["text/plain"]
            return result
        if message.get("msg_type") == "error":
            raise AssertionError(f"kernel error: {message['content']}")
    raise AssertionError("the kernel sent no execute_result")


def test_kernel_computes_over_the_proxy(lab: tuple[Daemon, str]) -> None:
    daemon, notebook_id = lab
    assert execute(daemon, notebook_id, "1+1") == "2"


def test_kernel_imports_torch(lab: tuple[Daemon, str]) -> None:
    daemon, notebook_id = lab
    assert execute(daemon, notebook_id, "import torch; torch.ones(2).sum().item()") == "2.0"


def test_websocket_without_credentials_is_refused(lab: tuple[Daemon, str]) -> None:
    daemon, notebook_id = lab
    host = daemon.notebook_host(notebook_id)
    with pytest.raises(websocket.WebSocketBadStatusException) as raised:
        websocket.create_connection(
            f"ws://127.0.0.1:{daemon.port}/api/kernels/x/channels",
            host=host, origin=f"http://{host}", timeout=30,
        )
    assert raised.value.status_code == 401
