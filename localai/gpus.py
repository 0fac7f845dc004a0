"""GPU inventory and the exclusive assignment of GPUs to notebooks.

The inventory comes from NVML (the ``nvidia-ml-py`` package) when the
library and a driver are present, from a JSON file when one is configured
(tests inject fake GPUs that way), or from the emulated GPUs of GPU
emulation mode. Each GPU belongs to at most one active notebook; the
assignment lives in memory and is rebuilt from the containers' labels when
the daemon restarts.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localai.errors import InvalidRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gpu:
    """One GPU of the host; ``memory`` is in bytes."""

    index: int
    uuid: str
    model: str
    memory: int
    brand: str = "NVIDIA"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def nvml_inventory() -> list[Gpu]:
    """Return the GPUs NVML reports, or an empty list without NVML or a driver."""
    try:
        import pynvml  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        log.debug("nvidia-ml-py is not installed; no GPU inventory")
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as e:
        log.info("NVML unavailable, so no GPUs are used: %s", e)
        return []
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            gpus.append(Gpu(
                index=index,
                uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                model=_text(pynvml.nvmlDeviceGetName(handle)).replace(" ", "-"),
                memory=int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
            ))
        return gpus
    finally:
        pynvml.nvmlShutdown()


def file_inventory(path: Path) -> list[Gpu]:
    """Read GPUs from a JSON list of ``{"uuid", "model", "memory"}`` objects."""
    try:
        items = json.loads(path.read_text())
        return [
            Gpu(index=i, uuid=str(item["uuid"]), model=str(item["model"]),
                memory=int(item["memory"]), brand=str(item.get("brand", "NVIDIA")))
            for i, item in enumerate(items)
        ]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"Invalid GPU inventory file {path}: {e}") from e


def emulated_inventory(count: int, model: str, memory: int) -> list[Gpu]:
    """Return ``count`` emulated GPUs with stable fake UUIDs."""
    return [
        Gpu(index=i, uuid=f"GPU-emulated-{i:04d}", model=model, memory=memory)
        for i in range(count)
    ]


class GpuAllocator:
    """Hands out GPUs exclusively: each GPU is held by at most one notebook."""

    def __init__(self, gpus: list[Gpu]) -> None:
        self.gpus = list(gpus)
        self._holders: dict[str, str] = {}
        self._lock = threading.Lock()

    def models(self) -> list[str]:
        """Return the GPU models present, in inventory order, without repeats."""
        return list(dict.fromkeys(gpu.model for gpu in self.gpus))

    def free(self, model: str | None = None) -> list[Gpu]:
        with self._lock:
            return self._free(model)

    def _free(self, model: str | None) -> list[Gpu]:
        return [gpu for gpu in self.gpus
                if gpu.uuid not in self._holders and (model is None or gpu.model == model)]

    def assign(self, notebook_id: str, count: int, model: str) -> list[Gpu]:
        """Give ``count`` free GPUs of ``model`` to a notebook, replacing its earlier ones.

        Raises InvalidRequest naming how many are free and which notebooks use the others.
        """
        with self._lock:
            self._release(notebook_id)
            free = self._free(model)
            if len(free) < count:
                raise InvalidRequest(self._shortage_message(count, model, len(free)))
            chosen = free[:count]
            for gpu in chosen:
                self._holders[gpu.uuid] = notebook_id
        log.info("notebook %s was assigned GPUs %s", notebook_id, ", ".join(g.uuid for g in chosen))
        return chosen

    def _shortage_message(self, count: int, model: str, free: int) -> str:
        holders: dict[str, int] = {}
        for gpu in self.gpus:
            holder = self._holders.get(gpu.uuid)
            if gpu.model == model and holder is not None:
                holders[holder] = holders.get(holder, 0) + 1
        held = ", ".join(f"{nb} ({n})" for nb, n in holders.items()) or "none"
        return (
            f"Not enough free {model} GPUs: {count} requested, {free} free. "
            f"Notebooks holding the others: {held}. Stop one of them or ask for fewer GPUs."
        )

    def restore(self, notebook_id: str, uuids: list[str]) -> None:
        """Record the GPUs a notebook's container already uses (after a daemon restart)."""
        known = {gpu.uuid for gpu in self.gpus}
        with self._lock:
            for uuid in uuids:
                if uuid in known:
                    self._holders[uuid] = notebook_id

    def release(self, notebook_id: str) -> None:
        with self._lock:
            self._release(notebook_id)

    def _release(self, notebook_id: str) -> None:
        for uuid in [u for u, holder in self._holders.items() if holder == notebook_id]:
            del self._holders[uuid]

    def held_by(self, notebook_id: str) -> list[Gpu]:
        with self._lock:
            return [gpu for gpu in self.gpus if self._holders.get(gpu.uuid) == notebook_id]
