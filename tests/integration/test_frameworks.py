"""Every framework of the catalogue that builds here, in a real notebook of a real daemon.

Each framework image is built once per session with JupyterLab, on the local
Debian base unless the engine has the official image, and reused while its
Dockerfiles are unchanged. Frameworks whose first build takes more than
about five minutes on a two-core host run only with ``LOCALAI_SLOW_TESTS=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import docker
import pytest
from click.testing import CliRunner
from docker.models.containers import Container

from localai import catalog
from localai.cli.main import cli
from localai.errors import ImageBuildError
from localai.runtime import connect
from localai.runtime.images import INSTALLED_VERSION_LABEL, build_notebook_image, image_exists
from tests.integration.conftest import Daemon
from tests.support.images import HOST_CA_BUNDLE, ensure_notebook_image

pytestmark = pytest.mark.integration

# The prefix of the JupyterLab and VS Code tests, so the PyTorch image is shared.
PREFIX = "localaitestlab"
EMPTY_PREFIX = "localaitestnone"
# Images of "notebook run --build"; the test removes them.
BUILD_RUN_PREFIX = "localaitestbuildrun"
EDITOR = "jupyterlab"
OVH_UID = 42420

slow = pytest.mark.skipif(
    os.environ.get("LOCALAI_SLOW_TESTS") != "1",
    reason="its first image build takes more than 5 minutes here; set LOCALAI_SLOW_TESTS=1",
)
# First build of the framework and JupyterLab images on a two-core host:
# one-for-all took 4 min 49 s for a 3.2 GB image; the others 2.5 to 4 minutes.
SLOW_FRAMEWORKS = {"one-for-all"}
# Frameworks whose recipe installs the catalogue version itself, so the
# image records that version; Debian's torch has its own version.
EXACT_VERSION = {"tensorflow", "huggingface", "sklearn"}


def framework_params() -> list[object]:
    return [
        pytest.param(framework.id, id=framework.id,
                     marks=[slow] if framework.id in SLOW_FRAMEWORKS else [])
        for framework in catalog.FRAMEWORKS if framework.local_recipe
    ]


@dataclass
class Running:
    framework: catalog.Framework
    daemon: Daemon
    notebook_id: str
    container: Container


@pytest.fixture(scope="module", params=framework_params())
def framework_image(request: pytest.FixtureRequest) -> tuple[catalog.Framework, str]:
    framework = catalog.get_framework(request.param)
    return framework, ensure_notebook_image(PREFIX, framework.id, EDITOR)


@pytest.fixture
def running(make_daemon: Callable[..., Daemon], docker_client: docker.DockerClient,
            framework_image: tuple[catalog.Framework, str]) -> Running:
    framework, _ = framework_image
    daemon = make_daemon(prefix=PREFIX)
    notebook_id = daemon.run(env={"frameworkId": framework.id, "editorId": EDITOR})["id"]
    daemon.wait_state(notebook_id, "RUNNING", timeout=180)
    container = docker_client.containers.get(f"localai-{notebook_id}")
    return Running(framework, daemon, notebook_id, container)


def run_in(container: Container, command: list[str]) -> tuple[int, str]:
    result = container.exec_run(command)
    return result.exit_code, result.output.decode().strip()


# Per framework -------------------------------------------------------------------


def test_image_labels(framework_image: tuple[catalog.Framework, str],
                      docker_client: docker.DockerClient) -> None:
    framework, tag = framework_image
    labels = docker_client.images.get(tag).labels
    assert labels["ai.localai.framework"] == framework.id
    assert labels["ai.localai.framework-version"] == framework.default_version
    assert labels["ai.localai.editor"] == EDITOR


def test_installed_version(framework_image: tuple[catalog.Framework, str],
                           docker_client: docker.DockerClient) -> None:
    framework, tag = framework_image
    if framework.id not in EXACT_VERSION:
        pytest.skip(f"{framework.id} images do not install the catalogue version")
    labels = docker_client.images.get(tag).labels
    assert labels[INSTALLED_VERSION_LABEL] == framework.default_version


def test_modules_import(running: Running) -> None:
    # Only stdout is read, because TensorFlow logs CUDA and CPU notices on stderr.
    for module in running.framework.modules:
        result = running.container.exec_run(
            ["python", "-c", f"import {module}; print('imported')"], stderr=False)
        assert (result.exit_code, result.output.decode().strip()) == (0, "imported"), module


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


def test_editor_runs_as_ovh(running: Running) -> None:
    assert run_in(running.container, ["python", "-c", PROCESS_UIDS]) == (0, f"[{OVH_UID}]")


def test_capabilities_report_built(running: Running) -> None:
    framework = running.framework
    response = running.daemon.call("GET", f"/v1/capabilities/notebook/framework/{framework.id}")
    assert response.status_code == 200
    assert response.json()["built"][framework.default_version] == {
        "jupyterlab": True,
        "vscode": image_exists(connect(), catalog.image_tag(PREFIX, framework.id, "vscode",
                                                            framework.default_version)),
    }


# Errors --------------------------------------------------------------------------


def test_unknown_framework_is_400(daemon: Daemon) -> None:
    response = daemon.call("POST", "/v1/notebook",
                           json={"env": {"frameworkId": "mxnet", "editorId": EDITOR}})
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "Unknown framework 'mxnet'. Valid frameworks: pytorch, tensorflow, huggingface, "
        "sklearn, conda, one-for-all."
    )


def test_unknown_version_is_400(daemon: Daemon) -> None:
    response = daemon.call("POST", "/v1/notebook", json={
        "env": {"frameworkId": "sklearn", "frameworkVersion": "0.1", "editorId": EDITOR}})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Unknown version '0.1' of framework 'sklearn'. Valid versions: 1.5.2, 1.4.2, 1.3.2."
    )


def test_missing_image_names_build_command(make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon(prefix=EMPTY_PREFIX)
    response = daemon.call("POST", "/v1/notebook",
                           json={"env": {"frameworkId": "sklearn", "editorId": "vscode"}})
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"The image {EMPTY_PREFIX}/sklearn-vscode:1.5.2 is not built on this host. Build it "
        "with: localai images build sklearn vscode --framework-version 1.5.2"
    )


@pytest.fixture
def without_miniconda(docker_client: docker.DockerClient) -> None:
    official = catalog.get_framework("conda").versions[0].base_image
    if image_exists(docker_client, official):
        pytest.skip(f"the engine has {official}, so conda builds here")


@pytest.mark.usefixtures("without_miniconda")
def test_conda_build_needs_registry() -> None:
    with pytest.raises(ImageBuildError) as raised:
        build_notebook_image(connect(), "conda", EDITOR, "24.7.1", prefix=EMPTY_PREFIX,
                             base_image=None, ca_bundle=None, progress=lambda event: None)
    assert "Build with --base-image official to pull it" in raised.value.message


@pytest.mark.usefixtures("without_miniconda")
def test_conda_cli_names_official_base() -> None:
    result = CliRunner().invoke(cli, ["images", "build", "conda", EDITOR],
                                env={"LOCALAI_IMAGE_PREFIX": EMPTY_PREFIX})
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: Miniconda (conda) cannot be built on the local Debian base")
    assert "--base-image official" in result.stderr


# notebook run --build ---------------------------------------------------------------


@pytest.fixture
def build_run_prefix(docker_client: docker.DockerClient) -> Iterator[str]:
    # The same Dockerfiles built under PREFIX first make the build below a
    # cached one, which only adds the new names.
    ensure_notebook_image(PREFIX, "sklearn", EDITOR)
    yield BUILD_RUN_PREFIX
    for image in docker_client.images.list(name=f"{BUILD_RUN_PREFIX}/*"):
        for tag in image.tags:
            if tag.startswith(f"{BUILD_RUN_PREFIX}/"):
                docker_client.images.remove(tag)


def test_run_with_build(make_daemon: Callable[..., Daemon], build_run_prefix: str) -> None:
    daemon = make_daemon(prefix=build_run_prefix)
    env = {**daemon.env, "LOCALAI_DATA_DIR": str(daemon.data_dir),
           "LOCALAI_PORT": str(daemon.port)}
    if HOST_CA_BUNDLE.is_file():
        env["LOCALAI_CA_BUNDLE"] = str(HOST_CA_BUNDLE)
    result = subprocess.run(
        [sys.executable, "-m", "localai", "notebook", "run", "sklearn", EDITOR, "--cpu", "1",
         "--build", "-o", "json"],
        env=env, capture_output=True, text=True, timeout=1200, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(
        f"The image {build_run_prefix}/sklearn-jupyterlab:1.5.2 is not built; building it first.\n"
    )
    assert f"\nBuilt {build_run_prefix}/sklearn-jupyterlab:1.5.2 (" in result.stderr
    notebook = json.loads(result.stdout)
    assert notebook["spec"]["env"]["frameworkId"] == "sklearn"
    daemon.wait_state(notebook["id"], "RUNNING", timeout=180)
