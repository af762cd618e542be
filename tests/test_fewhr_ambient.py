"""``ambient`` (AmbientGAN for SR): runs through the runner, gradients through the measurement, modes."""

from __future__ import annotations

import pytest
import torch

from srbench.api import run
from srbench.config import RunConfig
from srbench.data.pipeline import build_training_data
from srbench.interfaces import MethodContext
from srbench.ops import imresize
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile

#: Tiny budget: 24-px HR patches (a multiple of 2, 3 and 4), 2 pre-training steps then 2 joint ones.
TINY = {"iterations": 4, "batch_size": 2, "patch_size": 24, "patches_per_image": 2, "eval_max_side": 32,
        "checkpoint_every": 2}
DATASET = "synthetic:5x32"


def make_method(scale: int = 4, hr_fraction: float = 0.0, hr_source: str = "none", degradation=None,
                batch_size: int = 4, iterations: int = 4, **options):
    """An ``ambient`` method set up on tiny synthetic data (no runner), and its training data."""
    registries = load_plugins().registries
    profile = get_profile("smoke").with_overrides(patch_size=24, patches_per_image=2, batch_size=batch_size,
                                                  iterations=iterations)
    degradation = degradation or registries.degradations.create("bicubic", scale)
    images = registries.datasets.create("synthetic", "5x32").images("train")
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=hr_fraction, seed=0,
                                  profile=profile, hr_source=hr_source)
    cls = registries.methods.get("ambient").factory
    context = MethodContext(scale=scale, degradation=degradation, device=torch.device("cpu"), profile=profile,
                            registries=registries, seed=0)
    method = cls(parse_options(cls.Options, {"pretrain_fraction": 0.0, **options}, "ambient"), context)
    method.setup(data)
    return method, data


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_ambient_trains_through_the_runner_at_every_scale(tmp_path, scale):
    cfg = RunConfig(methods=["ambient"], dataset=DATASET, profile="smoke", scale=scale, hr_fraction=[0.0, 0.5],
                    hr_source="none", out=str(tmp_path), metrics=["psnr_y", "lr_psnr"],
                    profile_overrides=dict(TINY), method_options={"ambient": {"pretrain_fraction": 0.5}})
    summary = run(cfg, progress=False)
    assert len(summary.results) == 2
    for result in summary.results:
        assert result["status"] == "ok", result["reason"]
        assert result["training"]["steps"] == TINY["iterations"]
        losses = result["training"]["last_losses"]
        assert {"consistency", "adversarial", "d_loss"} <= set(losses)
        # Evaluation checked the output size against the HR; a bicubic-like start gives > 15 dB here.
        assert result["metrics"][DATASET]["mean"]["psnr_y"] > 15


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_super_resolve_keeps_the_scale_for_odd_sizes(scale):
    method, data = make_method(scale)
    method.train_step(0, data)
    for module in method.modules().values():
        module.eval()
    with torch.no_grad():
        assert method.super_resolve(torch.rand(1, 3, 7, 5)).shape == (1, 3, 7 * scale, 5 * scale)


class _Recording:
    """Wraps a degradation: records whether its input carried a graph; optionally cuts the graph."""

    def __init__(self, inner, cut: bool) -> None:
        self.inner, self.cut, self.calls = inner, cut, []
        self.scale, self.random = inner.scale, inner.random

    def sample_params(self, batch_size, generator=None):
        return self.inner.sample_params(batch_size, generator)

    def lr_size(self, h, w):
        return self.inner.lr_size(h, w)

    def apply(self, hr, params):
        self.calls.append(hr.requires_grad)
        out = self.inner.apply(hr, params)
        return out.detach() if self.cut else out

    def __call__(self, hr, generator=None):
        return self.apply(hr, self.sample_params(hr.shape[0], generator))


