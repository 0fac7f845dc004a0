"""Notebook containers, their workspace volumes and networks on the Docker engine.

Each notebook owns three objects, all named after its id. Each carries the
managed label, the notebook id and the data directory of the daemon that
created it, so two daemons with different data directories never touch
each other's notebooks:

- the container ``localai-<id>``, whose editor listens on port 8080,
  published on 127.0.0.1 only, with a random host port;
- the volume ``localai-<id>-workspace``, mounted at ``/workspace``;
- the network ``localai-<id>``, so notebooks cannot reach each other.
"""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import docker.types
import requests

from localai.errors import GpuUnavailable, NotFound, RuntimeFailure, RuntimeUnavailable
from localai.runtime import DATA_DIR_LABEL, MANAGED_LABEL, NOTEBOOK_LABEL

GPUS_LABEL = "ai.localai.gpus"

log = logging.getLogger(__name__)

EDITOR_PORT = 8080
# Memory per CPU unit, as the cloud's CPU flavor gives it.
MEMORY_PER_CPU = 4 * 1024**3
# Docker's error when no device driver provides the "gpu" capability (engine 20.10 and later).
_NO_GPU_DRIVER = "could not select device driver"


@dataclass(frozen=True)
class ContainerLimits:
    """CPU, memory and GPU limits that Docker enforces on a notebook container."""

    nano_cpus: int
    memory: int
    device_ids: tuple[str, ...] = ()
    """UUIDs of the GPUs Docker attaches; empty when none are (CPU or emulated GPUs)."""
    assigned_gpus: tuple[str, ...] = ()
    """UUIDs of the GPUs the notebook holds, kept in a label to rebuild assignments."""


@dataclass(frozen=True)
class ContainerState:
    """A notebook container as the engine reports it."""

    id: str
    status: str
    """Docker's state: created, running, paused, restarting, removing, exited or dead."""
    exit_code: int | None
    oom_killed: bool
    host_port: int | None
    started_at: str | None
    gpus: tuple[str, ...] = ()
    """GPU UUIDs recorded in the container's label."""

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting")


def container_name(notebook_id: str) -> str:
    return f"localai-{notebook_id}"


def volume_name(notebook_id: str) -> str:
    return f"localai-{notebook_id}-workspace"


def network_name(notebook_id: str) -> str:
    return f"localai-{notebook_id}"


def _host_port(attrs: dict[str, Any]) -> int | None:
    bindings = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for binding in bindings.get(f"{EDITOR_PORT}/tcp") or []:
        if binding.get("HostIp") in ("127.0.0.1", "", "0.0.0.0") and binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


def _state_of(container: Any) -> ContainerState:
    attrs: dict[str, Any] = container.attrs
    state = attrs.get("State") or {}
    status = state.get("Status", "unknown")
    gpu_label = ((attrs.get("Config") or {}).get("Labels") or {}).get(GPUS_LABEL, "")
    return ContainerState(
        id=container.id,
        status=status,
        exit_code=state.get("ExitCode") if status in ("exited", "dead") else None,
        oom_killed=bool(state.get("OOMKilled")),
        host_port=_host_port(attrs),
        started_at=state.get("StartedAt"),
        gpus=tuple(uuid for uuid in gpu_label.split(",") if uuid),
    )


