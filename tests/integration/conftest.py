"""Fixtures of the integration tier: a real daemon on a temporary data dir and free port.

Each daemon labels its Docker objects with its own data directory, and the
teardown removes only objects carrying that label.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from tests.support.images import ensure_test_editor_image

TEST_PREFIX = "localaitest"
TEST_IMAGE = f"{TEST_PREFIX}/pytorch-jupyterlab:2.5.1"
DATA_DIR_LABEL = "ai.localai.data-dir"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], timeout: float, message: str,
               interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns a true value; fail with ``message`` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} (waited {timeout:g} s)")


@dataclass
class Daemon:
    """A daemon process under test and the means to talk to it."""

    data_dir: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def credentials(self) -> dict[str, str]:
        data: dict[str, str] = json.loads((self.data_dir / "credentials.json").read_text())
        return data

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials['api_token']}"}

    def start(self) -> None:
        log = open(self.data_dir.parent / f"daemon-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localai.daemon", "--data-dir", str(self.data_dir),
             "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_until(self._healthy, 30, f"daemon on port {self.port} did not answer /health")

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"daemon exited with {self.process.returncode}:\n{self.log()}")
        try:
            return requests.get(f"{self.api}/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def log(self) -> str:
        path = self.data_dir.parent / f"daemon-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.session.request(method, f"{self.api}{path}", headers=headers,
                                    timeout=30, **kwargs)

    def run(self, **spec: Any) -> dict[str, Any]:
        body = {"env": {"frameworkId": "pytorch", "editorId": "jupyterlab"},
                "resources": {"cpu": 1}, **spec}
        response = self.call("POST", "/v1/notebook", json=body)
        assert response.status_code == 200, response.text
        notebook: dict[str, Any] = response.json()
        return notebook

    def get(self, notebook_id: str) -> dict[str, Any]:
        response = self.call("GET", f"/v1/notebook/{notebook_id}")
        assert response.status_code == 200, response.text
        notebook: dict[str, Any] = response.json()
        return notebook

    def wait_state(self, notebook_id: str, state: str, timeout: float = 60) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            notebook = self.get(notebook_id)
            return notebook if notebook["status"]["state"] == state else None

        try:
            found: dict[str, Any] = wait_until(reached, timeout,
                                               f"notebook {notebook_id} never became {state}")
        except AssertionError:
            raise AssertionError(
                f"notebook {notebook_id} never became {state}: {self.get(notebook_id)['status']}"
            ) from None
        return found

    def notebook_host(self, notebook_id: str) -> str:
        return f"{notebook_id}.notebook.localhost:{self.port}"

    def open_url(self, notebook_id: str, path: str = "/", method: str = "GET",
                 headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """Request a notebook URL: connect to 127.0.0.1 and send the notebook's Host."""
        all_headers = {"Host": self.notebook_host(notebook_id), **(headers or {})}
        return requests.request(method, f"{self.api}{path}", headers=all_headers,
                                allow_redirects=False, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as e:
        pytest.fail(f"The integration tier needs a Docker engine: {e}")
    return client


@pytest.fixture(scope="session")
def test_image(docker_client: docker.DockerClient) -> str:
    ensure_test_editor_image(TEST_IMAGE)
    return TEST_IMAGE


def remove_objects_of(client: docker.DockerClient, data_dir: Path) -> None:
    selector = {"label": f"{DATA_DIR_LABEL}={data_dir.resolve()}"}
    for container in client.containers.list(all=True, filters=selector):
        container.remove(force=True)
    for volume in client.volumes.list(filters=selector):
        volume.remove(force=True)
    for network in client.networks.list(filters=selector):
        network.remove()


@pytest.fixture
def make_daemon(tmp_path: Path, docker_client: docker.DockerClient,
                test_image: str) -> Iterator[Callable[..., Daemon]]:
    daemons: list[Daemon] = []

    def make(prefix: str = TEST_PREFIX, **env: str) -> Daemon:
        data_dir = tmp_path / f"data-{len(daemons)}"
        environment = {**os.environ, "LOCALAI_IMAGE_PREFIX": prefix,
                       "LOCALAI_START_TIMEOUT": "60", **env}
        environment.pop("LOCALAI_DATA_DIR", None)
        environment.pop("LOCALAI_PORT", None)
        daemon = Daemon(data_dir=data_dir, port=free_port(), env=environment)
        daemons.append(daemon)
        daemon.start()
        return daemon

    yield make

    for daemon in daemons:
        daemon.kill(signal.SIGTERM)
        remove_objects_of(docker_client, daemon.data_dir)


@pytest.fixture
def daemon(make_daemon: Callable[..., Daemon]) -> Daemon:
    return make_daemon()
