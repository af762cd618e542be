"""Scoring a test set must cost a small fraction of training.

A ``small`` SRResNet is timed for a few training steps at the quick profile's batch and patch
size, projected to the profile's iteration count, and compared with one full evaluation of the
default dataset's test split (3 whole photos) with every pixel metric. Target: evaluation under
10% of training (measured here: about 4 s of evaluation against 90 s of training, in
``srbench run --methods srresnet`` under load).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from srbench.data.datasets import open_dataset
from srbench.data.pipeline import build_test_set
from srbench.plugin_manager import load_plugins
from srbench.runner.evaluate import evaluate
from srbench.training.profiles import PROFILES

PIXEL_METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "lr_psnr", "hf_ratio", "spectral_distance")


def test_evaluation_is_a_small_fraction_of_training(benchmark) -> None:
    registries = load_plugins().registries
    profile, scale = PROFILES["quick"], 4
    net = registries.generators.create("srresnet", scale, size=profile.network_size)
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    lr = torch.rand(profile.batch_size, 3, profile.patch_size // scale, profile.patch_size // scale)
    hr = torch.rand(profile.batch_size, 3, profile.patch_size, profile.patch_size)

    def train_step() -> None:
        loss = F.l1_loss(net(lr), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()

    train_step()
    t0 = time.perf_counter()
    for _ in range(10):
        train_step()
    training = (time.perf_counter() - t0) / 10 * profile.iterations

    degradation = registries.degradations.create("bicubic", scale)
    images = build_test_set(open_dataset("default", registries).images("test"), degradation=degradation, seed=0)
    metrics = {name: registries.metrics.create(name) for name in PIXEL_METRICS}
    net.eval()

    def score() -> None:
        evaluate(net, images, metrics, scale=scale, degradation=degradation, device=torch.device("cpu"))

    t0 = time.perf_counter()
    benchmark.pedantic(score, rounds=1, iterations=1)
    evaluation = time.perf_counter() - t0
    benchmark.extra_info.update({"training_s_projected": training, "evaluation_s": evaluation})
    assert evaluation < 0.10 * training, f"evaluation {evaluation:.1f}s vs training {training:.1f}s (projected)"
