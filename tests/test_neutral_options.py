"""An option added to a method with finished trials: at its ``neutral`` value it stays out of the trial id,
so those trials are reused, rows are not split, and the record still names its value."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from test_cli import run_cli

from srbench.options import neutral_option_names, option
from srbench.result_record import read_records
from srbench.runner.board_rows import method_labels, method_variants
from srbench.runner.eval_checkpoint import _config_from_spec, load_trial_method
from srbench.runner.runner import Runner
from srbench.plugin_manager import load_plugins
from plugins.toy_method import ToyMethod, ToyOptions

TOY = ("--plugin", "plugins.toy_method", "--methods", "toy", "--profile", "smoke", "--dataset", "synthetic:4x32",
       "--hr-fraction", "0.5", "--metrics", "psnr_y", "--set", "profile.patch_size=24", "--set",
       "profile.iterations=2", "--no-progress")


def options_with_width(default: int) -> type:
    """ToyOptions plus an option added later whose neutral value 1 trains as before (the toy ignores it)."""
    return dataclasses.make_dataclass(
        "ToyOptionsWithWidth", [("width", int, option(default, "added later", neutral=1))], bases=(ToyOptions,),
        frozen=True)


def test_neutral_option_names():
    opts = options_with_width(1)()
    assert neutral_option_names(opts) == ("width",)
    assert neutral_option_names(dataclasses.replace(opts, width=2)) == ()
    assert neutral_option_names(ToyOptions()) == ()  # no option declares a neutral value


def test_an_option_added_at_its_neutral_value_keeps_the_finished_trials(capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", *TOY, "--out", str(out))
    assert code == 0, err
    (before,) = read_records(out)
    assert "neutral_options" not in before.spec  # a spec without one is written as before

    monkeypatch.setattr(ToyMethod, "Options", options_with_width(1))
    code, stdout, err = run_cli(capsys, "run", *TOY, "--out", str(out), "--dry-run")
    assert code == 0, err
    assert f"reuse   {before.trial_id}" in stdout  # the finished trial is not trained again

    # a new folder: the same id, and the record names the option's value and that it is neutral
    fresh = tmp_path / "fresh"
    code, _, err = run_cli(capsys, "run", *TOY, "--out", str(fresh))
    assert code == 0, err
    (after,) = read_records(fresh)
    assert after.trial_id == before.trial_id
    assert after.spec["method_options"]["width"] == 1 and after.spec["neutral_options"] == ["width"]
    # the rebuild from the record (srbench eval) plans the same trial
    runner = Runner(_config_from_spec(after.spec, fresh, "cpu"), load_plugins(modules=["plugins.toy_method"]),
                    progress=False)
    assert runner.planned_trial(after.spec).trial_id == after.trial_id

    # the old record beside the new one is one row of one method, not two variants
    shutil.copytree(out / "trials" / before.trial_id, tmp_path / "both" / "trials" / before.trial_id)
    code, _, err = run_cli(capsys, "run", *TOY, "--out", str(tmp_path / "both"), "--seeds", "2")
    assert code == 0, err
    labels = method_labels(read_records(tmp_path / "both"))
    assert set(labels.values()) == {"toy"} and len(labels) == 2

    # any other value, and a later default that is not the neutral one, make new trials
    code, _, err = run_cli(capsys, "run", *TOY, "--out", str(fresh), "--set", "toy.width=2")
    assert code == 0, err
    wide = next(r for r in read_records(fresh) if r.trial_id != before.trial_id)
    assert wide.spec["method_options"]["width"] == 2 and "neutral_options" not in wide.spec
    legend = method_variants(read_records(fresh))  # the two rows, told apart in words
    assert sorted(legend.values()) == ["width absent (as before the option existed)", "width=2"]
    monkeypatch.setattr(ToyMethod, "Options", options_with_width(3))
    code, stdout, err = run_cli(capsys, "run", *TOY, "--out", str(out), "--dry-run")
    assert code == 0, err
    assert before.trial_id not in stdout and "train " in stdout
    # rebuilt from its checkpoint (srbench eval), the old trial gets the value it trained with, not the new default
    method, _, _ = load_trial_method(out / "trials" / before.trial_id, device="cpu",
                                     plugins=load_plugins(modules=["plugins.toy_method"]))
    assert method.options.width == 1


@pytest.mark.parametrize("value", [1, 2])
def test_the_method_gets_the_option_whatever_the_id(value, tmp_path, monkeypatch):
    monkeypatch.setattr(ToyMethod, "Options", options_with_width(1))
    from srbench.config import RunConfig
    config = RunConfig(methods=["toy"], dataset="synthetic:4x32", profile="smoke", hr_fraction=[0.5],
                       out=str(tmp_path), metrics=["psnr_y"], method_options={"toy": {"width": value}})
    runner = Runner(config.validate(), load_plugins(modules=["plugins.toy_method"]), progress=False)
    (trial,) = runner.plan()
    assert trial.method_options.width == value
