"""``fewhr`` with ADDA (Tzeng et al. 2017): source pre-training, then a frozen source encoder and an inverted-label
GAN loss, in the one training loop; and the refusal of domain adaptation on a generator without features."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from srbench_builtins.fewhr.domain_adaptation import (
    DomainClassifier,
    adda_classifier_loss,
    adda_encoder_loss,
)
from test_cli import assert_one_line_error, run_cli
from test_fewhr_semisupervised import make_data, make_method, setup_quietly

import srbench.runner.runner as runner_module
from srbench.api import run
from srbench.config import RunConfig
from srbench.plugin_manager import PLUGINS_ENV

ADDA = {"term": "none", "domain_adaptation": True, "domain_method": "adda", "domain_weight": 1.0}


def _equal(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_phases_switch_at_adda_fraction_and_the_source_encoder_is_the_generator_of_that_step():
    data, context, _ = make_data(4, 0.3)
    context.profile = context.profile.with_overrides(iterations=8)
    method = make_method(context, adda_fraction=0.5, **ADDA)
    setup_quietly(method, data)
    assert "adda_source_encoder" in method.modules() and set(method.inference_modules()) == {"generator"}
    for step in range(4):  # source pre-training: steps 0-3
        losses = method.train_step(step, data)
        assert not any(k.startswith("domain") for k in losses)
    assert not _equal(method.source_encoder.state_dict(), method.generator.state_dict())
    at_boundary = copy.deepcopy(method.generator.state_dict())
    losses = method.train_step(4, data)
    assert {"domain_d", "domain_adversarial", "domain_accuracy"} <= set(losses)
    assert _equal(method.source_encoder.state_dict(), at_boundary)  # snapshot taken before step 4's update
    assert all(not p.requires_grad for p in method.source_encoder.parameters())
    method.train_step(5, data)
    assert _equal(method.source_encoder.state_dict(), at_boundary)  # frozen from then on


def test_adda_losses_move_and_train_the_classifier_and_the_encoder_only():
    data, context, _ = make_data(4, 0.3)
    context.profile = context.profile.with_overrides(iterations=10)
    method = make_method(context, adda_fraction=0.2, domain_lr=1e-2, **ADDA)
    setup_quietly(method, data)
    classifier_before = copy.deepcopy(method.domain_classifier.state_dict())
    history = [method.train_step(step, data) for step in range(10)]
    d_losses = [float(h["domain_d"]) for h in history[2:]]
    g_losses = [float(h["domain_adversarial"]) for h in history[2:]]
    assert len(set(d_losses)) > 1 and len(set(g_losses)) > 1
    assert all(torch.isfinite(torch.tensor(d_losses + g_losses)))
    assert not _equal(method.domain_classifier.state_dict(), classifier_before)
    # Each loss reaches only its own side.
    classifier = DomainClassifier(8)
    source = torch.randn(4, 8, 3, 3)
    target = torch.randn(4, 8, 3, 3, requires_grad=True)
    loss, _ = adda_classifier_loss(classifier, source, target)
    loss.backward()
    assert target.grad is None and all(p.grad is not None for p in classifier.parameters())
    classifier.zero_grad(set_to_none=True)
    adda_encoder_loss(classifier, target).backward()
    assert target.grad is not None and all(p.grad is None for p in classifier.parameters())


#: Tiny budget through the runner: 6 steps, the ADDA boundary at step 3, checkpoints every 2.
TINY = {"iterations": 6, "batch_size": 2, "patch_size": 24, "patches_per_image": 2, "eval_max_side": 32,
        "checkpoint_every": 2}


def _config(out) -> RunConfig:
    return RunConfig(methods=["fewhr"], dataset="synthetic:6x32", profile="smoke", scale=4, hr_fraction=[0.3],
                     out=str(out), metrics=["psnr_y"], profile_overrides=dict(TINY),
                     method_options={"fewhr": {k: str(v) for k, v in ADDA.items()}})


@pytest.mark.parametrize("stop_after", [2, 4])  # before and after the phase boundary (step 3)
def test_adda_resumes_across_the_phase_boundary_to_identical_results(tmp_path, monkeypatch, stop_after):
    straight = run(_config(tmp_path / "a"), progress=False)
    a = straight.results[0]
    assert a["status"] == "ok", a["reason"]
    assert "domain_d" in a["training"]["last_losses"]
    real_trainer = runner_module.Trainer
    monkeypatch.setattr(runner_module, "Trainer", functools.partial(real_trainer, stop_after=stop_after))
    assert run(_config(tmp_path / "b"), progress=False).interrupted
    monkeypatch.setattr(runner_module, "Trainer", real_trainer)
    b = run(_config(tmp_path / "b"), progress=False).results[0]
    assert b["status"] == "ok" and b["training"]["resumed_from"] == stop_after
    assert a["metrics"] == b["metrics"]
    assert a["training"]["last_losses"] == b["training"]["last_losses"]


@pytest.mark.parametrize("method", ["dann", "adda"])
def test_domain_adaptation_on_a_generator_without_features_is_refused_before_training(capsys, tmp_path,
                                                                                      monkeypatch, method):
    monkeypatch.setenv(PLUGINS_ENV, "plugins.featureless_generator")
    out = tmp_path / "out"
    argv = ["run", "--profile", "smoke", "--methods", "bicubic,fewhr", "--hr-fraction", "0.3", "--out", str(out),
            "--set", "fewhr.generator=featureless", "--set", "fewhr.domain_adaptation=true",
            "--set", f"fewhr.domain_method={method}"]
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, "no default feature module for generator Sequential")
    assert not out.exists()  # not even the training-free bicubic trial ran
    code, _, err = run_cli(capsys, *argv[:-4], "--set", "fewhr.domain_adaptation=true",
                           "--set", "fewhr.feature_module=no.such.module")
    assert_one_line_error(code, err, "invalid feature_module 'no.such.module'")
    assert not out.exists()
