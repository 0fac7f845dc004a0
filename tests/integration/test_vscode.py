"""VS Code (code-server) notebooks end to end: a real daemon, its proxy and headless Chromium.

The notebooks run the PyTorch + VS Code image, built under the same prefix as
the JupyterLab tests so that both share the framework image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import docker
import pytest
from docker.models.containers import Container
from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.integration.conftest import Daemon, wait_until
from tests.support.browser import chromium
from tests.support.images import ensure_notebook_image

pytestmark = pytest.mark.integration

PREFIX = "localaitestlab"
VSCODE = {"frameworkId": "pytorch", "editorId": "vscode"}
OVH_UID = 42420
# The workbench loads about 10 MB of scripts before it draws itself.
WORKBENCH_LOAD_MS = 120_000


@dataclass
class Notebook:
    daemon: Daemon
    id: str
    url: str
    container: Container


@dataclass
class SocketLog:
    """WebSockets that a page opened, and the frames each one received."""

    urls: list[str] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)

    def watch(self, page: Page) -> None:
        page.on("websocket", self._opened)

    def _opened(self, socket: WebSocket) -> None:
        self.urls.append(socket.url)
        self.frames[socket.url] = 0
        socket.on("framereceived", lambda payload: self._received(socket.url))

    def _received(self, url: str) -> None:
        self.frames[url] += 1


@pytest.fixture(scope="module")
def vscode_image() -> str:
    return ensure_notebook_image(PREFIX, "pytorch", "vscode")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def notebook(make_daemon: Callable[..., Daemon], docker_client: docker.DockerClient,
             vscode_image: str) -> Notebook:
    daemon = make_daemon(prefix=PREFIX)
    notebook_id = daemon.run(env=VSCODE)["id"]
    running = daemon.wait_state(notebook_id, "RUNNING", timeout=180)
    container = docker_client.containers.get(f"localai-{notebook_id}")
    return Notebook(daemon, notebook_id, running["status"]["url"], container)


def run_in(container: Container, command: list[str]) -> tuple[int, str]:
    result = container.exec_run(command)
    return result.exit_code, result.output.decode().strip()


def log_in(page: Page, notebook: Notebook) -> None:
    """Open the notebook URL and log in with the project's username and password."""
    response = page.goto(notebook.url)
    assert response is not None
    assert response.status == 401
    page.get_by_label("Username").fill(notebook.daemon.credentials["username"])
    page.get_by_label("Password").fill(notebook.daemon.credentials["password"])
    page.get_by_role("button", name="Connect").click()


def test_notebook_runs(notebook: Notebook) -> None:
    state = notebook.daemon.get(notebook.id)
    assert state["spec"]["env"] == {"frameworkId": "pytorch", "frameworkVersion": "2.5.1",
                                    "editorId": "vscode"}
    assert state["status"]["state"] == "RUNNING"


def test_workbench_connects_over_websocket(notebook: Notebook, page: Page) -> None:
    # The Explorer can list this file only through the workbench's WebSocket
    # to code-server, which reads /workspace for it.
    code, _ = run_in(notebook.container, ["touch", "/workspace/made-by-the-test.txt"])
    assert code == 0
    sockets = SocketLog()
    sockets.watch(page)

    log_in(page, notebook)
    expect(page.locator(".monaco-workbench")).to_be_visible(timeout=WORKBENCH_LOAD_MS)
    expect(page.get_by_text("made-by-the-test.txt")).to_be_visible(timeout=WORKBENCH_LOAD_MS)

    host = notebook.url.removeprefix("http://").rstrip("/")
    editor_sockets = [url for url in sockets.urls if url.startswith(f"ws://{host}/")]
    assert editor_sockets, f"no WebSocket to {host}: {sockets.urls}"
    assert any(sockets.frames[url] > 0 for url in editor_sockets)


def test_workbench_opens_workspace(notebook: Notebook, page: Page) -> None:
    log_in(page, notebook)
    expect(page.locator(".monaco-workbench")).to_be_visible(timeout=WORKBENCH_LOAD_MS)
    assert page.url.endswith("/?folder=/workspace")
    # The Explorer names the opened folder in capitals.
    expect(page.locator(".explorer-folders-view")).to_be_visible(timeout=WORKBENCH_LOAD_MS)
    expect(page.get_by_role("button", name="Explorer Section: workspace")).to_be_visible(
        timeout=WORKBENCH_LOAD_MS)


# Prints the owners of all processes of the container; a process may exit
# between the listing and the stat.
PROCESS_UIDS = """
import os
uids = set()
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            uids.add(os.stat(f"/proc/{entry}").st_uid)
        except FileNotFoundError:
            pass
print(sorted(uids))
"""


def test_editor_runs_as_ovh(notebook: Notebook) -> None:
    assert run_in(notebook.container, ["python3", "-c", PROCESS_UIDS]) == (0, f"[{OVH_UID}]")


def test_code_server_keeps_user_data_in_workspace(notebook: Notebook) -> None:
    command_lines = "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"
    code, output = run_in(notebook.container, ["sh", "-c", command_lines])
    assert code == 0
    assert "--user-data-dir /workspace/.vscode-server/data" in output
    assert "--extensions-dir /workspace/.vscode-server/extensions" in output


def test_user_data_survives_restart(notebook: Notebook, docker_client: docker.DockerClient) -> None:
    marker = "/workspace/.vscode-server/extensions/kept-by-the-test"
    code, _ = run_in(notebook.container, ["touch", marker])
    assert code == 0

    daemon = notebook.daemon
    assert daemon.call("PUT", f"/v1/notebook/{notebook.id}/stop").status_code == 204
    daemon.wait_state(notebook.id, "STOPPED", timeout=60)
    assert daemon.call("PUT", f"/v1/notebook/{notebook.id}/start").status_code == 204
    daemon.wait_state(notebook.id, "RUNNING", timeout=180)

    container = docker_client.containers.get(f"localai-{notebook.id}")
    assert run_in(container, ["test", "-e", marker])[0] == 0
    assert run_in(container, ["test", "-d", "/workspace/.vscode-server/data/User"])[0] == 0


def test_editor_answers_through_proxy(notebook: Notebook) -> None:
    response = wait_until(
        lambda: notebook.daemon.open_url(notebook.id, "/", headers=notebook.daemon.auth),
        30, "the notebook URL did not answer")
    assert response.status_code == 302
    assert response.headers["Location"] == "./?folder=/workspace"
