"""Training throughput and GPU memory peak of srresnet and srgan at the ``full`` profile size.

What issue 6 asks to record when a GPU is lent: images per second of a training step (batch 16,
96-px HR crops, full-size networks) and the peak of allocated GPU memory. Skipped without CUDA.
Run: ``pytest benchmarks/test_bench_gpu.py -s`` (the numbers are printed and kept in the
benchmark's ``extra_info``).
"""

from __future__ import annotations

import time

import pytest
import torch

from srbench.data.training_data import HRPool, LROnlySet, PairedSet, TrainingData
from srbench.interfaces import MethodContext
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile

WARMUP, STEPS = 10, 50


def measure_training_throughput(method: str, device: torch.device, *, amp: bool = False, steps: int = STEPS,
                                warmup: int = WARMUP, profile_name: str = "full") -> dict[str, float]:
    """Images per second of ``method``'s training step, and the GPU memory peak (MiB, CUDA only)."""
    system = load_plugins()
    profile = get_profile(profile_name)
    scale, n = 4, 256
    degradation = system.registries.degradations.create("bicubic", scale)
    g = torch.Generator().manual_seed(0)
    hr = torch.randint(0, 256, (n, 3, profile.patch_size, profile.patch_size), generator=g, dtype=torch.uint8)
    lr = (degradation.apply(hr.float() / 255, {}).clamp(0, 1) * 255).round().to(torch.uint8)
    data = TrainingData(PairedSet({"lr": lr, "hr": hr}, ["x"] * n), LROnlySet({}, []), HRPool({"hr": hr}, ["x"] * n),
                        scale, degradation)
    context = MethodContext(scale=scale, degradation=degradation, device=device, profile=profile,
                            registries=system.registries, seed=0, amp=amp)
    cls = system.registries.methods.get(method).factory
    m = cls(cls.Options(), context)
    m.setup(data)
    for module in m.modules().values():
        module.train()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for step in range(1, warmup + 1):
        with context.autocast():
            m.train_step(step, data)
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for step in range(warmup + 1, warmup + steps + 1):
        with context.autocast():
            m.train_step(step, data)
    sync()
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")
    return {"images_per_second": steps * profile.batch_size / seconds, "peak_memory_mib": peak,
            "step_ms": 1000 * seconds / steps}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "amp-bf16"])
@pytest.mark.parametrize("method", ["srresnet", "srgan"])
def test_full_profile_training_throughput(benchmark, method, amp):
    torch.backends.cudnn.benchmark = True  # --no-deterministic: the fast setting a full run would use
    result = benchmark.pedantic(measure_training_throughput, args=(method, torch.device("cuda")),
                                kwargs={"amp": amp}, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(f"\n{method} full profile ({'bf16 autocast' if amp else 'fp32'}) on {torch.cuda.get_device_name()}: "
          f"{result['images_per_second']:.0f} images/s ({result['step_ms']:.1f} ms/step, batch 16, 96-px HR), "
          f"peak GPU memory {result['peak_memory_mib']:.0f} MiB")
    assert result["images_per_second"] > 0
