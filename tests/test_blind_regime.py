"""The blind regime: ``blind`` draws blur, noise and JPEG per image; methods see only the distribution."""

from __future__ import annotations

import math

import pytest
import torch
from srbench_builtins.degradations.blind import Blind, BlindOptions
from test_cli import assert_one_line_error, run_cli

from srbench.data.datasets import open_dataset
from srbench.config import RunConfig
from srbench.data.pipeline import (
    build_test_set,
    build_training_data,
    degrade_image,
    derive_seed,
)
from srbench.interfaces import MethodContext
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.runner.runner import EVAL_SEED, Runner
from srbench.training.profiles import get_profile

PROFILE = get_profile("smoke").with_overrides(patch_size=24, patches_per_image=2, batch_size=4, iterations=4)


def blind(scale: int = 4, **options) -> Blind:
    return Blind(scale, parse_options(BlindOptions, options, "blind"))


def test_draws_stay_in_the_documented_ranges_and_cover_both_kernel_kinds():
    params = blind(blur_sigma="0.5,1.5", noise_sigma="2,4", jpeg_quality="70,80").sample_params(
        2000, torch.Generator().manual_seed(1))
    for key in ("blur_sigma_x", "blur_sigma_y"):
        assert 0.5 <= float(params[key].min()) and float(params[key].max()) <= 1.5
    assert 2.0 <= float(params["noise_sigma"].min()) and float(params["noise_sigma"].max()) <= 4.0
    assert set(params["jpeg_quality"].tolist()) == set(range(70, 81))
    isotropic = params["blur_sigma_x"] == params["blur_sigma_y"]
    assert 0.4 < float(isotropic.double().mean()) < 0.6  # isotropic_prob 0.5
    assert bool((params["blur_theta"][isotropic] == 0).all())
    assert float(params["blur_theta"][~isotropic].abs().max()) > math.pi / 2


def test_apply_is_a_function_of_the_params_and_each_step_acts():
    hr = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    degradation = blind()
    params = degradation.sample_params(2, torch.Generator().manual_seed(3))
    lr = degradation.apply(hr, params)
    assert lr.shape == (2, 3, 8, 8) and torch.equal(lr, degradation.apply(hr, params))
    for key, value in (("noise_sigma", 0.0), ("jpeg_quality", 100), ("blur_sigma_x", 0.3)):
        changed = dict(params, **{key: torch.full_like(params[key], value)})
        assert not torch.allclose(degradation.apply(hr, changed), lr, atol=1e-3), key


def test_gradient_reaches_the_image():
    hr = torch.rand(1, 3, 16, 16, requires_grad=True)
    blind(scale=2)(hr).sum().backward()
    assert hr.grad is not None and float(hr.grad.abs().sum()) > 0


@pytest.mark.parametrize("setting, fragment", [
    ("degradation.noise_sigma=5,1", "noise_sigma must be (min, max)"),
    ("degradation.blur_sigma=-0.5,2", "blur_sigma must be (min, max)"),
    ("degradation.jpeg_quality=0,90", "jpeg_quality must be (min, max) with 1 <= min"),
    ("degradation.jpeg_quality=60,101", "jpeg_quality"),
])
def test_an_empty_or_out_of_bounds_range_is_one_line_and_nothing_runs(capsys, tmp_path, setting, fragment):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--profile", "smoke", "--methods", "bicubic", "--degradation", "blind",
                           "--set", setting, "--out", str(out))
    assert_one_line_error(code, err, fragment)
    assert not out.exists()


def _reachable_tensors(root, skip: object) -> list[torch.Tensor]:
    """Every tensor reachable from ``root`` through attributes, dicts, lists and tuples (``skip`` excluded)."""
    seen: set[int] = set()
    found: list[torch.Tensor] = []
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is skip:
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            found.append(obj)
        elif isinstance(obj, dict):
            stack += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set)):
            stack += list(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (type, torch.Generator)):
            stack += list(vars(obj).values())
    return found


