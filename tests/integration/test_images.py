"""Notebook images on the real Docker engine: the test editor, builds, the base and JupyterLab.

Containers started here carry ``ai.localai.test=images`` and are removed by the
fixture that started them. Images built under the ``localaitestbuild`` prefix
are removed by their test.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests
from docker.models.containers import Container

from localai.errors import ImageBuildError
from localai.runtime import MANAGED_LABEL
from localai.runtime.base import BuildEvent, EventKind, ensure_base_image
from localai.runtime.images import (
    EDITOR_LABEL,
    INSTALLED_VERSION_LABEL,
    build_notebook_image,
    image_exists,
    list_notebook_images,
)
from tests.support.images import (
    ensure_jupyterlab_image,
    ensure_test_editor_image,
)

pytestmark = pytest.mark.integration

TEST_IMAGE = "localaitest/pytorch-jupyterlab:2.5.1"
BUILD_PREFIX = "localaitestbuild"
# Not "localaitest": its pytorch-jupyterlab tag names the test editor image there.
LAB_PREFIX = "localaitestlab"
CONTAINER_LABELS = {MANAGED_LABEL: "true", "ai.localai.test": "images"}


def wait_for_http(url: str, timeout: float) -> requests.Response:
    """Return the first HTTP response from ``url``; fail with the last error at the deadline."""
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return requests.get(url, allow_redirects=False, timeout=5)
        except requests.ConnectionError as e:
            error = e
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout:g} s: {error}")


def host_port(container: Container) -> int:
    container.reload()
    return int(container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])


def exec_output(container: Container, command: list[str]) -> tuple[int, str]:
    result = container.exec_run(command)
    return result.exit_code, result.output.decode().strip()


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    try:
        docker_client = docker.from_env()
        docker_client.ping()
    except docker.errors.DockerException as e:
        pytest.fail(f"The integration tier needs a Docker engine: {e}")
    return docker_client


@pytest.fixture
def start(client: docker.DockerClient) -> Iterator[Callable[..., Container]]:
    """Start labelled containers with port 8080 published on loopback; remove them afterwards."""
    started: list[Container] = []

    def run(image: str, **options: Any) -> Container:
        container = client.containers.run(
            image, detach=True, labels=CONTAINER_LABELS,
            ports={"8080/tcp": ("127.0.0.1", None)}, **options,
        )
        started.append(container)
        return container

    yield run

    for container in started:
        container.remove(force=True)


# Test editor -------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_image(client: docker.DockerClient) -> str:
    return ensure_test_editor_image(TEST_IMAGE)


def test_test_editor_answers(test_image: str, start: Callable[..., Container]) -> None:
    container = start(test_image)
    response = wait_for_http(f"http://127.0.0.1:{host_port(container)}/", 30)
    assert response.status_code == 200
    assert response.text == "test editor"


def test_test_editor_is_not_root(test_image: str, start: Callable[..., Container]) -> None:
    container = start(test_image)
    assert exec_output(container, ["id", "-u"]) == (0, "42420")


def test_test_editor_files(test_image: str, start: Callable[..., Container]) -> None:
    container = start(test_image)
    url = f"http://127.0.0.1:{host_port(container)}"
    wait_for_http(url, 30)

    written = requests.put(f"{url}/files/note.txt", data=b"saved", timeout=5)
    read = requests.get(f"{url}/files/note.txt", timeout=5)
    missing = requests.get(f"{url}/files/absent.txt", timeout=5)

    assert written.status_code == 201
    assert read.content == b"saved"
    assert missing.status_code == 404
    assert exec_output(container, ["cat", "/workspace/note.txt"]) == (0, "saved")


def test_test_editor_env(test_image: str, start: Callable[..., Container]) -> None:
    container = start(test_image, environment={"GREETING": "hello"})
    url = f"http://127.0.0.1:{host_port(container)}"
    wait_for_http(url, 30)
    assert requests.get(f"{url}/env", timeout=5).json()["GREETING"] == "hello"


def test_test_editor_exit_code(test_image: str, start: Callable[..., Container]) -> None:
    container = start(test_image, environment={"TEST_EDITOR_EXIT_CODE": "3"})
    assert container.wait(timeout=30)["StatusCode"] == 3


def test_test_editor_stops_on_sigterm(test_image: str, start: Callable[..., Container]) -> None:
    container = start(test_image)
    wait_for_http(f"http://127.0.0.1:{host_port(container)}/", 30)
    container.stop(timeout=20)
    # 0 means the editor handled SIGTERM; 137 would mean Docker killed it.
    assert container.wait(timeout=30)["StatusCode"] == 0


# build_notebook_image on small Dockerfiles ----------------------------------------------


def write_images_dir(root: Path, framework_run: str) -> Path:
    (root / "frameworks/pytorch").mkdir(parents=True, exist_ok=True)
    (root / "editors/jupyterlab").mkdir(parents=True, exist_ok=True)
    (root / "frameworks/pytorch/Dockerfile").write_text(
        f"ARG BASE_IMAGE=localai/debian:bookworm\nFROM ${{BASE_IMAGE}}\nRUN {framework_run}\n"
    )
    (root / "editors/jupyterlab/Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCMD [\"sleep\", \"infinity\"]\n"
    )
    return root


@pytest.fixture
def build_prefix(client: docker.DockerClient) -> Iterator[str]:
    yield BUILD_PREFIX
    for image in client.images.list(name=f"{BUILD_PREFIX}/*"):
        for tag in image.tags:
            if tag.startswith(f"{BUILD_PREFIX}/"):
                client.images.remove(tag, force=True)


def small_build(client: docker.DockerClient, images_dir: Path,
                events: list[BuildEvent]) -> Any:
    return build_notebook_image(
        client, "pytorch", "jupyterlab", "2.5.1", prefix=BUILD_PREFIX, base_image="local",
        ca_bundle=None, progress=events.append, images_dir=images_dir,
    )


def test_build_labels_editor_image(client: docker.DockerClient, build_prefix: str,
                                   tmp_path: Path) -> None:
    images_dir = write_images_dir(
        tmp_path, "mkdir -p /etc/localai && echo 9.9.9 > /etc/localai/framework-version")
    info = small_build(client, images_dir, [])

    labels = client.images.get(info.tag).labels
    assert info.tag == f"{BUILD_PREFIX}/pytorch-jupyterlab:2.5.1"
    assert labels[MANAGED_LABEL] == "true"
    assert labels[EDITOR_LABEL] == "jupyterlab"
    assert labels["ai.localai.framework"] == "pytorch"
    assert labels["ai.localai.framework-version"] == "2.5.1"
    assert labels["ai.localai.base-image"] == "localai/debian:bookworm"
    assert labels[INSTALLED_VERSION_LABEL] == "9.9.9"


def test_build_reports_steps(client: docker.DockerClient, build_prefix: str,
                             tmp_path: Path) -> None:
    events: list[BuildEvent] = []
    small_build(client, write_images_dir(tmp_path, "true"), events)

    steps = [event for event in events if event.kind is EventKind.STEP]
    done = [event.message for event in events if event.kind is EventKind.DONE]
    assert steps[0].message == "ARG BASE_IMAGE=localai/debian:bookworm"
    assert steps[0].step == 1
    assert done == [f"{BUILD_PREFIX}/framework-pytorch:2.5.1",
                    f"{BUILD_PREFIX}/pytorch-jupyterlab:2.5.1"]


def test_build_lists_image(client: docker.DockerClient, build_prefix: str,
                           tmp_path: Path) -> None:
    small_build(client, write_images_dir(tmp_path, "true"), [])
    images = list_notebook_images(client, BUILD_PREFIX)
    assert [(i.tag, i.framework, i.version, i.editor) for i in images] == [
        (f"{BUILD_PREFIX}/pytorch-jupyterlab:2.5.1", "pytorch", "2.5.1", "jupyterlab")
    ]


def test_rebuild_deletes_replaced_image(client: docker.DockerClient, build_prefix: str,
                                        tmp_path: Path) -> None:
    first = small_build(client, write_images_dir(tmp_path, "echo first"), [])
    second = small_build(client, write_images_dir(tmp_path, "echo second"), [])
    assert second.id != first.id
    assert image_exists(client, first.id) is False


def test_failed_step_raises_with_output(client: docker.DockerClient, build_prefix: str,
                                        tmp_path: Path) -> None:
    images_dir = write_images_dir(tmp_path, "echo about to fail && exit 3")
    with pytest.raises(ImageBuildError) as raised:
        small_build(client, images_dir, [])
    assert raised.value.message.startswith(
        f"Building {BUILD_PREFIX}/framework-pytorch:2.5.1 failed at step 3/"
    )
    assert "returned a non-zero code: 3" in raised.value.message
    assert "\n  about to fail\n" in raised.value.message
    assert image_exists(client, f"{BUILD_PREFIX}/framework-pytorch:2.5.1") is False


# Base image --------------------------------------------------------------------


def test_base_image_build(client: docker.DockerClient) -> None:
    tag = "localaitestbase/debian:bookworm"
    rootfs_before = set(Path("/tmp").glob("localai-rootfs-*"))
    try:
        assert ensure_base_image(client, lambda event: None, tag=tag) == tag
        image = client.images.get(tag)
        container = client.containers.run(tag, ["cat", "/etc/debian_version"],
                                          labels=CONTAINER_LABELS, detach=True)
        container.wait(timeout=60)
        debian_version = container.logs().decode().strip()
        container.remove()
    finally:
        if image_exists(client, tag):
            client.images.remove(tag, force=True)

    assert image.attrs["Config"]["Cmd"] == ["/bin/bash"]
    assert image.labels[MANAGED_LABEL] == "true"
    assert debian_version.startswith("12.")
    assert set(Path("/tmp").glob("localai-rootfs-*")) == rootfs_before


# The real PyTorch and JupyterLab image ---------------------------------------------


@pytest.fixture(scope="module")
def jupyterlab_image(client: docker.DockerClient) -> str:
    return ensure_jupyterlab_image(LAB_PREFIX)


def test_jupyterlab_imports_torch(jupyterlab_image: str, start: Callable[..., Container]) -> None:
    container = start(jupyterlab_image, command=["sleep", "infinity"])
    code, output = exec_output(container, ["python", "-c", "import torch; print('ok')"])
    assert (code, output) == (0, "ok")


def test_jupyterlab_is_not_root(jupyterlab_image: str, start: Callable[..., Container]) -> None:
    container = start(jupyterlab_image, command=["sleep", "infinity"])
    assert exec_output(container, ["id", "-u"]) == (0, "42420")


def test_jupyterlab_answers_http(jupyterlab_image: str, start: Callable[..., Container]) -> None:
    container = start(jupyterlab_image, init=True)
    response = wait_for_http(f"http://127.0.0.1:{host_port(container)}/", 120)
    assert response.status_code == 302
    assert response.headers["Location"] == "/lab?"


def test_jupyterlab_marks_workspace(jupyterlab_image: str,
                                    start: Callable[..., Container]) -> None:
    container = start(jupyterlab_image, init=True)
    wait_for_http(f"http://127.0.0.1:{host_port(container)}/", 120)
    stream, _ = container.get_archive("/workspace/.workspace.initialized")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        assert tar.getnames() == [".workspace.initialized"]


def test_jupyterlab_listed(client: docker.DockerClient, jupyterlab_image: str) -> None:
    listed = {image.tag: image for image in list_notebook_images(client, LAB_PREFIX)}
    assert listed[jupyterlab_image].editor == "jupyterlab"
    assert listed[jupyterlab_image].installed_version is not None
