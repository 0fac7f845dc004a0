"""Turns the ``resources`` of a notebook request into flavor units, CPUs, memory and GPUs.

The rules follow the cloud. A notebook takes units of one flavor, GPU or
CPU, and ``cpu`` is ignored when ``gpu`` is given. Without any resource
field it gets one GPU when one is free, else one CPU unit.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Protocol

from localai import flavors as flavor_rules
from localai import gpus, validation
from localai.config import GpuMode, Settings
from localai.errors import GpuUnavailable, InvalidRequest
from localai.flavors import Flavor
from localai.gpus import GpuAllocator
from localai.models import JsonDict, Resources

log = logging.getLogger(__name__)


class GpuCapableRuntime(Protocol):
    def gpu_support(self) -> bool: ...


def host_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def load_inventory(settings: Settings) -> list[gpus.Gpu]:
    """Return the GPUs this daemon hands out, according to its GPU mode."""
    if settings.gpu_inventory_file is not None:
        return gpus.file_inventory(settings.gpu_inventory_file)
    if settings.gpu_mode is GpuMode.EMULATE:
        return gpus.emulated_inventory(
            settings.emulated_gpus, settings.emulated_gpu_model, settings.emulated_gpu_memory
        )
    if settings.gpu_mode is GpuMode.NONE:
        return []
    return gpus.nvml_inventory()


class ResourcePlanner:
    """Knows the host's flavors and GPUs and decides what a request gets."""

    def __init__(self, settings: Settings, allocator: GpuAllocator,
                 host_cpus: int | None = None, host_memory: int | None = None) -> None:
        self.mode = settings.gpu_mode
        self.allocator = allocator
        self.flavors = flavor_rules.host_flavors(
            allocator.gpus,
            host_cpus or os.cpu_count() or 1,
            host_memory or host_memory_bytes(),
            emulated=self.mode is GpuMode.EMULATE,
        )

    @property
    def cpu_flavor(self) -> Flavor:
        return next(f for f in self.flavors if not f.is_gpu)

    def flavor(self, flavor_id: str) -> Flavor:
        for candidate in self.flavors:
            if candidate.id == flavor_id:
                return candidate
        valid = ", ".join(f.id for f in self.flavors)
        raise InvalidRequest(
            f"Unknown flavor {flavor_id!r}. Flavors of this host: {valid}. "
            "Run 'localai capabilities flavor list' to see them."
        )

    def quotas(self) -> JsonDict:
        return flavor_rules.quotas(self.flavors, len(self.allocator.gpus))

    # GPU availability ------------------------------------------------------

    def gpus_usable(self, runtime: GpuCapableRuntime) -> bool:
        """Return whether GPU requests can be served at all (free or not)."""
        if self.mode is GpuMode.EMULATE:
            return bool(self.allocator.gpus)
        if self.mode is GpuMode.NONE or not self.allocator.gpus:
            return False
        return runtime.gpu_support()

    def check_gpus_usable(self, runtime: GpuCapableRuntime) -> None:
        """Raise GpuUnavailable with the reason and the fix when GPUs cannot be used."""
        if self.mode is GpuMode.NONE:
            raise GpuUnavailable(
                "GPUs are switched off on this daemon (GPU mode 'none'). Run the notebook with "
                "--cpu N, or restart the daemon with --gpu-mode auto or --gpu-mode emulate."
            )
        if self.mode is not GpuMode.EMULATE and not runtime.gpu_support():
            raise GpuUnavailable(
                "Docker on this host cannot attach NVIDIA GPUs: no NVIDIA container runtime "
                "is installed. Run the notebook with --cpu N or --gpu 0, install the NVIDIA "
                "Container Toolkit and restart dockerd, or start the daemon with "
                "--gpu-mode emulate to test GPU flows without GPUs."
            )
        if not self.allocator.gpus:
            raise GpuUnavailable(
                "No NVIDIA GPU was found on this host (NVML reports none). Run the notebook "
                "with --cpu N, or start the daemon with --gpu-mode emulate."
            )

    # Planning ----------------------------------------------------------------

    def plan(self, raw: Any, runtime: GpuCapableRuntime) -> Resources:
        """Return the resources a request body's ``resources`` field gets."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise InvalidRequest("'resources' must be an object such as {\"cpu\": 2}.")
        gpu = validation.optional_int(raw.get("gpu"), "resources.gpu")
        cpu = validation.optional_int(raw.get("cpu"), "resources.cpu")
        flavor_id = raw.get("flavor")
        if flavor_id is not None and not isinstance(flavor_id, str):
            raise InvalidRequest("'resources.flavor' must be a flavor id string.")
        chosen = self.flavor(flavor_id) if flavor_id else None

        if gpu is not None and gpu < 0:
            raise InvalidRequest(f"Invalid GPU count {gpu}: it cannot be negative.")
        if chosen is not None and not chosen.is_gpu and gpu:
            raise InvalidRequest(
                f"Flavor {chosen.id!r} has no GPU; drop --gpu or choose a GPU flavor."
            )

        if gpu is None and cpu is None and chosen is None:
            wants_gpu = self.gpus_usable(runtime) and bool(self.allocator.free())
        else:
            wants_gpu = bool(gpu) or (gpu is None and chosen is not None and chosen.is_gpu)

        if wants_gpu:
            return self._gpu_resources(gpu or 1, chosen, runtime)
        return self._cpu_resources(1 if cpu is None else cpu, chosen)

    def _gpu_resources(self, units: int, chosen: Flavor | None,
                       runtime: GpuCapableRuntime) -> Resources:
        self.check_gpus_usable(runtime)
        flavor = chosen or next(f for f in self.flavors if f.is_gpu)
        if not 1 <= units <= flavor.max:
            raise InvalidRequest(
                f"Invalid GPU count {units}: a notebook of flavor {flavor.id} may have 1 to "
                f"{flavor.max} GPUs."
            )
        return Resources(
            cpu=flavor.cpu_per_unit * units, gpu=units, gpu_model=flavor.gpu_model,
            gpu_brand=flavor.gpu_brand, gpu_memory=flavor.gpu_memory,
            memory=flavor.memory_per_unit * units, flavor=flavor.id,
        )

    def _cpu_resources(self, units: int, chosen: Flavor | None) -> Resources:
        flavor = chosen or self.cpu_flavor
        if not 1 <= units <= flavor.max:
            raise InvalidRequest(
                f"Invalid CPU count {units}: a notebook may have 1 to {flavor.max} CPUs "
                f"on this host (flavor {flavor.id})."
            )
        return Resources(cpu=units * flavor.cpu_per_unit, gpu=0, gpu_model=None,
                         memory=units * flavor.memory_per_unit, flavor=flavor.id)