def test_the_method_gets_the_distribution_and_never_a_per_image_draw():
    registries = load_plugins().registries
    degradation = blind()
    state_before = dict(vars(degradation))
    images = registries.datasets.create("synthetic", "6x32").images("train")
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=0.3, seed=0, profile=PROFILE)
    # The draws were real and differ per image: what made each stored LR is not one fixed operator.
    draws = [degradation.sample_params(1, torch.Generator().manual_seed(derive_seed(0, "lr", i.id))) for i in images]
    assert len({round(float(d["noise_sigma"]), 6) for d in draws}) == len(images)
    assert data.degradation is degradation and vars(degradation) == state_before  # the distribution, unchanged
    # Everything else the method receives is 8-bit pixels: no float tensor, so no drawn sigma or quality.
    tensors = _reachable_tensors(data, skip=degradation)
    assert tensors and all(t.dtype == torch.uint8 and t.dim() in (3, 4) for t in tensors)
    for subset in (data.paired, data.lr_only):
        assert set(subset.tensors) <= {"lr", "hr"} and set(subset.images) <= {"lr", "hr"}


def _runner(tmp_path, seeds: int = 1) -> Runner:
    config = RunConfig(methods=["bicubic"], dataset="synthetic:6x32", degradation="blind", profile="smoke",
                       hr_fraction=[0.3], seeds=seeds, out=str(tmp_path), metrics=["psnr_y"],
                       profile_overrides={"patch_size": 24, "patches_per_image": 2, "iterations": 2})
    return Runner(config, load_plugins(), progress=False)


def test_test_sets_are_degraded_the_same_way_with_the_fixed_eval_seed(tmp_path):
    runner = _runner(tmp_path)
    test_set = runner._test_set("synthetic:6x32")
    spec, split = runner.test_datasets["synthetic:6x32"]
    again = build_test_set(open_dataset(spec, runner.registries).images(split), degradation=blind(),
                           seed=EVAL_SEED, max_side=runner.profile.eval_max_side)
    assert [t.id for t in test_set] == [t.id for t in again]
    assert all(torch.equal(a.lr, b.lr) for a, b in zip(test_set, again))
    bicubic = load_plugins().registries.degradations.create("bicubic", 4)
    first = test_set[0]
    assert not torch.equal(first.lr, degrade_image(first.hr, bicubic, EVAL_SEED, first.id))
    # Training LR follows the trial seed; the test LR never does.
    lr = {seed: runner.training_data(0.3, seed)[0].lr_only.images["lr"][0] for seed in (0, 1)}
    assert not torch.equal(lr[0], lr[1])


def test_ambient_measures_with_fresh_draws_of_the_trials_distribution(monkeypatch):
    registries = load_plugins().registries
    degradation = blind()
    calls: list[tuple[int, bool]] = []
    real_sample = Blind.sample_params

    def spy(self, batch_size, generator=None):
        calls.append((batch_size, generator is None))
        return real_sample(self, batch_size, generator)

    images = registries.datasets.create("synthetic", "5x32").images("train")
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=0.0, seed=0, profile=PROFILE,
                                  hr_source="none")
    monkeypatch.setattr(Blind, "sample_params", spy)
    cls = registries.methods.get("ambient").factory
    context = MethodContext(scale=4, degradation=degradation, device=torch.device("cpu"), profile=PROFILE,
                            registries=registries, seed=0)
    # Every measurement at the full factor: the trial's degradation itself.
    method = cls(parse_options(cls.Options, {"pretrain_fraction": 0.0, "min_factor": 4.0, "max_factor": 0.0},
                               "ambient"), context)
    method.setup(data)
    measurement = method.term.measurement
    assert measurement.degradation is degradation
    torch.manual_seed(0)
    for step in range(2):
        assert torch.isfinite(torch.as_tensor(method.train_step(step, data)["g_loss"]))
    assert calls and all(fresh for _, fresh in calls)  # consistency and measurements: fresh global draws
    calls.clear()
    sr = torch.rand(4, 3, 24, 24)
    params = measurement.sample(4)
    assert bool((params.factors == 4.0).all())
    first, second = measurement.measure(sr, params), measurement.measure(sr, params)
    assert calls == [(4, True), (4, True)]
    assert not torch.equal(first, second)  # a new draw of blur, noise and JPEG each time, never a stored one
