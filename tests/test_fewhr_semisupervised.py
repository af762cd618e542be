"""``fewhr``: supervised on the paired subset, consistency + a chosen term on the LR-only subset."""

from __future__ import annotations

import copy
import dataclasses
import warnings

import pytest
import torch

import srbench_builtins.fewhr.fewhr as fewhr_module
from srbench.api import run
from srbench.config import RunConfig
from srbench.data.pipeline import build_training_data
from srbench.errors import IncompatibleError, UsageError
from srbench.interfaces import MethodContext
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile
from srbench_builtins.fewhr.domain_adaptation import FeatureHook, ganin_coefficient, reverse_gradient
from srbench_builtins.fewhr.fewhr import FewHRMethod, available_terms, parse_term_options

PROFILE = get_profile("smoke").with_overrides(patch_size=16, patches_per_image=2, batch_size=4, iterations=4)


def make_data(scale: int, hr_fraction: float, count: int = 8, hr_source: str = "paired"):
    registries = load_plugins().registries
    degradation = registries.degradations.create("bicubic", scale)
    images = registries.datasets.create("synthetic", f"{count}x32").images("train")
    data, manifest = build_training_data(images, degradation=degradation, hr_fraction=hr_fraction, seed=0,
                                         profile=PROFILE, hr_source=hr_source)
    context = MethodContext(scale=scale, degradation=degradation, device=torch.device("cpu"), profile=PROFILE,
                            registries=registries, seed=0)
    return data, context, manifest


def make_method(context, **options) -> FewHRMethod:
    return FewHRMethod(parse_options(FewHROptions, options, "fewhr"), context)


FewHROptions = FewHRMethod.Options


