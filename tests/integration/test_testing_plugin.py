"""The pytest plugin localai.testing, run the way client projects run it: in a pytest subprocess.

Inner runs set PYTEST_DISABLE_PLUGIN_AUTOLOAD, so that only ``-p
localai.testing`` loads the plugin and the other plugins installed in the
virtual environment do not slow every start, except where a test checks the
entry point itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from localai import daemonctl
from localai.config import Settings
from localai.errors import DaemonError
from tests.integration.conftest import DATA_DIR_LABEL, TEST_PREFIX, remove_objects_of, wait_until

pytestmark = pytest.mark.integration

SAMPLE_PROJECT = Path(__file__).resolve().parents[1] / "sample_client"
PLUGIN_ARGS = ["-p", "localai.testing", "--localai-image-prefix", TEST_PREFIX]
# Exit status of pytest after Ctrl-C (pytest.ExitCode.INTERRUPTED).
EXIT_INTERRUPTED = 2

PROJECT_INI = "[pytest]\nfilterwarnings = error\n"

# A test that runs a notebook, reports where it runs, and waits to be interrupted.
HOLD_TEST = '''
import json
import os
import time
from pathlib import Path


def test_hold(localai_daemon):
    api = localai_daemon.client()
    notebook = api.notebooks_create({"env": {"frameworkId": "pytorch", "editorId": "jupyterlab"},
                                     "resources": {"cpu": 1}})
    while api.notebook_get(notebook["id"])["status"]["state"] != "RUNNING":
        time.sleep(0.2)
    api.close()
    report = {"dataDir": str(localai_daemon.data_dir), "port": localai_daemon.port,
              "notebookId": notebook["id"]}
    Path(os.environ["READY_FILE"]).write_text(json.dumps(report))
    time.sleep(600)
'''

# A test that only needs a daemon, so that a run sweeps the temporary root.
DAEMON_TEST = '''
def test_daemon(localai_daemon):
    assert localai_daemon.user_token
'''

# Same as HOLD_TEST without the wait, for --localai-keep.
KEEP_TEST = HOLD_TEST.replace("    time.sleep(600)\n", "")

IDLE_TEST = '''
def test_idle():
    assert True
'''


# Helpers -------------------------------------------------------------------


def write_project(folder: Path, test_code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text(PROJECT_INI)
    (folder / "test_project.py").write_text(test_code)
    return folder


def inner_environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "LOCALAI_"))}
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def start_pytest(project: Path, temp_root: Path, *args: str,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """Start pytest in ``project`` in its own session; return it and the file of its output."""
    output = project / "pytest-output.txt"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *PLUGIN_ARGS,
               "--localai-temp-root", str(temp_root), *args]
    with output.open("wb") as stream:
        process = subprocess.Popen(command, cwd=project, env=env or inner_environment(),
                                   stdout=stream, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    return process, output


def run_pytest(project: Path, temp_root: Path, *args: str,
               env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run pytest in ``project`` to the end; return its exit status and output."""
    process, output = start_pytest(project, temp_root, *args, env=env)
    process.wait(timeout=300)
    return process.returncode, output.read_text(errors="replace")


def wait_ready(process: subprocess.Popen[bytes], output: Path, ready_file: Path) -> dict[str, Any]:
    """Wait until the inner test reports its running notebook; fail if pytest exits first."""
    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"inner pytest exited with {process.returncode}:\n"
                                 f"{output.read_text(errors='replace')}")
        return ready_file.exists() and ready_file.stat().st_size > 0

    wait_until(ready, 180, "the inner test never reported a running notebook", interval=0.2)
    report: dict[str, Any] = json.loads(ready_file.read_text())
    return report


def docker_objects(client: docker.DockerClient, data_dir: str) -> list[str]:
    """Name the containers, volumes and networks labelled with ``data_dir``."""
    selector = {"label": f"{DATA_DIR_LABEL}={data_dir}"}
    names = [f"container {c.name}" for c in client.containers.list(all=True, filters=selector)]
    names += [f"volume {v.name}" for v in client.volumes.list(filters=selector)]
    names += [f"network {n.name}" for n in client.networks.list(filters=selector)]
    return names


def objects_under(client: docker.DockerClient, root: Path) -> list[str]:
    """Name the containers, volumes and networks of every data dir under ``root``."""
    prefix = f"{root}/"
    found = []
    for kind, items in (("container", client.containers.list(all=True,
                                                               filters={"label": DATA_DIR_LABEL})),
                        ("volume", client.volumes.list(filters={"label": DATA_DIR_LABEL})),
                        ("network", client.networks.list(filters={"label": DATA_DIR_LABEL}))):
        for item in items:
            labels = item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels") or {}
            if str(labels.get(DATA_DIR_LABEL, "")).startswith(prefix):
                found.append(f"{kind} {item.name}")
    return found


