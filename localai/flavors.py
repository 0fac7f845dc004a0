"""Flavors and quotas derived from this host, as the cloud's capabilities present them.

A flavor is one unit of resources: one GPU with its share of CPUs and
memory, or one CPU with its memory. In GPU emulation mode the flavors are
the cloud's own, so client projects see the cloud's numbers: ``ai1-1-gpu``
has 13 CPUs and 40 GiB per Tesla V100S, ``ai1-1-cpu`` 1 CPU and 4 GiB.
Otherwise the flavors are cut from this host's cores and memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localai.gpus import Gpu
from localai.models import JsonDict

GIB = 1024**3
CPU_FLAVOR_ID = "ai1-1-cpu"
EMULATED_GPU_FLAVOR_ID = "ai1-1-gpu"
# The cloud's per-notebook maximums: 4 GPUs or 12 CPUs.
CLOUD_MAX_GPU = 4
CLOUD_MAX_CPU = 12
CLOUD_CPU_PER_GPU = 13
CLOUD_MEMORY_PER_GPU = 40 * GIB
CLOUD_MEMORY_PER_CPU = 4 * GIB


@dataclass(frozen=True)
class Flavor:
    """One unit of resources a notebook can ask for several of, up to ``max``."""

    id: str
    type: str
    """``gpu`` or ``cpu``."""
    description: str
    cpu_per_unit: int
    memory_per_unit: int
    max: int
    default: bool = False
    gpu_model: str | None = None
    gpu_brand: str | None = None
    gpu_memory: int | None = None

    @property
    def is_gpu(self) -> bool:
        return self.type == "gpu"

    def to_api(self) -> JsonDict:
        data: JsonDict = {
            "id": self.id,
            "type": self.type,
            "description": self.description,
            "default": self.default,
            "max": self.max,
            "resourcesPerUnit": {
                "cpu": self.cpu_per_unit,
                "memory": self.memory_per_unit,
                "ephemeralStorage": 0,
                "privateNetwork": 0,
                "publicNetwork": 0,
            },
        }
        # The SDK parses gpuInformation as an object, so CPU flavors leave the key out.
        if self.is_gpu:
            data["gpuInformation"] = {
                "gpuModel": self.gpu_model,
                "gpuBrand": self.gpu_brand,
                "gpuMemory": self.gpu_memory,
            }
        return data


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def host_flavors(gpus: list[Gpu], host_cpus: int, host_memory: int,
                 emulated: bool) -> list[Flavor]:
    """Return the GPU flavors (one per model) then the CPU flavor; the first is the default."""
    flavors = _emulated_gpu_flavors(gpus) if emulated else _host_gpu_flavors(
        gpus, host_cpus, host_memory
    )
    flavors.append(_cpu_flavor(host_cpus, host_memory, emulated, default=not flavors))
    return flavors


def _emulated_gpu_flavors(gpus: list[Gpu]) -> list[Flavor]:
    if not gpus:
        return []
    model = gpus[0]
    return [Flavor(
        id=EMULATED_GPU_FLAVOR_ID, type="gpu", description=f"{model.brand} {model.model}",
        cpu_per_unit=CLOUD_CPU_PER_GPU, memory_per_unit=CLOUD_MEMORY_PER_GPU,
        max=min(CLOUD_MAX_GPU, len(gpus)), default=True,
        gpu_model=model.model, gpu_brand=model.brand, gpu_memory=model.memory,
    )]


def _host_gpu_flavors(gpus: list[Gpu], host_cpus: int, host_memory: int) -> list[Flavor]:
    flavors: list[Flavor] = []
    if not gpus:
        return flavors
    # Each GPU gets an equal share of the host, so all GPUs can run at once.
    cpu_share = max(1, host_cpus // len(gpus))
    memory_share = max(GIB, host_memory // len(gpus) // GIB * GIB)
    for model in dict.fromkeys(gpu.model for gpu in gpus):
        sample = next(gpu for gpu in gpus if gpu.model == model)
        count = sum(1 for gpu in gpus if gpu.model == model)
        flavors.append(Flavor(
            id=f"{_slug(model)}-1-gpu", type="gpu", description=f"{sample.brand} {model}",
            cpu_per_unit=cpu_share, memory_per_unit=memory_share,
            max=min(CLOUD_MAX_GPU, count), default=not flavors,
            gpu_model=model, gpu_brand=sample.brand, gpu_memory=sample.memory,
        ))
    return flavors


def _cpu_flavor(host_cpus: int, host_memory: int, emulated: bool, default: bool) -> Flavor:
    if emulated:
        return Flavor(id=CPU_FLAVOR_ID, type="cpu", description="CPU vCores",
                      cpu_per_unit=1, memory_per_unit=CLOUD_MEMORY_PER_CPU,
                      max=CLOUD_MAX_CPU, default=default)
    memory = max(GIB, min(CLOUD_MEMORY_PER_CPU, host_memory // max(1, host_cpus) // GIB * GIB))
    return Flavor(id=CPU_FLAVOR_ID, type="cpu", description="CPU vCores of this host",
                  cpu_per_unit=1, memory_per_unit=memory,
                  max=max(1, min(CLOUD_MAX_CPU, host_cpus)), default=default)


def quotas(flavors: list[Flavor], gpu_count: int) -> JsonDict:
    """Return the project quotas: GPUs of this host and the CPU flavor's maximum."""
    cpu = next((f.max for f in flavors if not f.is_gpu), 1)
    return {"resources": {"CPU": cpu, "GPU": gpu_count}, "storage": 0}