def setup_quietly(method, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        method.setup(data)


# -- training with every term -------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("term", available_terms())
def test_trains_at_x2_and_x4_with_every_available_term(scale, term):
    assert "pairwise" in available_terms() and "none" in available_terms()
    data, context, _ = make_data(scale, 0.3)
    method = make_method(context, term=term, pretrain_fraction=0.25)
    setup_quietly(method, data)
    before = copy.deepcopy(method.generator.state_dict())
    losses = [method.train_step(step, data) for step in range(4)]
    assert {"supervised", "consistency", "g_loss"} <= set(losses[-1])
    if term != "none" and method.term is not None and method.term.modules():
        assert "adversarial" not in losses[0] and "adversarial" in losses[-1]  # after the 1-step pre-training
        assert any(k.startswith(("critic", "d_")) for k in losses[0])  # its critic warms up from step 0
    assert all(torch.isfinite(torch.as_tensor(v)).all() for step in losses for v in step.values())
    assert any(not torch.equal(before[k], v) for k, v in method.generator.state_dict().items())
    method.generator.eval()
    with torch.no_grad():
        assert method.super_resolve(torch.rand(1, 3, 5, 6)).shape == (1, 3, 5 * scale, 6 * scale)


def test_term_options_reach_the_term_and_bad_ones_are_refused():
    data, context, _ = make_data(2, 0.3)
    method = make_method(context, term="pairwise", term_options=("critic_lr=0.002", "self_pairs=false"))
    setup_quietly(method, data)
    assert method.term.options.critic_lr == 0.002 and method.term.options.self_pairs is False
    assert "term.critic" in method.modules() and "term.critic" in method.optimizers()
    parsed = parse_options(FewHROptions, {"term_options": "critic_lr=0.002,min_factor=1.5"}, "fewhr")
    assert parse_term_options("pairwise", parsed.term_options).min_factor == 1.5
    with pytest.raises(UsageError, match="unknown option 'no_such'"):
        parse_options(FewHROptions, {"term_options": "no_such=1"}, "fewhr")
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_options(FewHROptions, {"term_options": "critic_lr"}, "fewhr")
    with pytest.raises(UsageError, match="unknown term 'nope'; accepted: .*pairwise"):
        parse_options(FewHROptions, {"term": "nope"}, "fewhr")


# -- the access contract ------------------------------------------------------------------------
def test_unsupervised_losses_consume_lr_only_batches(monkeypatch):
    data, context, _ = make_data(4, 0.3)
    drawn_lr_only: list[torch.Tensor] = []
    drawn_paired: list[torch.Tensor] = []
    real_lr_only, real_paired = data.lr_only.batch, data.paired.batch
    monkeypatch.setattr(data.lr_only, "batch", lambda *a, **k: drawn_lr_only.append(real_lr_only(*a, **k))
                        or drawn_lr_only[-1])
    monkeypatch.setattr(data.paired, "batch", lambda *a, **k: drawn_paired.append(real_paired(*a, **k))
                        or drawn_paired[-1])
    monkeypatch.setattr(data, "all_lr", lambda *a, **k: pytest.fail("fewhr must not mix subsets"))
    consistency_inputs: list[torch.Tensor] = []
    real_consistency = fewhr_module.consistency_loss
    monkeypatch.setattr(fewhr_module, "consistency_loss",
                        lambda sr, lr, *a, **k: consistency_inputs.append(lr) or real_consistency(sr, lr, *a, **k))
    method = make_method(context, term="pairwise", pretrain_fraction=0.0)
    setup_quietly(method, data)
    critic_inputs: list[torch.Tensor] = []
    real_critic_step = method.term.critic_step
    method.term.critic_step = lambda sr, lr, *a: critic_inputs.append(lr) or real_critic_step(sr, lr, *a)
    for step in range(2):
        method.train_step(step, data)
    assert len(drawn_lr_only) == 2 and len(consistency_inputs) == 2 and len(critic_inputs) == 2
    assert all(c is d for c, d in zip(consistency_inputs, drawn_lr_only))  # the very tensors lr_only returned
    assert all(c is d for c, d in zip(critic_inputs, drawn_lr_only))
    assert all(isinstance(p, tuple) for p in drawn_paired)  # paired draws are (lr, hr) for the supervised loss
    assert "hr" not in data.lr_only.tensors and "hr" not in data.lr_only.images


def test_hr_fraction_changes_only_the_paired_part():
    draws = {}
    for fraction in (0.25, 0.5):
        data, context, manifest = make_data(4, fraction, count=12)
        calls = {"paired": 0, "lr_only": 0}
        for name in calls:
            subset = getattr(data, name)
            real = subset.batch

            def counted(*a, _real=real, _name=name, **k):
                calls[_name] += 1
                return _real(*a, **k)
            subset.batch = counted
        method = make_method(context, term="none")
        setup_quietly(method, data)
        method.train_step(0, data)
        step_calls = dict(calls)
        draws[fraction] = (set(manifest.paired_ids), set(manifest.lr_only_ids), step_calls, method.unpaired_batch(data).shape)
    (p1, u1, c1, s1), (p2, u2, c2, s2) = draws[0.25], draws[0.5]
    assert p1 | u1 == p2 | u2  # the same training images, split differently
    assert len(set(p2)) > len(set(p1)) and not (p1 & u1) and not (p2 & u2)
    assert c1 == c2 == {"paired": 1, "lr_only": 1}
    assert s1 == s2  # the LR-only batch is the same size whatever the fraction


def test_unpaired_batch_size_sets_the_lr_only_images_a_step_and_the_standard_profile_halves_them(monkeypatch):
    data, context, _ = make_data(4, 0.3, count=12)
    sizes: list[tuple[int, int]] = []
    real_lr_only, real_paired = data.lr_only.batch, data.paired.batch
    monkeypatch.setattr(data.lr_only, "batch", lambda n, *a, **k: sizes.append(("lr_only", n)) or real_lr_only(n, *a, **k))
    monkeypatch.setattr(data.paired, "batch", lambda n, *a, **k: sizes.append(("paired", n)) or real_paired(n, *a, **k))
    for unpaired, expected in ((0, PROFILE.batch_size), (3, 3)):
        sizes.clear()
        method = make_method(context, term="pairwise", pretrain_fraction=0.0, unpaired_batch_size=unpaired)
        setup_quietly(method, data)
        method.train_step(0, data)
        assert ("paired", PROFILE.batch_size) in sizes  # the supervised half keeps the whole batch
        assert [n for kind, n in sizes if kind == "lr_only"] == [expected]
    # 8 LR-only images beside 16 paired ones: the standard profile's cheaper step (docs/methods.md)
    assert FewHRMethod.defaults_under("standard")["unpaired_batch_size"] * 2 == get_profile("standard").batch_size
    with pytest.raises(UsageError, match="invalid unpaired_batch_size -1"):
        parse_options(FewHROptions, {"unpaired_batch_size": "-1"}, "fewhr")


def test_needs_paired_images():
    data, context, _ = make_data(2, 0.0)
    with pytest.raises(IncompatibleError, match="needs paired HR"):
        make_method(context).setup(data)


def test_runner_marks_hr_fraction_zero_incompatible(tmp_path):
    overrides = {"iterations": 2, "batch_size": 2, "patch_size": 16, "patches_per_image": 1, "eval_max_side": 16,
                 "checkpoint_every": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = run(RunConfig(methods=["fewhr"], dataset="synthetic:4x32", profile="smoke", scale=2,
                                hr_fraction=[0.0, 0.5], out=str(tmp_path), metrics=["psnr_y"],
                                profile_overrides=overrides), progress=False)
    status = {r["spec"]["hr_fraction"]: r for r in summary.results}
    assert status[0.0]["status"] == "incompatible" and "paired" in status[0.0]["reason"]
    assert status[0.5]["status"] == "ok", status[0.5]["reason"]
    assert status[0.5]["spec"]["method_options"]["term"] == "pairwise"


def test_a_term_that_needs_an_hr_pool_is_incompatible_without_one():
    if "unsupervised" not in available_terms():
        pytest.skip("the unsupervised term is not registered")
    data, context, _ = make_data(2, 0.3, hr_source="none")
    with pytest.raises(IncompatibleError, match="HR pool"):
        make_method(context, term="unsupervised").setup(data)


def test_at_hr_fraction_one_the_unpaired_part_uses_paired_lr():
    data, context, _ = make_data(2, 1.0)
    method = make_method(context, term="none", domain_adaptation=True)
    setup_quietly(method, data)
    assert method.unpaired_source == "paired" and method.domain_classifier is None
    notes = method.notes()
    assert any("hr_fraction 1" in n for n in notes) and any("domain_adaptation" in n for n in notes)
    assert method.unpaired_batch(data).shape[0] == PROFILE.batch_size


# -- domain adaptation --------------------------------------------------------------------------
def test_gradient_reversal_and_schedule():
    x = torch.ones(3, requires_grad=True)
    (reverse_gradient(x, 0.5) * 2).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -1.0))
    assert ganin_coefficient(0.0) == 0.0 and 0.99 < ganin_coefficient(1.0) <= 1.0
    assert ganin_coefficient(0.1) < ganin_coefficient(0.3)


