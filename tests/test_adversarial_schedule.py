"""Every GAN method through every trick of the shared adversarial schedule (methods/adversarial_schedule.py).

The GAN methods are found, not listed: every registered method whose ``Options`` include the shared
:class:`ScheduleOptions`. Each test turns one trick on (and, where it says so, off) on tiny synthetic data and
checks what the trick does: critic updates counted, generator frozen, adversarial weight on its ramp, replay
buffers filled, labels smoothed, learning rates decayed.
"""

from __future__ import annotations

import functools
import json
from dataclasses import fields
from typing import Any

import pytest
import torch

import srbench.runner.runner as runner_module
from srbench.api import run
from srbench.config import RunConfig
from srbench.data.pipeline import build_training_data
from srbench.errors import UsageError
from srbench.interfaces import MethodContext
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile
from srbench_builtins.methods.adversarial_schedule import CriticOptions, ScheduleOptions
from srbench_builtins.methods.gan_common import Adversary
from srbench_builtins.methods.replay import ReplayBuffer

REGISTRIES = load_plugins().registries
GAN_METHODS = sorted(name for name in REGISTRIES.methods.names()
                     if issubclass(REGISTRIES.methods.get(name).factory.Options, ScheduleOptions))
#: Optimizers of the generator side; every other optimizer of a GAN method belongs to a critic.
GENERATOR_OPTIMIZERS = {"g", "g_x2", "domain"}
CRITIC_FIELDS = {f.name for f in fields(CriticOptions)}


def test_every_gan_method_is_found():
    assert {"srgan", "ambient", "pairwise", "unsupervised", "fewhr", "cyclesr"} <= set(GAN_METHODS)