def _generator_grad_norm(method, data) -> float:
    method.generator.zero_grad(set_to_none=True)
    lr = data.all_lr(4)
    loss = method.term.generator_loss(method.generator(lr), lr, data, 0)
    if not loss.requires_grad:
        return 0.0
    loss.backward()
    return sum(float(p.grad.abs().sum()) for p in method.generator.parameters() if p.grad is not None)


def test_adversarial_gradient_reaches_the_generator_through_the_degradation():
    registries = load_plugins().registries
    # Only the full measurement (factor = scale): the fake D sees is degradation(G(lr)), nothing else.
    full = {"min_factor": 4.0, "max_factor": 4.0, "blur_prob": 0.0}
    through = _Recording(registries.degradations.create("bicubic", 4), cut=False)
    method, data = make_method(4, degradation=through, **full)
    assert _generator_grad_norm(method, data) > 0
    assert any(through.calls), "the degradation never saw the generator's output with its graph"

    cut = _Recording(registries.degradations.create("bicubic", 4), cut=True)
    method, data = make_method(4, degradation=cut, **full)
    assert _generator_grad_norm(method, data) == 0.0  # cutting the degradation's graph cuts the only path


@pytest.mark.parametrize("factors", [(1.0, 1.0), (2.5, 2.5), (1.0, 4.0)])
def test_gradient_flows_through_mild_measurements_too(factors):
    method, data = make_method(4, min_factor=factors[0], max_factor=factors[1], blur_prob=1.0)
    assert _generator_grad_norm(method, data) > 0


@pytest.mark.parametrize("max_factor, expected", [(2.0, 12), (4.0, 6), (0.0, 6)])
def test_measured_crops_are_as_large_as_the_strongest_factor_allows(max_factor, expected):
    # patch 24: 24 / 2 = 12 px at the default max_factor 2, 6 px when the x4 measurement must fit too.
    method, _ = make_method(4, hr_fraction=0.5, max_factor=max_factor)
    assert method.term.measurement.size == min(expected, method.term.cropper.max_size)


def test_measurement_is_a_crop_of_the_resized_image():
    method, _ = make_method(4, min_factor=1.0, max_factor=1.0, blur_prob=0.0, orient=False, measured_size=6)
    measurement = method.term.measurement
    x = torch.rand(3, 3, 24, 24)
    params = measurement.sample(3)
    out = measurement.measure(x, params)
    assert out.shape == (3, 3, measurement.size, measurement.size) and measurement.size == 6
    # At factor 1 without blur each measured sample is a window of its own image.
    windows = x.unfold(2, 6, 1).unfold(3, 6, 1)  # (B, C, 19, 19, 6, 6)
    for i in range(3):
        match = (windows[i] - out[i][:, None, None]).abs().amax(dim=(0, 3, 4))
        assert float(match.min()) == 0.0
    # At factor 2 the sample is a window of the bicubic half-size image, not of the original.
    method, _ = make_method(4, min_factor=2.0, max_factor=2.0, blur_prob=0.0, orient=False, measured_size=6)
    out2 = method.term.measurement.measure(x, method.term.measurement.sample(3))
    half = imresize(x, scale=0.5).unfold(2, 6, 1).unfold(3, 6, 1)
    assert float((half[0] - out2[0][:, None, None]).abs().amax(dim=(0, 3, 4)).min()) < 1e-6


@pytest.mark.parametrize("orient", [False, True])
def test_orient_turns_measured_crops(orient):
    method, _ = make_method(4, min_factor=1.0, max_factor=1.0, blur_prob=0.0, orient=orient)
    ramp = torch.linspace(0, 1, 24).expand(32, 3, 24, 24)  # varies along x only
    out = method.term.measurement.measure(ramp, method.term.measurement.sample(32))
    varies_along_y = out.diff(dim=-2).abs().amax(dim=(1, 2, 3)) > 0
    assert bool(varies_along_y.any()) == orient