class ContainerRuntime:
    """Creates, inspects and removes the Docker objects of notebooks."""

    def __init__(self, client: docker.DockerClient, data_dir: str) -> None:
        self._client = client
        self._data_dir = data_dir
        info = client.info()
        self.host_cpus: int = int(info.get("NCPU") or 1)
        self.host_memory: int = int(info.get("MemTotal") or MEMORY_PER_CPU)
        self.engine_version: str = str(info.get("ServerVersion") or "unknown")
        self._runtimes: set[str] = set((info.get("Runtimes") or {}).keys())
        self._cdi_dirs: list[str] = list(info.get("CDISpecDirs") or [])

    def labels(self, notebook_id: str) -> dict[str, str]:
        return {
            MANAGED_LABEL: "true",
            NOTEBOOK_LABEL: notebook_id,
            DATA_DIR_LABEL: self._data_dir,
        }

    def _filters(self) -> dict[str, Any]:
        return {"label": [f"{MANAGED_LABEL}=true", f"{DATA_DIR_LABEL}={self._data_dir}"]}

    # GPUs ---------------------------------------------------------------

    def gpu_support(self) -> bool:
        """Return whether the engine can attach NVIDIA GPUs to containers.

        Engine 20.10 reports nothing about device drivers: dockerd registers the
        ``gpu`` capability only when ``nvidia-container-runtime-hook`` is on its
        PATH at start, so the hook, an ``nvidia`` runtime or CDI spec folders
        (engine 25 and later) are taken as the sign.
        """
        if "nvidia" in self._runtimes or self._cdi_dirs:
            return True
        return shutil.which("nvidia-container-runtime-hook") is not None

    # Images --------------------------------------------------------------

    def image_exists(self, tag: str) -> bool:
        try:
            self._client.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as e:
            raise RuntimeFailure(f"Docker failed to inspect image {tag}: {e.explanation}") from e
        return True

    # Lifecycle ------------------------------------------------------------

    def limits_for(self, cpu: int, memory: int | None,
                   device_ids: tuple[str, ...] = (),
                   assigned_gpus: tuple[str, ...] = ()) -> ContainerLimits:
        """Return Docker limits for a request, capped to what this host has."""
        cpus = max(1, min(cpu, self.host_cpus))
        wanted = cpu * MEMORY_PER_CPU if memory is None else memory
        return ContainerLimits(
            nano_cpus=cpus * 1_000_000_000,
            memory=min(wanted, self.host_memory),
            device_ids=device_ids,
            assigned_gpus=assigned_gpus,
        )

    def _ensure_network(self, notebook_id: str) -> str:
        name = network_name(notebook_id)
        if not self._client.networks.list(names=[name], filters=self._filters()):
            self._client.networks.create(name, driver="bridge", labels=self.labels(notebook_id))
        return name

    def _ensure_volume(self, notebook_id: str) -> str:
        name = volume_name(notebook_id)
        try:
            self._client.volumes.get(name)
        except docker.errors.NotFound:
            self._client.volumes.create(name, labels=self.labels(notebook_id))
        return name

    def launch(
        self,
        notebook_id: str,
        image: str,
        env: dict[str, str],
        limits: ContainerLimits,
    ) -> ContainerState:
        """Create and start the notebook's container, replacing a stopped one.

        Raises GpuUnavailable when Docker cannot attach the GPUs, after removing
        the container that Docker leaves behind in that case.
        """
        self.remove_container(notebook_id)
        container = self.create(notebook_id, image, env, limits)

        try:
            container.start()
        except docker.errors.APIError as e:
            self.remove_container(notebook_id)
            if _NO_GPU_DRIVER in str(e.explanation):
                raise GpuUnavailable(
                    f"Docker cannot attach GPUs on this host ({e.explanation}). Install the "
                    "NVIDIA Container Toolkit and restart dockerd, or run the notebook "
                    "without --gpu (for example --cpu 1)."
                ) from e
            raise RuntimeFailure(
                f"Docker failed to start notebook {notebook_id}: {e.explanation}"
            ) from e

        container.reload()
        log.info("started container %s for notebook %s", container.short_id, notebook_id)
        return _state_of(container)

    def create(self, notebook_id: str, image: str, env: dict[str, str],
               limits: ContainerLimits) -> Any:
        """Create (without starting) the notebook's container, its network and volume."""
        labels = self.labels(notebook_id)
        if limits.assigned_gpus:
            labels[GPUS_LABEL] = ",".join(limits.assigned_gpus)
        try:
            network = self._ensure_network(notebook_id)
            volume = self._ensure_volume(notebook_id)
            return self._client.containers.create(
                image,
                name=container_name(notebook_id),
                hostname="notebook",
                labels=labels,
                environment=env,
                # docker-init reaps zombies and forwards SIGTERM, so stop takes
                # milliseconds instead of the 10 s kill timeout.
                init=True,
                ports={f"{EDITOR_PORT}/tcp": ("127.0.0.1", None)},
                network=network,
                volumes={volume: {"bind": "/workspace", "mode": "rw"}},
                nano_cpus=limits.nano_cpus,
                mem_limit=limits.memory,
                device_requests=self._device_requests(limits.device_ids),
            )
        except docker.errors.ImageNotFound as e:
            raise NotFound(f"Image {image} is not in the Docker engine: {e.explanation}") from e
        except docker.errors.APIError as e:
            raise RuntimeFailure(f"Docker failed to create notebook {notebook_id}: "
                                 f"{e.explanation}") from e

    @staticmethod
    def _device_requests(device_ids: tuple[str, ...]) -> list[docker.types.DeviceRequest]:
        # Naming the GPUs by UUID gives each notebook its own GPUs; a plain
        # count would hand every container the same first GPUs.
        if not device_ids:
            return []
        return [docker.types.DeviceRequest(device_ids=list(device_ids), capabilities=[["gpu"]])]

    def inspect(self, notebook_id: str) -> ContainerState | None:
        """Return the notebook's container state, or None when it has no container."""
        container = self._find(notebook_id)
        return None if container is None else _state_of(container)

    def _find(self, notebook_id: str) -> Any:
        try:
            container = self._client.containers.get(container_name(notebook_id))
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as e:
            raise RuntimeFailure(f"Docker failed to inspect notebook {notebook_id}: "
                                 f"{e.explanation}") from e
        if container.labels.get(DATA_DIR_LABEL) != self._data_dir:
            return None
        return container

    def stop(self, notebook_id: str, timeout: int = 10) -> None:
        """Stop the notebook's container and keep it, so its logs stay readable."""
        container = self._find(notebook_id)
        if container is None:
            return
        try:
            container.stop(timeout=timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as e:
            raise RuntimeFailure(f"Docker failed to stop notebook {notebook_id}: "
                                 f"{e.explanation}") from e
        log.info("stopped container of notebook %s", notebook_id)

    def remove_container(self, notebook_id: str) -> None:
        container = self._find(notebook_id)
        if container is None:
            return
        try:
            container.remove(force=True, v=False)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as e:
            raise RuntimeFailure(f"Docker failed to remove the container of notebook "
                                 f"{notebook_id}: {e.explanation}") from e

    def remove_all(self, notebook_id: str) -> None:
        """Remove the container, the workspace volume and the network of a notebook."""
        self.remove_container(notebook_id)

        selector = {"label": [*self._filters()["label"], f"{NOTEBOOK_LABEL}={notebook_id}"]}
        try:
            for volume in self._client.volumes.list(filters=selector):
                volume.remove(force=True)
            for network in self._client.networks.list(filters=selector):
                network.remove()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            raise RuntimeFailure(f"Docker failed to remove objects of notebook {notebook_id}: "
                                 f"{e.explanation}") from e
        log.info("removed the Docker objects of notebook %s", notebook_id)

    def managed_notebook_ids(self) -> set[str]:
        """Return the ids of notebooks that have a container of this data directory."""
        containers = self._client.containers.list(all=True, filters=self._filters())
        return {c.labels.get(NOTEBOOK_LABEL, "") for c in containers} - {""}

    # Logs and events -------------------------------------------------------

    def logs(self, notebook_id: str, follow: bool, tail: int | None) -> Iterator[bytes]:
        """Yield the container's output; raises NotFound when it has never run."""
        container = self._find(notebook_id)
        if container is None:
            raise NotFound(f"Notebook {notebook_id} has no container yet, so it has no logs.")
        stream = container.logs(
            stream=True, follow=follow, tail="all" if tail is None else tail
        )
        yield from stream

    def last_log_lines(self, notebook_id: str, count: int = 5) -> list[str]:
        container = self._find(notebook_id)
        if container is None:
            return []
        try:
            raw: bytes = container.logs(tail=count)
        except docker.errors.APIError:
            return []
        return [line for line in raw.decode(errors="replace").splitlines() if line.strip()]

    def events(self) -> Iterator[dict[str, Any]]:
        """Open the stream of this data directory's container events and return it.

        The HTTP request is sent before this returns, so no event that happens
        afterwards is missed. Raises RuntimeUnavailable when the engine is down.
        """
        filters = {"type": "container", **self._filters()}
        try:
            stream = self._client.events(decode=True, filters=filters)
        except (requests.exceptions.RequestException, docker.errors.DockerException) as e:
            raise RuntimeUnavailable(f"Cannot open the Docker event stream: {e}") from e
        return self._iterate_events(stream)

    @staticmethod
    def _iterate_events(stream: Any) -> Iterator[dict[str, Any]]:
        try:
            yield from stream
        except (requests.exceptions.RequestException, docker.errors.DockerException) as e:
            raise RuntimeUnavailable(f"The Docker event stream ended: {e}") from e
        finally:
            stream.close()


def editor_answers(port: int, timeout: float = 1.0) -> bool:
    """Return whether an HTTP server responds on 127.0.0.1:port, whatever its status."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False
