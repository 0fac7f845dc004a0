"""The notebook service's state machine, driven against an in-memory fake of Docker."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from localai import notebooks
from localai.access import user_principal
from localai.config import GpuMode, Settings
from localai.errors import (
    GpuUnavailable,
    ImageNotBuilt,
    InvalidRequest,
    InvalidState,
    NotFound,
)
from localai.gpus import Gpu
from localai.models import NotebookState
from localai.notebooks import NotebookService
from localai.project import new_credentials
from localai.resources import load_inventory
from localai.store import Store
from tests.unit.fakes import FakeRuntime, fake_gpus, make_planner

CREDENTIALS = new_credentials()
USER = user_principal(CREDENTIALS)
SPEC = {"env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}, "resources": {"cpu": 2}}


@pytest.fixture
def answering(monkeypatch: pytest.MonkeyPatch) -> dict[int, bool]:
    """Ports whose editor responds to HTTP. The start watcher probes through this map."""
    ports: dict[int, bool] = {}
    monkeypatch.setattr(notebooks, "editor_answers", lambda port: ports.get(port, False))
    monkeypatch.setattr(notebooks, "INSPECT_INTERVAL", 0.05)
    return ports


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def make_service(tmp_path: Path, runtime: FakeRuntime) -> Callable[..., NotebookService]:
    def make(gpus: list[Gpu] | None = None, **settings_changes: Any) -> NotebookService:
        settings = replace(Settings(data_dir=tmp_path, port=8300), **settings_changes)
        if gpus is None and settings.gpu_mode is GpuMode.EMULATE:
            gpus = load_inventory(settings)
        store = Store(tmp_path / "state.json")
        return NotebookService(settings, store, runtime, CREDENTIALS.username,  # type: ignore[arg-type]
                               make_planner(settings, gpus))

    return make


@pytest.fixture
def service(make_service: Callable[..., NotebookService]) -> NotebookService:
    return make_service()


def wait_for_state(service: NotebookService, notebook_id: str, state: NotebookState,
                   timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    current = service.get(USER, notebook_id).status.state
    while time.monotonic() < deadline:
        current = service.get(USER, notebook_id).status.state
        if current is state:
            return
        time.sleep(0.01)
    raise AssertionError(f"notebook {notebook_id} is {current.value}, expected {state.value}")


def run_notebook(service: NotebookService, answering: dict[int, bool],
                 runtime: FakeRuntime) -> str:
    answering[40000 + runtime.counter + 1] = True
    notebook = service.create(USER, SPEC)
    wait_for_state(service, notebook.id, NotebookState.RUNNING)
    return notebook.id


def test_create_returns_starting(service: NotebookService, answering: dict[int, bool]) -> None:
    notebook = service.create(USER, SPEC)
    assert notebook.status.state is NotebookState.STARTING


def test_create_defaults(service: NotebookService, answering: dict[int, bool]) -> None:
    notebook = service.create(USER, SPEC)
    assert notebook.spec.env.framework_version == "2.5.1"
    assert notebook.spec.name == ""
    assert notebook.user == CREDENTIALS.username


def test_running_when_editor_answers(service: NotebookService, answering: dict[int, bool],
                                     runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    status = service.get(USER, notebook_id).status
    assert status.url == f"http://{notebook_id}.notebook.localhost:8300"
    assert status.monitoring_url is not None
    assert status.last_started_ns is not None


def test_route_points_at_the_published_port(service: NotebookService,
                                            answering: dict[int, bool],
                                            runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    route = service.route(notebook_id)
    assert route is not None
    assert route.upstream == ("127.0.0.1", 40001)


def test_stays_starting_until_editor_answers(service: NotebookService,
                                             answering: dict[int, bool]) -> None:
    notebook = service.create(USER, SPEC)
    time.sleep(0.3)
    assert service.get(USER, notebook.id).status.state is NotebookState.STARTING


def test_exit_while_starting_fails(service: NotebookService, answering: dict[int, bool],
                                   runtime: FakeRuntime) -> None:
    notebook = service.create(USER, SPEC)
    wait_for_launch(runtime)
    runtime.exit(notebook.id, 1)
    wait_for_state(service, notebook.id, NotebookState.FAILED)
    status = service.get(USER, notebook.id).status
    assert status.exit_code == 1
    assert status.infos is not None and "exited with code 1" in status.infos
    assert status.infos is not None and "SystemExit: 1" in status.infos


def wait_for_launch(runtime: FakeRuntime) -> None:
    deadline = time.monotonic() + 5
    while not runtime.launches and time.monotonic() < deadline:
        time.sleep(0.01)


def test_start_timeout_fails(make_service: Callable[..., NotebookService],
                             answering: dict[int, bool]) -> None:
    service = make_service(start_timeout=0.3)
    notebook = service.create(USER, SPEC)
    wait_for_state(service, notebook.id, NotebookState.FAILED)
    infos = service.get(USER, notebook.id).status.infos
    assert infos is not None and "did not answer HTTP" in infos


def test_die_event_fails_running(service: NotebookService, answering: dict[int, bool],
                                 runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    runtime.exit(notebook_id, 137)
    service.on_container_event({
        "Action": "die", "id": "c1",
        "Actor": {"ID": "c1", "Attributes": {"ai.localai.notebook": notebook_id,
                                             "exitCode": "137"}},
    })
    notebook = service.get(USER, notebook_id)
    assert notebook.status.state is NotebookState.FAILED
    assert notebook.status.exit_code == 137


def test_event_of_old_container_is_ignored(service: NotebookService,
                                           answering: dict[int, bool],
                                           runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    service.on_container_event({
        "Action": "destroy", "id": "c0",
        "Actor": {"ID": "c0", "Attributes": {"ai.localai.notebook": notebook_id}},
    })
    assert service.get(USER, notebook_id).status.state is NotebookState.RUNNING


def test_removed_container_fails(service: NotebookService, answering: dict[int, bool],
                                 runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    runtime.containers.pop(notebook_id)
    service.on_container_event({
        "Action": "destroy", "id": "c1",
        "Actor": {"ID": "c1", "Attributes": {"ai.localai.notebook": notebook_id}},
    })
    infos = service.get(USER, notebook_id).status.infos
    assert infos is not None and "removed outside localai" in infos


def test_stop_then_start(service: NotebookService, answering: dict[int, bool],
                         runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    service.stop(USER, notebook_id)
    wait_for_state(service, notebook_id, NotebookState.STOPPED)
    stopped = service.get(USER, notebook_id).status
    assert stopped.last_stopped_ns is not None
    assert service.route(notebook_id).upstream is None  # type: ignore[union-attr]

    answering[40002] = True
    service.start(USER, notebook_id)
    wait_for_state(service, notebook_id, NotebookState.RUNNING)
    assert service.get(USER, notebook_id).status.url == stopped.url


def test_stop_of_stopped_is_rejected(service: NotebookService, answering: dict[int, bool],
                                     runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    service.stop(USER, notebook_id)
    wait_for_state(service, notebook_id, NotebookState.STOPPED)
    with pytest.raises(InvalidState, match="is STOPPED"):
        service.stop(USER, notebook_id)


def test_start_of_running_is_rejected(service: NotebookService, answering: dict[int, bool],
                                      runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    with pytest.raises(InvalidState, match="is RUNNING"):
        service.start(USER, notebook_id)


def test_delete_running_needs_force(service: NotebookService, answering: dict[int, bool],
                                    runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    with pytest.raises(InvalidState, match="force"):
        service.delete(USER, notebook_id, force=False)


def test_delete_with_force_removes_everything(service: NotebookService,
                                              answering: dict[int, bool],
                                              runtime: FakeRuntime) -> None:
    notebook_id = run_notebook(service, answering, runtime)
    service.delete(USER, notebook_id, force=True)
    assert runtime.removed == [notebook_id]
    assert service.route(notebook_id) is None
    with pytest.raises(NotFound):
        service.get(USER, notebook_id)


def test_unknown_framework(service: NotebookService) -> None:
    body = {"env": {"frameworkId": "pytorhc", "editorId": "jupyterlab"}}
    with pytest.raises(InvalidRequest, match="Unknown framework 'pytorhc'"):
        service.create(USER, body)


def test_unknown_version_lists_valid_ones(service: NotebookService) -> None:
    body = {"env": {"frameworkId": "pytorch", "frameworkVersion": "0.1", "editorId": "jupyterlab"}}
    with pytest.raises(InvalidRequest, match="Valid versions: 2.5.1"):
        service.create(USER, body)


def test_image_not_built_names_the_command(service: NotebookService,
                                           runtime: FakeRuntime) -> None:
    runtime.images.clear()
    with pytest.raises(ImageNotBuilt, match="localai images build pytorch jupyterlab"):
        service.create(USER, SPEC)


def test_gpu_without_runtime_is_rejected(service: NotebookService,
                                         runtime: FakeRuntime) -> None:
    with pytest.raises(GpuUnavailable, match="cannot attach NVIDIA GPUs"):
        service.create(USER, {**SPEC, "resources": {"gpu": 1}})
    assert runtime.launches == []
    assert service.list(USER) == []


def test_gpu_zero_is_a_cpu_notebook(service: NotebookService,
                                    answering: dict[int, bool]) -> None:
    notebook = service.create(USER, {**SPEC, "resources": {"gpu": 0, "cpu": 3}})
    assert (notebook.spec.resources.gpu, notebook.spec.resources.cpu) == (0, 3)


def test_no_resources_without_gpus_gives_one_cpu(service: NotebookService,
                                                 answering: dict[int, bool]) -> None:
    notebook = service.create(USER, {"env": SPEC["env"]})
    assert (notebook.spec.resources.gpu, notebook.spec.resources.cpu) == (0, 1)


def test_emulated_gpu_reports_the_cloud_values(make_service: Callable[..., NotebookService],
                                               answering: dict[int, bool],
                                               runtime: FakeRuntime) -> None:
    service = make_service(gpu_mode=GpuMode.EMULATE)
    notebook = service.create(USER, {"env": SPEC["env"]})
    resources = notebook.spec.resources
    assert (resources.gpu, resources.gpu_model, resources.cpu) == (1, "Tesla-V100S", 13)
    wait_for_launch(runtime)
    assert runtime.launches[0][3].device_ids == ()


@pytest.mark.parametrize(("resources", "message"), [
    ({"gpu": 5}, "may have 1 to 4 GPUs"),
    ({"cpu": 13}, "1 to 12 CPUs"),
    ({"cpu": 0}, "1 to 12 CPUs"),
    ({"cpu": "2"}, "must be an integer"),
])
def test_resource_limits(service: NotebookService, runtime: FakeRuntime,
                         resources: dict[str, Any], message: str,
                         make_service: Callable[..., NotebookService]) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(4))
    with pytest.raises(InvalidRequest, match=message):
        service.create(USER, {**SPEC, "resources": resources})


def test_platform_labels_are_dropped(service: NotebookService,
                                     answering: dict[int, bool]) -> None:
    notebook = service.create(USER, {**SPEC, "labels": {"ovh/id": "x", "team": "vision"}})
    assert notebook.spec.labels == {"team": "vision"}
    assert notebook.scope_labels == {
        "team": "vision", "ovh/id": notebook.id, "ovh/type": "notebook",
    }


def test_env_vars_reach_the_container(service: NotebookService, answering: dict[int, bool],
                                      runtime: FakeRuntime) -> None:
    service.create(USER, {**SPEC, "envVars": [{"name": "GREETING", "value": "hello"}]})
    wait_for_launch(runtime)
    assert runtime.launches[0][2]["GREETING"] == "hello"


def test_reconcile_resumes_a_starting_notebook(make_service: Callable[..., NotebookService],
                                               answering: dict[int, bool],
                                               runtime: FakeRuntime) -> None:
    first = make_service()
    notebook = first.create(USER, SPEC)
    wait_for_launch(runtime)
    # The first service's last write must be done: a new Store removes temp files it finds.
    deadline = time.monotonic() + 5
    while first.get(USER, notebook.id).status.last_started_ns is None:
        assert time.monotonic() < deadline, "the launch was never recorded"
        time.sleep(0.01)

    # A new service over the same store plays the restarted daemon.
    second = make_service()
    answering[40001] = True
    second.reconcile()
    wait_for_state(second, notebook.id, NotebookState.RUNNING)
    assert len(runtime.launches) == 1


def test_reconcile_fails_a_running_notebook_whose_container_died(
    make_service: Callable[..., NotebookService], answering: dict[int, bool],
    runtime: FakeRuntime,
) -> None:
    first = make_service()
    notebook_id = run_notebook(first, answering, runtime)
    runtime.exit(notebook_id, 2)

    second = make_service()
    second.reconcile()
    assert second.get(USER, notebook_id).status.exit_code == 2


def gpu_spec(count: int = 1) -> dict[str, Any]:
    return {**SPEC, "resources": {"gpu": count}}


def test_gpus_are_assigned_exclusively(make_service: Callable[..., NotebookService],
                                       answering: dict[int, bool],
                                       runtime: FakeRuntime) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(3))
    service.create(USER, gpu_spec())
    service.create(USER, gpu_spec())
    deadline = time.monotonic() + 5
    while len(runtime.launches) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    first, second = (launch[3].device_ids for launch in runtime.launches)
    assert len(first) == len(second) == 1
    assert first != second


def test_too_few_gpus_names_the_holders(make_service: Callable[..., NotebookService],
                                        answering: dict[int, bool],
                                        runtime: FakeRuntime) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(2))
    holder = service.create(USER, gpu_spec(2))
    with pytest.raises(InvalidRequest, match="1 requested, 0 free") as raised:
        service.create(USER, gpu_spec(1))
    assert holder.id in raised.value.message
    assert len(service.list(USER)) == 1


def test_stopping_frees_the_gpu(make_service: Callable[..., NotebookService],
                                answering: dict[int, bool], runtime: FakeRuntime) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(1))
    answering[40001] = True
    first = service.create(USER, gpu_spec())
    wait_for_state(service, first.id, NotebookState.RUNNING)
    with pytest.raises(InvalidRequest, match="0 free"):
        service.create(USER, gpu_spec())

    service.stop(USER, first.id)
    wait_for_state(service, first.id, NotebookState.STOPPED)
    assert service.create(USER, gpu_spec()).spec.resources.gpu == 1


def test_failure_frees_the_gpu(make_service: Callable[..., NotebookService],
                               answering: dict[int, bool], runtime: FakeRuntime) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(1))
    first = service.create(USER, gpu_spec())
    wait_for_launch(runtime)
    runtime.exit(first.id, 1)
    wait_for_state(service, first.id, NotebookState.FAILED)
    assert service.planner.allocator.free() != []


def test_delete_frees_the_gpu(make_service: Callable[..., NotebookService],
                              answering: dict[int, bool], runtime: FakeRuntime) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(1))
    first = service.create(USER, gpu_spec())
    service.delete(USER, first.id, force=True)
    assert len(service.planner.allocator.free()) == 1


def test_restart_rebuilds_assignments(make_service: Callable[..., NotebookService],
                                      answering: dict[int, bool], runtime: FakeRuntime) -> None:
    runtime.gpus = True
    gpus = fake_gpus(2)
    first = make_service(gpus=gpus)
    answering[40001] = True
    notebook = first.create(USER, gpu_spec())
    wait_for_state(first, notebook.id, NotebookState.RUNNING)

    second = make_service(gpus=gpus)
    second.reconcile()
    held = second.planner.allocator.held_by(notebook.id)
    assert [gpu.uuid for gpu in held] == list(runtime.launches[0][3].device_ids)


def test_no_flag_takes_a_free_gpu(make_service: Callable[..., NotebookService],
                                  answering: dict[int, bool], runtime: FakeRuntime) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(1))
    assert service.create(USER, {"env": SPEC["env"]}).spec.resources.gpu == 1
    assert service.create(USER, {"env": SPEC["env"]}).spec.resources.gpu == 0


def test_gpu_mode_none_refuses(make_service: Callable[..., NotebookService],
                               runtime: FakeRuntime) -> None:
    runtime.gpus = True
    service = make_service(gpus=fake_gpus(1), gpu_mode=GpuMode.NONE)
    with pytest.raises(GpuUnavailable, match="GPU mode 'none'"):
        service.create(USER, gpu_spec())


def test_emulated_gpus_report_per_gpu_cpu(make_service: Callable[..., NotebookService],
                                          answering: dict[int, bool]) -> None:
    service = make_service(gpu_mode=GpuMode.EMULATE)
    resources = service.create(USER, gpu_spec(2)).spec.resources
    assert (resources.gpu, resources.cpu, resources.gpu_model) == (2, 26, "Tesla-V100S")
    assert resources.memory == 80 * 1024**3


def test_unknown_flavor_lists_the_flavors(service: NotebookService) -> None:
    with pytest.raises(InvalidRequest, match="Flavors of this host: ai1-1-cpu"):
        service.create(USER, {**SPEC, "resources": {"flavor": "h100-1-gpu"}})


def test_cpu_flavor_with_gpu_is_rejected(service: NotebookService) -> None:
    with pytest.raises(InvalidRequest, match="has no GPU"):
        service.create(USER, {**SPEC, "resources": {"flavor": "ai1-1-cpu", "gpu": 1}})