def routed(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` for method ``name``: in ``fewhr`` the critic's half of the block goes to its term."""
    own = {f.name for f in fields(REGISTRIES.methods.get(name).factory.Options)}
    options = dict(options)
    critic = {k: options.pop(k) for k in list(options) if k in CRITIC_FIELDS and k not in own}
    if critic:
        options["term_options"] = tuple(f"{k}={v}" for k, v in critic.items())
    return options


def make(name: str, iterations: int = 4, **options: Any):
    """Method ``name`` set up on tiny synthetic data (half the HR paired, an HR pool from another set)."""
    cls = REGISTRIES.methods.get(name).factory
    options = routed(name, options)
    profile = get_profile("smoke").with_overrides(patch_size=24, patches_per_image=2, batch_size=4,
                                                  iterations=iterations)
    degradation = REGISTRIES.degradations.create("bicubic", 4)
    images = REGISTRIES.datasets.create("synthetic", "5x32").images("train")
    pool = REGISTRIES.datasets.create("synthetic", "6x40").images("train")
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=0.5, seed=0, profile=profile,
                                  hr_source=pool)
    context = MethodContext(scale=4, degradation=degradation, device=torch.device("cpu"), profile=profile,
                            registries=REGISTRIES, seed=0)
    method = cls(parse_options(cls.Options, options, name), context)
    method.setup(data)
    return method, data


def parts(method: Any, kind: type) -> list[Any]:
    """Instances of ``kind`` held by the method or its adversarial term."""
    holders = [method] + ([method.term] if getattr(method, "term", None) is not None else [])
    return [v for h in holders for v in vars(h).values() if isinstance(v, kind)]


def count_critic_updates(method: Any) -> dict[str, int]:
    """Wrap every critic optimizer's ``step`` to count its calls."""
    counts: dict[str, int] = {}
    for name, optimizer in method.optimizers().items():
        if name in GENERATOR_OPTIMIZERS:
            continue
        counts[name] = 0

        def counted(*args: Any, _step=optimizer.step, _name=name, **kwargs: Any) -> Any:
            counts[_name] += 1
            return _step(*args, **kwargs)

        optimizer.step = counted  # type: ignore[method-assign]
    assert counts, "a GAN method without a critic optimizer"
    return counts


def generator_state(method: Any) -> dict[str, torch.Tensor]:
    critics = {id(m) for name, m in method.modules().items()
               if "discriminator" in name or name.startswith("term.")}
    return {f"{n}.{k}": v.clone() for n, m in method.modules().items() if id(m) not in critics
            for k, v in m.state_dict().items()}


NO_PHASES = {"pretrain_fraction": 0.0, "d_only_fraction": 0.0}


@pytest.mark.parametrize("name", GAN_METHODS)
def test_n_critic_sets_the_critic_updates_per_generator_update(name):
    for n_critic in (1, 2):
        method, data = make(name, n_critic=n_critic, **NO_PHASES)
        counts = count_critic_updates(method)
        method.train_step(0, data)
        assert set(counts.values()) == {n_critic}, counts


@pytest.mark.parametrize("name", GAN_METHODS)
def test_critic_warmup_trains_the_critic_during_the_pretraining(name):
    for warmup in (True, False):
        method, data = make(name, pretrain_fraction=1.0, d_only_fraction=0.0, critic_warmup=warmup)
        counts = count_critic_updates(method)
        before = generator_state(method)
        losses = method.train_step(0, data)
        assert "adversarial" not in losses and "adversarial_weight" not in losses
        assert set(counts.values()) == ({1} if warmup else {0}), counts
        assert any(not torch.equal(v, generator_state(method)[k]) for k, v in before.items())  # G trains


@pytest.mark.parametrize("name", GAN_METHODS)
def test_d_only_phase_trains_the_critic_alone(name):
    method, data = make(name, pretrain_fraction=0.0, d_only_fraction=1.0, critic_warmup=False)
    counts = count_critic_updates(method)
    before = generator_state(method)
    losses = method.train_step(0, data)
    after = generator_state(method)
    assert all(torch.equal(v, after[k]) for k, v in before.items())  # G frozen (weights and BN statistics)
    assert set(counts.values()) == {1}, counts
    assert "adversarial" not in losses and losses  # the critic's losses only


@pytest.mark.parametrize("name", GAN_METHODS)
def test_pretrain_fraction_keeps_the_adversarial_term_out(name):
    method, data = make(name, iterations=4, pretrain_fraction=0.5, d_only_fraction=0.0, critic_warmup=False)
    counts = count_critic_updates(method)
    steps = [method.train_step(step, data) for step in range(4)]
    assert [("adversarial" in losses) for losses in steps] == [False, False, True, True]
    assert steps[2]["adversarial_weight"] == 0.0  # the ramp starts at the joint phase
    assert set(counts.values()) == {2}, counts  # the critic trained at steps 2 and 3 only


@pytest.mark.parametrize("name", GAN_METHODS)
def test_adversarial_weight_rises_on_its_ramp(name):
    method, data = make(name, iterations=4, adversarial_weight=0.01, ramp_fraction=0.5, **NO_PHASES)
    weights = [method.train_step(step, data)["adversarial_weight"] for step in range(4)]
    assert weights == pytest.approx([0.0, 0.005, 0.01, 0.01])


@pytest.mark.parametrize("name", GAN_METHODS)
def test_replay_buffers_fill_and_are_checkpointed(name):
    for size in (8, 0):
        method, data = make(name, replay_size=size, replay_fraction=0.5, **NO_PHASES)
        buffers = parts(method, ReplayBuffer)
        assert buffers and all(b.capacity == size for b in buffers)
        for step in range(2):
            method.train_step(step, data)
        assert all((len(b) > 0) == (size > 0) for b in buffers)
        if size:
            state = method.extra_state()
            fresh, _ = make(name, replay_size=size, replay_fraction=0.5, **NO_PHASES)
            fresh.load_extra_state(state)
            for old, new in zip(buffers, parts(fresh, ReplayBuffer)):
                assert len(new) == len(old) and torch.equal(new.images[: len(new)], old.images[: len(old)])


@pytest.mark.parametrize("name", GAN_METHODS)
def test_real_label_reaches_every_labelled_objective_or_is_noted(name):
    method, _ = make(name, real_label=0.8)
    adversaries = parts(method, Adversary)
    if adversaries:
        assert all(a.loss.options.real_label == 0.8 for a in adversaries)
    else:  # the pairwise critic: symmetric pair targets, no real label
        assert any("real_label 0.8 ignored" in note for note in method.notes())
    plain, _ = make(name, real_label=1.0)
    assert all(a.loss.options.real_label == 1.0 for a in parts(plain, Adversary))
    assert not any("real_label" in note for note in plain.notes())


@pytest.mark.parametrize("name", GAN_METHODS)
def test_lr_decay_scales_every_optimizer(name):
    method, data = make(name, iterations=4, lr_decay="step", **NO_PHASES)
    for step in range(3):  # step decay: x0.1 from half the budget (step 2)
        method.train_step(step, data)
    for optimizer in method.optimizers().values():
        for group in optimizer.param_groups:
            assert group["lr"] == pytest.approx(0.1 * group["base_lr"])


@pytest.mark.parametrize("name", GAN_METHODS)
def test_bad_schedule_values_are_one_line_usage_errors(name):
    cls = REGISTRIES.methods.get(name).factory
    for values in ({"pretrain_fraction": "0.7", "d_only_fraction": "0.5"}, {"ramp_fraction": "1.5"},
                   {"lr_decay": "linear"}):
        with pytest.raises(UsageError) as info:
            parse_options(cls.Options, values, f"options of method {name!r}")
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", GAN_METHODS)
def test_every_trick_at_once_resumes_to_identical_results(tmp_path, monkeypatch, name):
    # 6 steps: pretrain 1 (critic warm-up), D-only 1, joint 4; the checkpoint at step 3 holds filled replay buffers.
    tricks = routed(name, {"pretrain_fraction": 0.17, "critic_warmup": True, "d_only_fraction": 0.17, "n_critic": 2,
                           "replay_size": 8, "lr_decay": "step", "ramp_shape": "cosine"})
    cfg = functools.partial(RunConfig, methods=[name], dataset="synthetic:5x32", profile="smoke", scale=4,
                            hr_fraction=[0.5], hr_source="synthetic:6x40", metrics=["psnr_y"],
                            method_options={name: tricks},
                            profile_overrides={"iterations": 6, "batch_size": 4, "patch_size": 24,
                                               "patches_per_image": 2, "eval_max_side": 32, "checkpoint_every": 3})
    straight = run(cfg(out=str(tmp_path / "a")), progress=False)
    assert straight.results[0]["status"] == "ok", straight.results[0]["reason"]

    real_trainer = runner_module.Trainer
    monkeypatch.setattr(runner_module, "Trainer", functools.partial(real_trainer, stop_after=3))
    assert run(cfg(out=str(tmp_path / "b")), progress=False).interrupted
    saved = torch.load(next((tmp_path / "b" / "trials").glob(f"{name}-*/checkpoint.pt")), weights_only=True)
    sizes = [v["size"] for v in _replay_states(saved["method"])]
    assert sizes and all(size > 0 for size in sizes)
    monkeypatch.setattr(runner_module, "Trainer", real_trainer)
    resumed = run(cfg(out=str(tmp_path / "b")), progress=False)

    a, b = straight.results[0], resumed.results[0]
    assert b["status"] == "ok" and b["training"]["resumed_from"] == 3
    assert a["metrics"] == b["metrics"]
    assert _losses(tmp_path / "a", name) == _losses(tmp_path / "b", name)  # every step, not only the last


def _losses(out: Any, name: str) -> list[dict[str, Any]]:
    path = next((out / "trials").glob(f"{name}-*/losses.jsonl"))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _replay_states(state: Any) -> list[dict[str, Any]]:
    """Every saved replay buffer in a method's checkpointed extra state."""
    if isinstance(state, dict):
        if {"capacity", "size", "images"} <= set(state):
            return [state]
        return [found for value in state.values() for found in _replay_states(value)]
    return []
