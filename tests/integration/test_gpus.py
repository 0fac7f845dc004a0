"""GPU requests against the real Docker engine on a host without GPUs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from localai.config import Settings
from localai.gpus import GpuAllocator, file_inventory
from localai.resources import ResourcePlanner
from localai.runtime.containers import ContainerRuntime
from tests.integration.conftest import DATA_DIR_LABEL, TEST_IMAGE, Daemon, remove_objects_of

pytestmark = pytest.mark.integration

FAKE_GPUS = [
    {"uuid": f"GPU-{i}0000000-0000-4000-8000-00000000000{i}", "model": "NVIDIA-A100",
     "memory": 40 * 1024**3}
    for i in range(3)
]


@pytest.fixture
def runtime(tmp_path: Path, docker_client: docker.DockerClient,
            test_image: str) -> Iterator[ContainerRuntime]:
    data_dir = tmp_path / "gpu-data"
    yield ContainerRuntime(docker_client, str(data_dir.resolve()))
    remove_objects_of(docker_client, data_dir)


def device_ids_of(client: docker.DockerClient, notebook_id: str) -> list[str]:
    attrs = client.api.inspect_container(f"localai-{notebook_id}")
    requests = attrs["HostConfig"]["DeviceRequests"] or []
    return [device for request in requests for device in request["DeviceIDs"] or []]


def test_created_containers_get_different_gpus(runtime: ContainerRuntime,
                                               docker_client: docker.DockerClient,
                                               tmp_path: Path) -> None:
    inventory = tmp_path / "gpus.json"
    inventory.write_text(json.dumps(FAKE_GPUS))
    allocator = GpuAllocator(file_inventory(inventory))
    planner = ResourcePlanner(Settings(data_dir=tmp_path), allocator)
    ids = []
    for notebook_id in ("a0000000-0000-4000-8000-000000000001",
                        "a0000000-0000-4000-8000-000000000002"):
        held = tuple(gpu.uuid for gpu in planner.allocator.assign(notebook_id, 1, "NVIDIA-A100"))
        limits = runtime.limits_for(1, None, device_ids=held, assigned_gpus=held)
        runtime.create(notebook_id, TEST_IMAGE, {}, limits)
        ids.append(device_ids_of(docker_client, notebook_id))

    assert len(ids[0]) == len(ids[1]) == 1
    assert ids[0] != ids[1]


def test_emulated_gpus_attach_no_device(make_daemon: Callable[..., Daemon],
                                        docker_client: docker.DockerClient) -> None:
    daemon = make_daemon(LOCALAI_GPU_MODE="emulate")
    response = daemon.call("POST", "/v1/notebook", json={
        "env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}, "resources": {"gpu": 2},
    })
    assert response.status_code == 200, response.text
    notebook = response.json()
    assert notebook["spec"]["resources"] == {"gpu": 2, "gpuModel": "Tesla-V100S", "cpu": 26}

    daemon.wait_state(notebook["id"], "RUNNING")
    assert device_ids_of(docker_client, notebook["id"]) == []


def test_emulated_third_request_is_refused(make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon(LOCALAI_GPU_MODE="emulate", LOCALAI_EMULATED_GPUS="2")
    first = daemon.run(resources={"gpu": 2})
    response = daemon.call("POST", "/v1/notebook", json={
        "env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}, "resources": {"gpu": 1},
    })
    assert response.status_code == 400
    assert "0 free" in response.json()["message"]
    assert first["id"] in response.json()["message"]


def test_nvidia_mode_without_runtime_fails_at_once(make_daemon: Callable[..., Daemon],
                                                   docker_client: docker.DockerClient,
                                                   tmp_path: Path) -> None:
    inventory = tmp_path / "gpus.json"
    inventory.write_text(json.dumps(FAKE_GPUS))
    daemon = make_daemon(LOCALAI_GPU_MODE="nvidia", LOCALAI_GPU_INVENTORY=str(inventory))
    response = daemon.call("POST", "/v1/notebook", json={
        "env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}, "resources": {"gpu": 1},
    })
    assert response.status_code == 400
    assert "no NVIDIA container runtime" in response.json()["message"]
    selector = {"label": f"{DATA_DIR_LABEL}={daemon.data_dir.resolve()}"}
    assert docker_client.containers.list(all=True, filters=selector) == []


def test_flavors_of_emulation_are_the_clouds(make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon(LOCALAI_GPU_MODE="emulate")
    flavors = daemon.call("GET", "/v1/capabilities/flavor").json()
    assert [(f["id"], f["type"], f["max"]) for f in flavors] == [
        ("ai1-1-gpu", "gpu", 4), ("ai1-1-cpu", "cpu", 12),
    ]
    assert flavors[0]["resourcesPerUnit"]["cpu"] == 13
    assert flavors[0]["gpuInformation"]["gpuModel"] == "Tesla-V100S"


def test_health_reports_gpus(make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon(LOCALAI_GPU_MODE="emulate", LOCALAI_EMULATED_GPUS="3")
    health = daemon.call("GET", "/health").json()
    assert health["gpus"] == {"mode": "emulate", "count": 3, "free": 3,
                              "models": ["Tesla-V100S"]}
    assert health["docker"]["gpuSupport"] is False