def test_feature_hook_records_only_while_armed_and_only_the_first_call():
    registries = load_plugins().registries
    generator = registries.generators.create("encdec", 4, size="small")  # runs its shared block twice
    hook = FeatureHook(generator, "blocks.0.encoder.1")
    generator(torch.rand(1, 3, 8, 8))
    with pytest.raises(RuntimeError, match="did not run"):
        hook.features
    with hook.capture():
        generator(torch.rand(1, 3, 8, 8))
    assert hook.features.shape[-1] == 2  # the first (8-px input) step, not the 16-px second one
    with pytest.raises(UsageError, match="no such submodule"):
        FeatureHook(generator, "nope")


def _one_step(method: FewHRMethod, data, rng, step: int) -> tuple[dict, dict[str, torch.Tensor]]:
    """Losses and G's gradients of one train_step from the batch sampler state ``rng`` (no G update)."""
    grads: dict[str, torch.Tensor] = {}

    def capture() -> None:
        grads.update({n: p.grad.clone() for n, p in method.generator.named_parameters() if p.grad is not None})
    method.optimizer_g.step = capture  # type: ignore[method-assign]
    data.load_rng_state(rng)
    return method.train_step(step, data), grads


def test_domain_adaptation_loss_is_non_zero_and_flows_into_the_generator():
    data, context, _ = make_data(4, 0.3)
    rng = data.rng_state()
    method = make_method(context, term="none", domain_adaptation=True, domain_weight=1.0)
    setup_quietly(method, data)
    assert method.hook is not None and method.hook.name == "body_tail"
    plain = copy.deepcopy(method)  # same weights; only the domain loss's weight differs
    plain.options = dataclasses.replace(method.options, domain_weight=0.0)
    step = 2  # the reversal coefficient is 0 at step 0 (Ganin's schedule)
    losses, with_da = _one_step(method, data, rng, step)
    _, without = _one_step(plain, data, rng, step)
    assert float(losses["domain"]) > 0 and losses["domain_coefficient"] > 0
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in method.domain_classifier.parameters())
    upstream = [n for n in with_da if n.startswith(("head.", "body."))]  # before the hooked body_tail
    downstream = [n for n in with_da if n.startswith(("upsamplers.", "tail."))]
    assert upstream and downstream
    assert any(not torch.allclose(with_da[n], without[n], atol=1e-7) for n in upstream)
    assert all(torch.allclose(with_da[n], without[n], atol=1e-7) for n in downstream)