def _critic_inputs(method, data):
    """Shapes of every batch the discriminator sees during one joint training step."""
    shapes = []
    handle = method.term.adversary.discriminator.register_forward_pre_hook(
        lambda module, args: shapes.append(tuple(args[0].shape)))
    try:
        losses = method.train_step(0, data)
    finally:
        handle.remove()
    return shapes, losses


def test_modes_change_what_is_computed():
    # ambient: D judges measured crops of patch / max_factor px (24 / 2 = 12), capped by the 8-px LR images.
    method, data = make_method(4)
    shapes, losses = _critic_inputs(method, data)
    assert shapes and all(s[1:] == (3, 8, 8) for s in shapes)
    assert "adversarial" in losses and "d_loss" in losses

    # condition_d: the measurement parameters reach D as two extra channels.
    method, data = make_method(4, condition_d=True)
    shapes, _ = _critic_inputs(method, data)
    assert all(s[1] == 5 for s in shapes)

    # unmeasure: an ordinary GAN at HR scale (crops of patch - scale = 20 px), real = upsampled LR.
    method, data = make_method(4, mode="unmeasure")
    shapes, _ = _critic_inputs(method, data)
    assert all(s[1:] == (3, 20, 20) for s in shapes)
    real, _ = method.term.pair(torch.rand(4, 3, 24, 24))
    # Bicubic-upsampled LR is smooth: far less high-frequency energy than the random "fakes".
    assert float(real.diff(dim=-1).abs().mean()) < 0.1

    # consistency: no critic at all, no adversarial loss.
    method, data = make_method(4, mode="consistency")
    assert "discriminator" not in " ".join(method.modules())
    losses = method.train_step(0, data)
    assert "adversarial" not in losses and "d_loss" not in losses and "consistency" in losses


def test_real_measurements_follow_the_regime():
    # No HR anywhere: every real measurement is an LR crop.
    method, _ = make_method(4, hr_fraction=0.0, hr_source="none")
    assert method.term.hr is None
    assert not bool(method.term._draw(64).hr_real.any())
    # Paired HR exists: about hr_real_fraction of the reals are measured HR.
    method, _ = make_method(4, hr_fraction=0.5, hr_source="none", hr_real_fraction=0.5)
    share = float(method.term._draw(400).hr_real.float().mean())
    assert 0.35 < share < 0.65
    params = method.term._draw(8)
    reals, hr = method.term.real_measurements(params)
    assert reals.shape == (8, 3, 8, 8)
    assert (hr is None) == (not bool(params.hr_real.any()))
    # Pure AmbientGAN reals without HR: only the full measurement remains (the documented trap).
    method, _ = make_method(4, hr_fraction=0.0, hr_source="none", lr_reals="full_scale")
    assert bool((method.term._draw(32).factors == 4.0).all())
    assert any("reduces to LR-consistency" in n for n in method.notes())
    # ... and with HR, every milder measurement takes an HR real.
    method, _ = make_method(4, hr_fraction=0.5, hr_source="none", lr_reals="full_scale")
    params = method.term._draw(64)
    assert bool(params.hr_real[params.factors < 4.0].all())


@pytest.mark.parametrize("matched", [True, False])
def test_fakes_matched_with_hr_reals_come_from_degraded_hr(matched):
    method, _ = make_method(4, hr_fraction=0.5, hr_source="none", hr_real_fraction=1.0, blur_prob=0.0,
                            hr_matched_fakes=matched)
    sr = torch.zeros(4, 3, 24, 24, requires_grad=True)  # what the method's own LR batch gave
    method.generator.zero_grad(set_to_none=True)
    real, fake = method.term.pair(sr)
    assert real.shape == fake.shape == (4, 3, 8, 8)
    if matched:  # every real is a measured HR patch, so every fake is G(degrade(that HR)), not sr
        assert float(fake.detach().abs().mean()) > 0.05
        fake.sum().backward()
        assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in method.generator.parameters())
    else:
        assert float(fake.detach().abs().max()) == 0.0


