"""Cost of srgan's joint step at the `standard` profile's shapes, and what `critic_crop` saves.

At `standard` (batch 16, 48-px HR patches, the small network) a srgan trial costs about 2.5 times
srresnet's (1770 against 725 CPU-s, one thread, b2d4fc8): the discriminator's forward and backward
passes on the whole patches. `critic_crop` shows D random crops instead; its cost falls with the
pixels D sees. Target: at `critic_crop=24` (a quarter of the pixels) a joint step costs at most 75% of
one on whole patches. CPU time (``process_time``), best of several rounds, one torch thread, so other
processes on the machine do not decide the verdict.
"""

from __future__ import annotations

import time

import torch

from srbench.data.pipeline import build_training_data
from srbench.interfaces import MethodContext
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import PROFILES

STEPS, ROUNDS = 5, 3


def make_srgan(registries, data, profile, critic_crop: int):
    cls = registries.methods.get("srgan").factory
    context = MethodContext(scale=4, degradation=data.degradation, device=torch.device("cpu"), profile=profile,
                            registries=registries, seed=0)
    # no pre-training and no D-only share: every step of the loop below is a joint step
    options = {**cls.defaults_under(profile.name), "critic_crop": critic_crop, "pretrain_fraction": 0.0,
               "d_only_fraction": 0.0}
    method = cls(parse_options(cls.Options, options, "srgan"), context)
    method.setup(data)
    for module in method.modules().values():
        module.train()
    return method


def joint_steps(method, data) -> float:
    t0 = time.process_time()
    for step in range(STEPS):
        method.train_step(step, data)
    return (time.process_time() - t0) / STEPS


def test_critic_crop_cuts_the_joint_step(benchmark) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _compare(benchmark)
    finally:
        torch.set_num_threads(threads)


def _compare(benchmark) -> None:
    plugins = load_plugins()
    profile = PROFILES["standard"].with_overrides(iterations=1000)
    images = plugins.registries.datasets.create("synthetic", "8x96").images("train")
    degradation = plugins.registries.degradations.create("bicubic", 4)
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=1.0, seed=0, profile=profile)
    seconds = {}
    for crop in (-1, 32, 24):
        method = make_srgan(plugins.registries, data, profile, crop)
        joint_steps(method, data)  # warm-up (allocator, kernels)
        seconds[crop] = min(joint_steps(method, data) for _ in range(ROUNDS))
    benchmark.extra_info.update({f"step_s_crop{c}": s for c, s in seconds.items()})
    method = make_srgan(plugins.registries, data, profile, 24)
    benchmark.pedantic(lambda: joint_steps(method, data), rounds=1, iterations=1)
    assert seconds[24] <= 0.75 * seconds[-1], f"critic_crop 24: {seconds[24]:.3f} s a step, whole: {seconds[-1]:.3f} s"
