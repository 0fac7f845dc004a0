"""Flavors derived from the host, quotas, the GPU allocator and the flavor table."""

from __future__ import annotations

import pytest

from localai.cli.render import flavor_table
from localai.errors import InvalidRequest
from localai.flavors import GIB, host_flavors, quotas
from localai.gpus import GpuAllocator, emulated_inventory
from tests.unit.fakes import fake_gpus


def test_emulated_flavors_are_the_clouds() -> None:
    flavors = host_flavors(emulated_inventory(4, "Tesla-V100S", 32 * GIB), 2, 8 * GIB,
                           emulated=True)
    gpu, cpu = flavors
    assert (gpu.id, gpu.cpu_per_unit, gpu.memory_per_unit, gpu.max) == (
        "ai1-1-gpu", 13, 40 * GIB, 4)
    assert (cpu.id, cpu.cpu_per_unit, cpu.memory_per_unit, cpu.max) == (
        "ai1-1-cpu", 1, 4 * GIB, 12)
    assert gpu.default and not cpu.default


def test_host_gpu_flavor_shares_the_host() -> None:
    gpu, cpu = host_flavors(fake_gpus(2), 16, 64 * GIB, emulated=False)
    assert (gpu.id, gpu.cpu_per_unit, gpu.memory_per_unit, gpu.max) == (
        "nvidia-a100-1-gpu", 8, 32 * GIB, 2)
    assert cpu.max == 12


def test_cpu_only_host() -> None:
    (cpu,) = host_flavors([], 2, 24 * GIB, emulated=False)
    assert (cpu.max, cpu.memory_per_unit, cpu.default) == (2, 4 * GIB, True)


def test_one_flavor_per_gpu_model() -> None:
    gpus = fake_gpus(1, "NVIDIA-A100") + fake_gpus(1, "NVIDIA-L4")
    flavors = host_flavors(gpus, 8, 32 * GIB, emulated=False)
    assert [f.id for f in flavors] == ["nvidia-a100-1-gpu", "nvidia-l4-1-gpu", "ai1-1-cpu"]


def test_cpu_flavor_json_has_no_gpu_information() -> None:
    (cpu,) = host_flavors([], 2, 24 * GIB, emulated=False)
    assert "gpuInformation" not in cpu.to_api()


def test_quotas() -> None:
    flavors = host_flavors(fake_gpus(2), 16, 64 * GIB, emulated=False)
    assert quotas(flavors, 2) == {"resources": {"CPU": 12, "GPU": 2}, "storage": 0}


def test_allocator_release_and_restore() -> None:
    allocator = GpuAllocator(fake_gpus(2))
    allocator.assign("a", 2, "NVIDIA-A100")
    allocator.release("a")
    allocator.restore("b", ["GPU-fake-1", "GPU-unknown"])
    assert [gpu.uuid for gpu in allocator.free()] == ["GPU-fake-0"]


def test_allocator_refuses_other_models() -> None:
    allocator = GpuAllocator(fake_gpus(2, "NVIDIA-A100"))
    with pytest.raises(InvalidRequest, match="0 free"):
        allocator.assign("a", 1, "NVIDIA-L4")


def test_flavor_table() -> None:
    flavors = host_flavors(emulated_inventory(4, "Tesla-V100S", 32 * GIB), 2, 8 * GIB,
                           emulated=True)
    assert flavor_table([f.to_api() for f in flavors]) == (
        "ID        TYPE DESCRIPTION        CPU-PER-UNIT MEMORY-PER-UNIT "
        "GPU_INFORMATION.INFO DEFAULT MAX\n"
        "ai1-1-gpu gpu  NVIDIA Tesla-V100S 13           40.0 GiB        "
        "Tesla-V100S NVIDIA   true    4\n"
        "ai1-1-cpu cpu  CPU vCores         1            4.0 GiB         "
        "~                    false   12\n"
    )