def test_blurred_rows_keep_the_images_dtype(monkeypatch):
    # Under CUDA autocast (--amp) the blur's convolutions return bfloat16 and index_copy refuses to mix
    # dtypes there (CPU autocast promotes instead, so the bfloat16 result is made here by hand). The
    # first CUDA --amp run failed here.
    from srbench_builtins.fewhr import measurement as measurement_module

    blur = measurement_module.separable_blur
    monkeypatch.setattr(measurement_module, "separable_blur", lambda x, k: blur(x, k).to(torch.bfloat16))
    method, _ = make_method(4)
    images = torch.rand(4, 3, 12, 12)
    out = method.term.measurement.blur(images, torch.tensor([0.0, 0.5, 0.0, 0.8]))
    assert out.dtype == torch.float32
    assert torch.equal(out[0], images[0]) and torch.equal(out[2], images[2])
    assert not torch.allclose(out[1], images[1])


def test_matched_fakes_take_the_dtype_of_the_output_they_join():
    # Under --amp on CUDA the generator returns bfloat16 while the measured output is float32; the
    # first CUDA run failed here (index_copy_ needs one dtype).
    method, _ = make_method(4, hr_fraction=0.5, hr_source="none", hr_real_fraction=1.0, blur_prob=0.0)
    generator = method.term.generator_fn
    method.term.generator_fn = lambda lr: generator(lr).to(torch.bfloat16)
    real, fake = method.term.pair(torch.zeros(4, 3, 24, 24))
    assert fake.dtype == torch.float32 and float(fake.detach().abs().mean()) > 0.05


@pytest.mark.parametrize("iterations, options, warned", [
    (300, {}, False),                                # the budget the default weight was measured at
    (1500, {}, True),                                # 5x: longer runs needed smaller weights
    (1500, {"adversarial_weight": 1e-4}, False),     # the user chose a weight
    (1500, {"mode": "consistency"}, False),          # no adversarial term at all
])
def test_a_long_budget_at_the_default_weight_is_noted(iterations, options, warned):
    method, _ = make_method(4, iterations=iterations, **options)
    notes = [n for n in method.notes() if "Longer budgets" in n]
    assert len(notes) == int(warned)
    if warned:
        assert "adversarial_weight 0.0003 is the default chosen at 300 steps" in notes[0]
        assert "--set ambient.adversarial_weight=" in notes[0] and "runs 1500" in notes[0]


def test_a_weight_the_profile_itself_sets_is_not_noted(monkeypatch):
    """A profile default was chosen at that profile's budget: the long-budget note is for the quick default only."""
    cls = load_plugins().registries.methods.get("ambient").factory
    monkeypatch.setattr(cls, "profile_defaults", {"smoke": {"adversarial_weight": 3e-4}})
    method, _ = make_method(4, iterations=1500)
    assert not [n for n in method.notes() if "Longer budgets" in n]


def test_ambient_term_is_registered_for_fewhr():
    from srbench_builtins.fewhr.ambient import AmbientTerm
    from srbench_builtins.fewhr.unpaired_terms import TERMS

    assert TERMS["ambient"] is AmbientTerm
    assert not AmbientTerm.requires_hr_pool


def test_random_dihedral_applies_one_of_the_eight_maps_per_image():
    import torch

    from srbench_builtins.fewhr.crops import random_dihedral

    x = torch.rand(64, 3, 6, 6)
    out = random_dihedral(x, torch.Generator().manual_seed(0))
    used = set()
    for a, b in zip(x, out):
        maps = [a, a.flip(-1), a.flip(-2), a.flip(-1).flip(-2)]
        maps += [m.transpose(-1, -2) for m in maps]
        hits = [i for i, m in enumerate(maps) if torch.equal(m, b)]
        assert hits, "output is not a flip/rotation of its input"
        used.add(hits[0])
    assert len(used) == 8
