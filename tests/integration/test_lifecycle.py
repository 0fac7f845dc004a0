"""Notebook lifecycle on the real Docker engine, with the small test editor image."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import docker
import pytest

from tests.integration.conftest import DATA_DIR_LABEL, Daemon, wait_until

pytestmark = pytest.mark.integration


def containers_of(client: docker.DockerClient, daemon: Daemon) -> list[Any]:
    selector = {"label": f"{DATA_DIR_LABEL}={daemon.data_dir.resolve()}"}
    return list(client.containers.list(all=True, filters=selector))


def test_run_reaches_running(daemon: Daemon) -> None:
    notebook = daemon.run()
    assert notebook["status"]["state"] == "STARTING"

    running = daemon.wait_state(notebook["id"], "RUNNING")
    assert running["status"]["url"] == f"http://{notebook['id']}.notebook.localhost:{daemon.port}"


def test_url_without_credentials_shows_login(daemon: Daemon) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    response = daemon.open_url(notebook_id)
    assert response.status_code == 401
    assert 'name="password"' in response.text


def test_url_with_wrong_password_is_refused(daemon: Daemon) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    response = daemon.open_url(
        notebook_id, "/_localai/login", method="POST",
        data={"username": daemon.credentials["username"], "password": "wrong", "next": "/"},
    )
    assert response.status_code == 401
    assert "localai_session" not in response.headers.get("Set-Cookie", "")


def test_url_with_user_login_reaches_editor(daemon: Daemon) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    login = daemon.open_url(
        notebook_id, "/_localai/login", method="POST",
        data={"username": daemon.credentials["username"],
              "password": daemon.credentials["password"], "next": "/"},
    )
    assert login.status_code == 303
    cookie = login.cookies.get("localai_session")
    assert cookie

    page = daemon.open_url(notebook_id, headers={"Cookie": f"localai_session={cookie}"})
    assert page.status_code == 200
    assert page.text == "test editor"


def test_bearer_token_reaches_editor(daemon: Daemon) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    page = daemon.open_url(notebook_id, headers=daemon.auth)
    assert page.status_code == 200


def test_env_vars_reach_the_editor(daemon: Daemon) -> None:
    notebook_id = daemon.run(envVars=[{"name": "GREETING", "value": "hello world"}])["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    env = daemon.open_url(notebook_id, "/env", headers=daemon.auth).json()
    assert env["GREETING"] == "hello world"


def test_workspace_survives_stop_and_start(daemon: Daemon) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")
    written = daemon.open_url(notebook_id, "/files/kept.txt", method="PUT",
                              headers=daemon.auth, data=b"still here")
    assert written.status_code in (200, 201, 204)

    assert daemon.call("PUT", f"/v1/notebook/{notebook_id}/stop").status_code == 204
    stopped = daemon.wait_state(notebook_id, "STOPPED")
    assert stopped["status"]["lastStoppedAt"] is not None
    assert daemon.call("PUT", f"/v1/notebook/{notebook_id}/start").status_code == 204
    daemon.wait_state(notebook_id, "RUNNING")

    read = daemon.open_url(notebook_id, "/files/kept.txt", headers=daemon.auth)
    assert read.text == "still here"


def test_stopped_url_names_the_state(daemon: Daemon) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")
    daemon.call("PUT", f"/v1/notebook/{notebook_id}/stop")
    daemon.wait_state(notebook_id, "STOPPED")

    page = daemon.open_url(notebook_id, headers=daemon.auth)
    assert page.status_code == 503
    assert "STOPPED" in page.text


def test_delete_removes_every_docker_object(daemon: Daemon,
                                            docker_client: docker.DockerClient) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    response = daemon.call("DELETE", f"/v1/notebook/{notebook_id}", params={"force": "true"})
    assert response.status_code == 204
    selector = {"label": f"ai.localai.notebook={notebook_id}"}
    assert docker_client.containers.list(all=True, filters=selector) == []
    assert docker_client.volumes.list(filters=selector) == []
    assert docker_client.networks.list(filters=selector) == []
    assert daemon.call("GET", f"/v1/notebook/{notebook_id}").status_code == 404


def test_delete_running_without_force_is_rejected(daemon: Daemon) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    response = daemon.call("DELETE", f"/v1/notebook/{notebook_id}")
    assert response.status_code == 400
    assert "force" in response.json()["message"]


def test_exit_1_becomes_failed(daemon: Daemon) -> None:
    notebook_id = daemon.run(envVars=[{"name": "TEST_EDITOR_EXIT_CODE", "value": "1"}])["id"]

    failed = daemon.wait_state(notebook_id, "FAILED", timeout=30)
    assert failed["status"]["info"]["arguments"]["exitCode"] == "1"
    assert "exited with code 1" in failed["status"]["infos"]


def test_container_killed_behind_our_back_fails(daemon: Daemon,
                                                docker_client: docker.DockerClient) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    docker_client.containers.get(f"localai-{notebook_id}").kill()
    failed = daemon.wait_state(notebook_id, "FAILED", timeout=15)
    assert failed["status"]["info"]["arguments"]["exitCode"] == "137"


def test_container_removed_behind_our_back_fails(daemon: Daemon,
                                                 docker_client: docker.DockerClient) -> None:
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    docker_client.containers.get(f"localai-{notebook_id}").remove(force=True)
    failed = daemon.wait_state(notebook_id, "FAILED", timeout=15)
    assert failed["status"]["state"] == "FAILED"


def test_gpu_without_nvidia_runtime_fails_at_once(daemon: Daemon,
                                                  docker_client: docker.DockerClient) -> None:
    response = daemon.call("POST", "/v1/notebook", json={
        "env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}, "resources": {"gpu": 1},
    })
    assert response.status_code == 400
    assert "NVIDIA" in response.json()["message"]
    assert containers_of(docker_client, daemon) == []
    assert daemon.call("GET", "/v1/notebook").json()["items"] == []


def test_missing_image_names_the_build_command(make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon(prefix="localai-missing")
    response = daemon.call("POST", "/v1/notebook", json={
        "env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}, "resources": {"cpu": 1},
    })
    assert response.status_code == 400
    assert "localai images build pytorch jupyterlab" in response.json()["message"]


def test_killed_daemon_resumes_a_starting_notebook(make_daemon: Callable[..., Daemon],
                                                   docker_client: docker.DockerClient) -> None:
    daemon = make_daemon()
    notebook_id = daemon.run(envVars=[{"name": "TEST_EDITOR_DELAY", "value": "4"}])["id"]
    wait_until(lambda: containers_of(docker_client, daemon), 20, "no container was created")

    daemon.kill(signal.SIGKILL)
    daemon.start()

    daemon.wait_state(notebook_id, "RUNNING", timeout=60)
    assert len(containers_of(docker_client, daemon)) == 1


def test_restarted_daemon_serves_a_running_notebook(make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon()
    notebook_id = daemon.run()["id"]
    daemon.wait_state(notebook_id, "RUNNING")

    daemon.kill(signal.SIGTERM)
    daemon.start()

    daemon.wait_state(notebook_id, "RUNNING")
    assert daemon.open_url(notebook_id, headers=daemon.auth).status_code == 200
