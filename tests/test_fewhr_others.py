"""The few-HR methods ``crossscale``, ``unsupervised`` and ``cyclesr``: runner, regimes, and their losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from srbench.api import run
from srbench.config import RunConfig
from srbench.data.pipeline import build_training_data
from srbench.errors import IncompatibleError
from srbench.interfaces import MethodContext
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile
from srbench.training.trainer import Trainer

TINY = {"iterations": 4, "batch_size": 2, "patch_size": 24, "patches_per_image": 2, "eval_max_side": 32,
        "checkpoint_every": 2}
DATASET = "synthetic:5x32"
#: An HR pool from another dataset: 40-px images, so none is one of DATASET's 32-px test images (a pool holding a
#: test image is refused before training, srbench/data/overlap.py).
POOL = "synthetic:6x40"
METHODS = ["crossscale", "unsupervised", "cyclesr"]
#: Two pre-training steps, then two joint ones with the adversarial terms.
JOINT_SOON = {"pretrain_fraction": 0.5}


def config(out, **kw) -> RunConfig:
    base = dict(methods=METHODS, dataset=DATASET, profile="smoke", scale=4, hr_fraction=[0.0], hr_source=POOL,
                out=str(out), metrics=["psnr_y"], profile_overrides=dict(TINY),
                method_options={"unsupervised": JOINT_SOON, "cyclesr": JOINT_SOON})
    base.update(kw)
    return RunConfig(**base)


def make_method(name: str, scale: int = 4, hr_fraction: float = 0.0, hr_source="none", batch_size: int = 4,
                **options):
    """Method ``name`` set up on tiny synthetic data (no runner), and its training data."""
    registries = load_plugins().registries
    profile = get_profile("smoke").with_overrides(patch_size=24, patches_per_image=2, batch_size=batch_size,
                                                  iterations=4)
    degradation = registries.degradations.create("bicubic", scale)
    images = registries.datasets.create("synthetic", "5x32").images("train")
    if hr_source not in ("none", "paired"):
        hr_source = registries.datasets.create("synthetic", "6x40").images("train")
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=hr_fraction, seed=0,
                                  profile=profile, hr_source=hr_source)
    cls = registries.methods.get(name).factory
    context = MethodContext(scale=scale, degradation=degradation, device=torch.device("cpu"), profile=profile,
                            registries=registries, seed=0)
    method = cls(parse_options(cls.Options, options, name), context)
    method.setup(data)
    return method, data


# -- through the runner ---------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 3, 4])
def test_methods_train_at_every_scale_without_paired_hr(tmp_path, scale):
    summary = run(config(tmp_path, scale=scale), progress=False)
    results = {r["spec"]["method"]: r for r in summary.results}
    for name in METHODS:
        result = results[name]
        assert result["status"] == "ok", result["reason"]
        assert result["training"]["steps"] == TINY["iterations"]
        assert result["metrics"][DATASET]["mean"]["psnr_y"] > 15  # evaluation checked the output size
    assert "adversarial" in results["unsupervised"]["training"]["last_losses"]
    assert {"cycle_lr", "cycle_hr", "d_loss_hr", "d_loss_lr"} <= set(results["cyclesr"]["training"]["last_losses"])
    assert {"internal", "consistency"} <= set(results["crossscale"]["training"]["last_losses"])


def test_hr_pool_methods_are_incompatible_without_a_pool(tmp_path):
    summary = run(config(tmp_path, hr_fraction=[0.0, 0.5], hr_source="none"), progress=False)
    status = {(r["spec"]["method"], r["spec"]["hr_fraction"]): r for r in summary.results}
    assert status[("crossscale", 0.0)]["status"] == "ok"  # needs no HR at all
    for name in ("unsupervised", "cyclesr"):
        for fraction in (0.0, 0.5):
            result = status[(name, fraction)]
            assert result["status"] == "incompatible"
            assert "HR pool" in result["reason"] and "--hr-source" in result["reason"]


def test_paired_pool_serves_unsupervised_and_cyclesr_when_hr_is_paired(tmp_path):
    summary = run(config(tmp_path, methods=["unsupervised", "cyclesr"], hr_fraction=[0.0, 0.5],
                         hr_source="paired"), progress=False)
    status = {(r["spec"]["method"], r["spec"]["hr_fraction"]): r["status"] for r in summary.results}
    assert status == {("unsupervised", 0.0): "incompatible", ("unsupervised", 0.5): "ok",
                      ("cyclesr", 0.0): "incompatible", ("cyclesr", 0.5): "ok"}


@pytest.mark.parametrize("name", METHODS)
def test_super_resolve_keeps_the_scale_for_odd_sizes(name):
    method, data = make_method(name, 3, hr_source=POOL, **({} if name == "crossscale" else {"pretrain_fraction": 0.0}))
    method.train_step(0, data)
    for module in method.modules().values():
        module.eval()
    with torch.no_grad():
        assert method.super_resolve(torch.rand(1, 3, 7, 5)).shape == (1, 3, 21, 15)


# -- crossscale -----------------------------------------------------------------------------------

def test_crossscale_crops_whole_lr_images_to_a_multiple_of_the_scale():
    # x3 of 32-px images: LR images are 10 px; the 24-px default crop shrinks to 10, then to 9.
    method, data = make_method("crossscale", 3)
    assert method.crop_size == 9
    targets = method.cropper.batch(4, method.crop_size)
    inputs = method.lr_of_lr(targets)
    assert targets.shape == (4, 3, 9, 9) and inputs.shape == (4, 3, 3, 3)
    assert torch.equal(inputs, torch.round(inputs * 255) / 255)  # quantised like stored LR
    # Larger LR images: the crop is the profile's HR patch side (x2 of 32 px: LR 16, patch 24 -> 16).
    method, _ = make_method("crossscale", 2, crop_size=12)
    assert method.crop_size == 12


def test_crossscale_never_reads_hr():
    """Training on data whose HR is blanked gives exactly the same losses: HR is not used."""
    torch.manual_seed(0)
    method, data = make_method("crossscale", 4, hr_fraction=1.0)
    reference = [float(v) for v in method.train_step(0, data).values()]

    torch.manual_seed(0)
    blank, blank_data = make_method("crossscale", 4, hr_fraction=1.0)
    blank_data.paired.tensors["hr"] = torch.zeros_like(blank_data.paired.tensors["hr"])
    blank_data.paired.images["hr"] = [torch.zeros_like(i) for i in blank_data.paired.images["hr"]]
    assert [float(v) for v in blank.train_step(0, blank_data).values()] == reference


# -- unsupervised ---------------------------------------------------------------------------------

def test_unsupervised_term_judges_non_aligned_crops_of_pool_and_outputs():
    from srbench_builtins.fewhr.unpaired_terms import TERMS
    from srbench_builtins.fewhr.unsupervised import UnsupervisedTerm

    assert TERMS["unsupervised"] is UnsupervisedTerm and UnsupervisedTerm.requires_hr_pool
    method, data = make_method("unsupervised", 4, hr_source=POOL, pretrain_fraction=0.0)
    shapes = []
    method.term.adversary.discriminator.register_forward_pre_hook(lambda m, a: shapes.append(tuple(a[0].shape)))
    losses = method.train_step(0, data)
    assert shapes and all(s[1:] == (3, 20, 20) for s in shapes)  # 24-px patches minus the scale
    assert {"d_loss", "adversarial", "consistency"} <= set(losses)
    method, data = make_method("unsupervised", 4, hr_source=POOL, pretrain_fraction=0.0, critic_crop=-1)
    shapes.clear()
    method.term.adversary.discriminator.register_forward_pre_hook(lambda m, a: shapes.append(tuple(a[0].shape)))
    method.train_step(0, data)
    assert all(s[1:] == (3, 24, 24) for s in shapes)


def test_unsupervised_term_refuses_a_regime_without_pool():
    with pytest.raises(IncompatibleError, match="HR pool"):
        make_method("unsupervised", 4, hr_source="none")


def test_unsupervised_pretraining_uses_consistency_only():
    method, data = make_method("unsupervised", 4, hr_source=POOL, pretrain_fraction=0.5, critic_warmup=False)
    assert set(method.train_step(0, data)) == {"consistency", "g_loss"}
    assert "adversarial" in method.train_step(2, data)
    # With the critic warm-up (default) D trains from the first step, G still gets no adversarial loss.
    method, data = make_method("unsupervised", 4, hr_source=POOL, pretrain_fraction=0.5)
    first = method.train_step(0, data)
    assert "d_loss" in first and "adversarial" not in first


# -- cyclesr --------------------------------------------------------------------------------------

def _nearest_up(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    return x.repeat_interleave(s, dim=-2).repeat_interleave(s, dim=-1)


def _box_down(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    return F.avg_pool2d(x, s)


def test_cycle_loss_is_zero_for_inverse_maps_on_piecewise_constant_images():
    from srbench_builtins.fewhr.cyclesr import cycle_loss

    lr = torch.rand(2, 3, 5, 5)
    hr = _nearest_up(torch.rand(2, 3, 6, 6))  # constant on 2x2 blocks
    assert float(cycle_loss(_nearest_up, _box_down, lr)) == 0.0  # LR -> HR -> LR
    assert float(cycle_loss(_box_down, _nearest_up, hr)) == 0.0  # HR -> LR -> HR
    # Not every image survives HR -> LR -> HR: fine detail inside a block is lost.
    assert float(cycle_loss(_box_down, _nearest_up, torch.rand(2, 3, 12, 12))) > 0.05
    # A precomputed forward output is used as given.
    assert float(cycle_loss(_nearest_up, _box_down, lr, forward_output=_nearest_up(lr) + 1.0)) == pytest.approx(1.0)


def test_cyclesr_downscaler_starts_as_bicubic_and_cycle_losses_train_both_maps():
    from srbench.ops import imresize

    method, data = make_method("cyclesr", 4, hr_source=POOL, pretrain_fraction=0.0)
    hr = data.hr_pool.batch(2)
    with torch.no_grad():
        lr_hat = method.downscaler(hr)
    assert lr_hat.shape == (2, 3, 6, 6)
    assert float((lr_hat - imresize(hr, scale=0.25)).abs().mean()) < 0.05  # small learned residual at init
    before = {k: v.clone() for k, v in method.downscaler.state_dict().items()}
    losses = method.train_step(0, data)
    assert {"cycle_lr", "cycle_hr", "identity_g", "identity_f", "adversarial"} <= set(losses)
    assert any(not torch.equal(before[k], v) for k, v in method.downscaler.state_dict().items())
    assert set(method.modules()) == {"generator", "downscaler", "discriminator_hr", "discriminator_lr"}
    assert set(method.inference_modules()) == {"generator"}


@pytest.mark.parametrize("name", ["pairwise", "unsupervised", "ambient"])
def test_lr_crop_feeds_the_generator_crops_of_whole_lr_images(name):
    # synthetic:5x32 at x2: whole LR images of 16 px, stored LR patches of 12 (patch 24 / 2).
    extra = {"hr_matched_fakes": False} if name == "ambient" else {}
    method, data = make_method(name, 2, hr_source=POOL, lr_crop=14, pretrain_fraction=0.0, **extra)
    seen = []
    method.generator.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape[-2:])))
    method.train_step(0, data)
    assert seen[0] == (14, 14)
    stored, data = make_method(name, 2, hr_source=POOL, pretrain_fraction=0.0, lr_crop=0, **extra)
    seen.clear()
    stored.generator.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape[-2:])))
    stored.train_step(0, data)
    assert seen[0] == (12, 12)


def test_lr_crop_larger_than_the_lr_images_is_incompatible():
    with pytest.raises(IncompatibleError, match="lr_crop 17 does not fit the smallest LR training image"):
        make_method("pairwise", 2, lr_crop=17)


def test_pairwise_default_lr_crop_shrinks_to_the_smallest_lr_image_with_a_note():
    # pairwise defaults to 24-px crops; synthetic:5x32 at x2 has 16-px LR images.
    assert load_plugins().registries.methods.get("pairwise").factory.Options().lr_crop == 24
    method, data = make_method("pairwise", 2, pretrain_fraction=0.0)
    seen = []
    method.generator.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape[-2:])))
    said: list[str] = []  # the trainer says a method's notes when training starts
    Trainer(method, data, total_steps=1, trial_dir=None, checkpoint_every=1, log_every=1, log=said.append,
            label="pairwise").run()
    assert seen[0] == (16, 16)
    assert said == [f"srbench: warning: pairwise: {note}" for note in method.notes()]  # each once, one line
    assert ("srbench: warning: pairwise: lr_crop 24 (the default) exceeds the smallest LR training image; "
            "trained on 16-px crops") in said


def test_ambient_lr_crop_needs_unmatched_fakes():
    from srbench.errors import UsageError
    cls = load_plugins().registries.methods.get("ambient").factory
    with pytest.raises(UsageError, match="lr_crop 24 needs hr_matched_fakes=false"):
        parse_options(cls.Options, {"lr_crop": 24}, "ambient")
    assert parse_options(cls.Options, {"lr_crop": 24, "hr_matched_fakes": False}, "ambient").lr_crop == 24
