"""pairwise's critic on every x2 step (``critic_steps``) and the few-HR methods at equal capacity (``match_params``)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from srbench_builtins.fewhr.capacity import matched_features, parameter_count
from test_cli import assert_one_line_error, run_cli
from test_fewhr_pairwise import make_data, make_term

from srbench.api import run
from srbench.config import RunConfig
from srbench.plugin_manager import PLUGINS_ENV


def _judged_sizes(term, generator, lr, data, monkeypatch) -> tuple[list[int], list[int]]:
    """Sides of the first images of the pairs the critic judged in one critic step and one generator loss."""
    sizes: list[int] = []
    real_judge = term.judge
    monkeypatch.setattr(term, "judge", lambda a, b: sizes.append(int(a.shape[-1])) or real_judge(a, b))
    term.critic_step(generator(lr).detach(), lr, data, 0)
    critic_sizes = list(sizes)
    sizes.clear()
    term.generator_loss(generator(lr), lr, data, 0)
    return critic_sizes, list(sizes)


def test_the_critic_judges_the_x2_step_only_with_critic_steps_all(monkeypatch):
    judged = {}
    for critic_steps in ("last", "all"):
        term, data, generator = make_term(4, 0.0, critic_steps=critic_steps, hr_pairs=False)
        lr = data.all_lr(4)
        judged[critic_steps] = _judged_sizes(term, generator, lr, data, monkeypatch)
    side = int(lr.shape[-1])
    assert judged["last"][1] == [4 * side] and judged["all"][1] == [4 * side, 2 * side]  # G's loss
    assert len(judged["all"][0]) == len(judged["last"][0]) + 1  # one more self-pair batch for the critic
    # The x2 outputs judged are the generator's own first step.
    assert torch.equal(term.intermediate_outputs(lr, with_graph=False)[0], generator.step(lr, 0))


def test_critic_steps_all_moves_the_first_step_differently():
    grads = {}
    for critic_steps in ("last", "all"):
        torch.manual_seed(0)
        term, data, generator = make_term(4, 0.0, critic_steps=critic_steps, hr_pairs=False, shift=False)
        lr = data.all_lr(4)
        generator.zero_grad()
        term.generator_loss(generator(lr), lr, data, 0).backward()
        grads[critic_steps] = torch.cat([p.grad.flatten() for p in generator.parameters() if p.grad is not None])
    assert not torch.allclose(grads["last"], grads["all"])


def _cli(capsys, tmp_path, *settings: str, methods: str = "pairwise"):
    out = tmp_path / "out"
    argv = ["run", "--profile", "smoke", "--methods", f"bicubic,{methods}", "--hr-fraction", "0.3", "--out", str(out)]
    for setting in settings:
        argv += ["--set", setting]
    code, _, err = run_cli(capsys, *argv)
    return code, err, out


@pytest.mark.parametrize("methods, settings", [
    ("pairwise", ("pairwise.generator=srresnet_resize", "pairwise.critic_steps=all")),
    ("fewhr", ("fewhr.term=pairwise", "fewhr.term_options=critic_steps=all")),
])
def test_critic_steps_all_on_a_generator_without_x2_steps_is_refused_before_training(capsys, tmp_path, methods,
                                                                                    settings):
    code, err, out = _cli(capsys, tmp_path, *settings, methods=methods)
    assert_one_line_error(code, err, "critic_steps=all", "SRResNet has no x2 steps")
    assert not out.exists()


def test_match_params_picks_the_nearest_width():
    _, context, registries = make_data(4, 0.3)
    features, count, target = matched_features(context, "encdec_resize", "srresnet_resize")
    size = context.profile.network_size
    assert target == parameter_count(registries.generators.create("srresnet_resize", 4, size=size))
    assert count == parameter_count(registries.generators.create("encdec_resize", 4, size=size, features=features))
    for neighbour in (features - 1, features + 1):
        other = parameter_count(registries.generators.create("encdec_resize", 4, size=size, features=neighbour))
        assert abs(other - target) >= abs(count - target)
    assert abs(count - target) / target < 0.1


def test_pairwise_runs_at_srresnets_capacity_by_default_and_reports_its_params(tmp_path):
    config = RunConfig(methods=["pairwise", "ambient"], dataset="synthetic:6x32", profile="smoke", scale=4,
                       hr_fraction=[0.3], out=str(tmp_path / "matched"), metrics=["psnr_y"],
                       profile_overrides={"iterations": 2, "patch_size": 24, "patches_per_image": 2},
                       method_options={"ambient": {"match_params": "srresnet_resize"}})
    results = {r["spec"]["method"]: r for r in run(config, progress=False).results}
    assert all(r["status"] == "ok" for r in results.values()), [r["reason"] for r in results.values()]
    pairwise, ambient = results["pairwise"], results["ambient"]
    assert not any("match_params" in n for n in ambient["notes"])  # already that network: nothing to match
    assert abs(pairwise["cost"]["params"] - ambient["cost"]["params"]) / ambient["cost"]["params"] < 0.1
    assert any(f"has {pairwise['cost']['params']:,} parameters" in n for n in pairwise["notes"])
    # match_params= (empty) keeps encdec_resize's own preset: over 4 times srresnet_resize's count
    own = dataclasses.replace(config, methods=["pairwise"], out=str(tmp_path / "own"),
                              method_options={"pairwise": {"match_params": ""}})
    (unmatched,) = run(own, progress=False).results
    assert unmatched["status"] == "ok" and unmatched["cost"]["params"] > 4 * ambient["cost"]["params"]
    assert not any("match_params" in n for n in unmatched["notes"])


def test_match_params_without_a_features_option_is_refused_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(PLUGINS_ENV, "plugins.featureless_generator")
    code, err, out = _cli(capsys, tmp_path, "pairwise.generator=featureless", "pairwise.match_params=srresnet_resize")
    assert_one_line_error(code, err, "match_params=srresnet_resize", "'featureless' does not change")
    assert not out.exists()
    code, err, out = _cli(capsys, tmp_path, "pairwise.match_params=no_such_net")
    assert_one_line_error(code, err, "unknown generator 'no_such_net'")


def test_a_matched_generator_exports_at_its_matched_width(tmp_path):
    """export_spec is the spec the method built, so the exported network has the trial's parameter count."""
    import json

    from srbench.api import export, load_generator

    config = RunConfig(methods=["ambient"], dataset="synthetic:6x32", profile="smoke", scale=4, hr_fraction=[0.3],
                       out=str(tmp_path), metrics=["psnr_y"],
                       profile_overrides={"iterations": 2, "patch_size": 24, "patches_per_image": 2},
                       method_options={"ambient": {"match_params": "encdec_resize"}})
    (result,) = run(config, progress=False).results
    assert result["status"] == "ok" and any("match_params=encdec_resize" in n for n in result["notes"])
    folder = export(result["trial_id"], out=tmp_path)
    assert "features" in json.loads((folder / "generator.json").read_text())["options"]
    assert parameter_count(load_generator(folder)) == result["cost"]["params"]
