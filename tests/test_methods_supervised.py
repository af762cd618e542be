"""The supervised methods (srresnet, srgan) through the real runner: x2/x3/x4, incompatibility, resumption."""

from __future__ import annotations

import functools

import pytest
import torch

import srbench.runner.runner as runner_module
from srbench.api import run
from srbench.config import RunConfig
from srbench.data.pipeline import build_training_data
from srbench.interfaces import MethodContext
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile

#: Tiny budget: 24-px HR patches (a multiple of 2, 3 and 4; the srgan discriminator needs >= 16 px).
TINY = {"iterations": 4, "batch_size": 2, "patch_size": 24, "patches_per_image": 2, "eval_max_side": 32,
        "checkpoint_every": 2}
DATASET = "synthetic:5x32"


def config(out, **kw):
    base = dict(methods=["srresnet", "srgan"], dataset=DATASET, profile="smoke", scale=4, hr_fraction=[1.0],
                out=str(out), metrics=["psnr_y"], profile_overrides=dict(TINY))
    base.update(kw)
    return RunConfig(**base)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_methods_train_at_every_scale_and_need_paired_hr(tmp_path, scale):
    summary = run(config(tmp_path, scale=scale, hr_fraction=[1.0, 0.0]), progress=False)
    status = {(r["spec"]["method"], r["spec"]["hr_fraction"]): r for r in summary.results}
    for method in ("srresnet", "srgan"):
        ok = status[(method, 1.0)]
        assert ok["status"] == "ok", ok["reason"]
        assert ok["training"]["steps"] == TINY["iterations"]
        assert ok["metrics"][DATASET]["mean"]["psnr_y"] > 10  # evaluation also checked the output shape
        assert ok["cost"]["params"] > 0
        none = status[(method, 0.0)]
        assert none["status"] == "incompatible" and "paired" in none["reason"]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", ["srresnet", "srgan"])
def test_super_resolve_shape_for_odd_sizes(name, scale):
    registries = load_plugins().registries
    profile = get_profile("smoke").with_overrides(patch_size=24, patches_per_image=1, batch_size=2)
    degradation = registries.degradations.create("bicubic", scale)
    images = registries.datasets.create("synthetic", "3x24").images("train")
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=1.0, seed=0, profile=profile)
    cls = registries.methods.get(name).factory
    context = MethodContext(scale=scale, degradation=degradation, device=torch.device("cpu"), profile=profile,
                            registries=registries, seed=0)
    method = cls(parse_options(cls.Options, {}, name), context)
    method.setup(data)
    method.train_step(0, data)
    for module in method.modules().values():
        module.eval()
    with torch.no_grad():
        assert method.super_resolve(torch.rand(2, 3, 7, 5)).shape == (2, 3, 7 * scale, 5 * scale)


@pytest.mark.parametrize("options, stop_after", [
    # pretrain 1 step, D-only 1, joint 4: the checkpoint at step 3 holds a non-empty replay buffer.
    ({"pretrain_fraction": 0.17, "d_only_fraction": 0.17, "replay_size": 8, "replay_fraction": 0.5}, 3),
    # progressive: grows at step 3; resumed after growing, with the buffer refilled at x4.
    ({"progressive": True, "pretrain_fraction": 0.0, "d_only_fraction": 0.0, "replay_size": 8,
      "fade_in_fraction": 1.0}, 4),
])
def test_srgan_resumes_to_identical_results(tmp_path, monkeypatch, options, stop_after):
    overrides = {**TINY, "iterations": 6, "checkpoint_every": 3}
    cfg = functools.partial(config, methods=["srgan"], method_options={"srgan": options},
                            profile_overrides=overrides)
    straight = run(cfg(tmp_path / "a"), progress=False)
    assert straight.results[0]["status"] == "ok", straight.results[0]["reason"]

    real_trainer = runner_module.Trainer
    monkeypatch.setattr(runner_module, "Trainer", functools.partial(real_trainer, stop_after=stop_after))
    interrupted = run(cfg(tmp_path / "b"), progress=False)
    assert interrupted.interrupted and interrupted.results == []
    checkpoint = next((tmp_path / "b" / "trials").glob("srgan-*/checkpoint.pt"))
    saved = torch.load(checkpoint, weights_only=True)["method"]
    assert saved["replay"]["size"] > 0
    assert saved["grown"] == bool(options.get("progressive"))
    monkeypatch.setattr(runner_module, "Trainer", real_trainer)
    resumed = run(cfg(tmp_path / "b"), progress=False)

    a, b = straight.results[0], resumed.results[0]
    assert b["status"] == "ok" and b["training"]["resumed_from"] == stop_after
    assert a["trial_id"] == b["trial_id"]
    assert a["metrics"] == b["metrics"]
    assert a["training"]["last_losses"] == b["training"]["last_losses"]