def answers_health(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def run_dirs(root: Path) -> list[str]:
    return sorted(path.name for path in root.glob("run-*"))


@pytest.fixture
def temp_root(tmp_path: Path, docker_client: docker.DockerClient,
              test_image: str) -> Iterator[Path]:
    """The inner runs' temporary root; stops and removes whatever they left there."""
    root = tmp_path / "root"
    yield root

    for run_dir in root.glob("run-*"):
        try:
            daemonctl.stop(Settings(data_dir=run_dir / "data"))
        except DaemonError:
            pass
        remove_objects_of(docker_client, run_dir / "data")


# Runs that end normally ----------------------------------------------------


def test_sample_project_passes(tmp_path: Path, temp_root: Path,
                               docker_client: docker.DockerClient) -> None:
    project = tmp_path / "sample_client"
    shutil.copytree(SAMPLE_PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))

    status, output = run_pytest(project, temp_root)

    assert status == 0, output
    assert "6 passed" in output
    assert run_dirs(temp_root) == []
    assert objects_under(docker_client, temp_root) == []


def test_plugin_idle_without_fixtures(tmp_path: Path, temp_root: Path) -> None:
    project = write_project(tmp_path / "idle", IDLE_TEST)

    status, output = run_pytest(project, temp_root)

    assert status == 0, output
    assert not temp_root.exists()


def test_entry_point_and_p_option(tmp_path: Path, temp_root: Path) -> None:
    """The plugin's pytest11 entry point and ``-p localai.testing`` load it once."""
    site = tmp_path / "site"
    dist_info = site / "localai_testing_entry_point-0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: localai-testing-entry-point\nVersion: 0\n")
    (dist_info / "entry_points.txt").write_text("[pytest11]\nlocalai.testing = localai.testing\n")
    env = inner_environment(PYTHONPATH=str(site))
    del env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
    project = write_project(tmp_path / "entry-point", IDLE_TEST)

    status, output = run_pytest(project, temp_root, env=env)
    assert status == 0, output

    help_run = subprocess.run([sys.executable, "-m", "pytest", "--help"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120)
    assert help_run.returncode == 0, help_run.stderr
    assert help_run.stdout.count("--localai-image-prefix=PREFIX") == 1


def test_keep_leaves_daemon_running(tmp_path: Path, temp_root: Path,
                                    docker_client: docker.DockerClient) -> None:
    ready_file = tmp_path / "ready.json"
    project = write_project(tmp_path / "keep", KEEP_TEST)
    env = inner_environment(READY_FILE=str(ready_file))

    status, output = run_pytest(project, temp_root, "--localai-keep", env=env)
    assert status == 0, output
    report = json.loads(ready_file.read_text())
    assert "localai test daemons kept (--localai-keep)" in output
    assert f"localai daemon stop --data-dir {report['dataDir']}" in output
    assert answers_health(report["port"])
    assert f"container localai-{report['notebookId']}" in docker_objects(docker_client,
                                                                         report["dataDir"])

    # A run while the kept daemon serves leaves it alone.
    sweeper = write_project(tmp_path / "sweeper", DAEMON_TEST)
    status, output = run_pytest(sweeper, temp_root)
    assert status == 0, output
    assert answers_health(report["port"])

    # Once it stops, the next run removes its notebook and data dir.
    daemonctl.stop(Settings(data_dir=Path(report["dataDir"])))
    status, output = run_pytest(sweeper, temp_root)
    assert status == 0, output
    assert docker_objects(docker_client, report["dataDir"]) == []
    assert run_dirs(temp_root) == []


# Interrupted runs ----------------------------------------------------------


@pytest.mark.parametrize(("signum", "status"), [
    (signal.SIGINT, EXIT_INTERRUPTED),
    (signal.SIGTERM, -signal.SIGTERM),
    (signal.SIGHUP, -signal.SIGHUP),
], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_removes_notebook(tmp_path: Path, temp_root: Path,
                                 docker_client: docker.DockerClient,
                                 signum: int, status: int) -> None:
    ready_file = tmp_path / "ready.json"
    project = write_project(tmp_path / "hold", HOLD_TEST)
    process, output = start_pytest(project, temp_root,
                                   env=inner_environment(READY_FILE=str(ready_file)))
    try:
        report = wait_ready(process, output, ready_file)
        assert docker_objects(docker_client, report["dataDir"]) != []

        os.kill(process.pid, signum)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == status, output.read_text(errors="replace")
    assert docker_objects(docker_client, report["dataDir"]) == []
    assert not answers_health(report["port"])
    assert run_dirs(temp_root) == []


def test_next_run_removes_killed_run(tmp_path: Path, temp_root: Path,
                                     docker_client: docker.DockerClient) -> None:
    ready_file = tmp_path / "ready.json"
    project = write_project(tmp_path / "hold", HOLD_TEST)
    process, output = start_pytest(project, temp_root,
                                   env=inner_environment(READY_FILE=str(ready_file)))
    try:
        report = wait_ready(process, output, ready_file)
    finally:
        process.kill()
        process.wait()

    # SIGKILL runs no handler: the daemon and the notebook outlive pytest.
    assert answers_health(report["port"])
    assert docker_objects(docker_client, report["dataDir"]) != []

    sweeper = write_project(tmp_path / "sweeper", DAEMON_TEST)
    status, sweep_output = run_pytest(sweeper, temp_root)

    assert status == 0, sweep_output
    assert not answers_health(report["port"])
    assert docker_objects(docker_client, report["dataDir"]) == []
    assert run_dirs(temp_root) == []
