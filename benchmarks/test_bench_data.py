"""Drawing a training batch must cost little next to a training step.

``paired.batch(16)`` with 48-px HR patches at x4 (12-px LR) is compared with one Adam step of
a small conv net (3 convs of 32 channels + pixel shuffle) on that batch; batch drawing must be
under 10% of the step time. Run with ``pytest benchmarks`` (add ``--benchmark-enable`` for
pytest-benchmark's statistics of the batch draw).
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srbench.data.pipeline import build_training_data
from srbench.interfaces import Degradation, Image
from srbench.training.profiles import PROFILES

SCALE, PATCH, BATCH = 4, 48, 16


class AvgPool(Degradation):
    def apply(self, hr: torch.Tensor, params: dict) -> torch.Tensor:
        return F.avg_pool2d(hr, self.scale)


def _small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 3 * SCALE * SCALE, 3, padding=1), nn.PixelShuffle(SCALE),
    )


def _median_seconds(fn: Callable[[], object], repeats: int = 30, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@pytest.fixture(scope="module")
def paired():
    g = torch.Generator().manual_seed(0)
    images = [Image(f"im{i}", torch.randint(0, 256, (3, 96, 96), generator=g, dtype=torch.uint8)) for i in range(12)]
    profile = PROFILES["quick"].with_overrides(patch_size=PATCH, patches_per_image=16)
    data, _ = build_training_data(images, degradation=AvgPool(SCALE), hr_fraction=1.0, seed=0, profile=profile)
    return data.paired


def test_batch_draw(benchmark, paired) -> None:
    lr, hr = benchmark(paired.batch, BATCH)
    assert lr.shape == (BATCH, 3, PATCH // SCALE, PATCH // SCALE) and hr.shape == (BATCH, 3, PATCH, PATCH)


def test_batch_draw_is_under_ten_percent_of_a_training_step(paired) -> None:
    torch.manual_seed(0)
    net = _small_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lr, hr = paired.batch(BATCH)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = F.l1_loss(net(lr), hr)
        loss.backward()
        opt.step()

    draw = _median_seconds(lambda: paired.batch(BATCH))
    train = _median_seconds(step)
    print(f"batch draw {draw * 1e3:.3f} ms, training step {train * 1e3:.3f} ms, ratio {draw / train:.3f}")
    assert draw < 0.1 * train, f"drawing a batch takes {draw * 1e3:.2f} ms, {draw / train:.0%} of a step"
