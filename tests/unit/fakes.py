"""In-memory stand-ins for Docker used by the unit tier."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from localai.config import Settings
from localai.gpus import Gpu, GpuAllocator
from localai.resources import ResourcePlanner
from localai.runtime.containers import ContainerLimits, ContainerState


class FakeRuntime:
    """Keeps containers in a dict; `answering` decides whether editors respond to HTTP."""

    def __init__(self) -> None:
        self.containers: dict[str, ContainerState] = {}
        self.launches: list[tuple[str, str, dict[str, str], ContainerLimits]] = []
        self.images = {"localai/pytorch-jupyterlab:2.5.1"}
        self.gpus = False
        self.removed: list[str] = []
        self.counter = 0

    def gpu_support(self) -> bool:
        return self.gpus

    def image_exists(self, tag: str) -> bool:
        return tag in self.images

    def limits_for(self, cpu: int, memory: int | None, device_ids: tuple[str, ...] = (),
                   assigned_gpus: tuple[str, ...] = ()) -> ContainerLimits:
        return ContainerLimits(nano_cpus=cpu * 10**9, memory=memory or cpu * 2**32,
                               device_ids=device_ids, assigned_gpus=assigned_gpus)

    def launch(self, notebook_id: str, image: str, env: dict[str, str],
               limits: ContainerLimits) -> ContainerState:
        self.counter += 1
        state = ContainerState(id=f"c{self.counter}", status="running", exit_code=None,
                               oom_killed=False, host_port=40000 + self.counter, started_at=None,
                               gpus=limits.assigned_gpus)
        self.containers[notebook_id] = state
        # Recorded last: tests wait on `launches`, and the container must exist by then.
        self.launches.append((notebook_id, image, env, limits))
        return state

    def inspect(self, notebook_id: str) -> ContainerState | None:
        return self.containers.get(notebook_id)

    def stop(self, notebook_id: str, timeout: int = 10) -> None:
        if notebook_id in self.containers:
            self.exit(notebook_id, 143)

    def exit(self, notebook_id: str, code: int) -> None:
        self.containers[notebook_id] = replace(
            self.containers[notebook_id], status="exited", exit_code=code
        )

    def remove_container(self, notebook_id: str) -> None:
        self.containers.pop(notebook_id, None)

    def remove_all(self, notebook_id: str) -> None:
        self.containers.pop(notebook_id, None)
        self.removed.append(notebook_id)

    def managed_notebook_ids(self) -> set[str]:
        return set(self.containers)

    def logs(self, notebook_id: str, follow: bool, tail: int | None) -> Iterator[bytes]:
        yield b"line\n"

    def last_log_lines(self, notebook_id: str, count: int = 5) -> list[str]:
        return ["Traceback (most recent call last):", "SystemExit: 1"]


def fake_gpus(count: int, model: str = "NVIDIA-A100") -> list[Gpu]:
    """Return ``count`` fake GPUs of one model with distinct UUIDs."""
    return [Gpu(index=i, uuid=f"GPU-fake-{i}", model=model, memory=40 * 1024**3)
            for i in range(count)]


def make_planner(settings: Settings, gpus: list[Gpu] | None = None) -> ResourcePlanner:
    """Return a planner for a 12-core, 48 GiB host, so limits do not depend on this machine."""
    return ResourcePlanner(settings, GpuAllocator(gpus or []), host_cpus=12,
                           host_memory=48 * 1024**3)
