"""``--paired-degradation``: the paired LR made by another operator than the LR-only and test LR (a domain gap)."""

from __future__ import annotations

import json

import torch
from test_cli import assert_one_line_error, run_cli

from srbench.config import RunConfig
from srbench.data.pipeline import _hr_of, build_training_data, degrade_image
from srbench.plugin_manager import load_plugins
from srbench.result_record import read_records
from srbench.runner.board_rows import method_variants
from srbench.runner.eval_checkpoint import _config_from_spec
from srbench.runner.runner import Runner
from srbench.runner.trial import TrialSpec
from srbench.training.profiles import get_profile

PROFILE = get_profile("smoke").with_overrides(patch_size=24, patches_per_image=2, batch_size=4, iterations=2)
SMOKE = ("--profile", "smoke", "--dataset", "synthetic:6x32", "--hr-fraction", "0.5", "--metrics", "psnr_y",
         "--set", "profile.patch_size=24", "--set", "profile.iterations=2", "--no-progress")


def test_paired_lr_comes_from_the_paired_operator_and_the_rest_from_the_trials(tmp_path):
    registries = load_plugins().registries
    blind, bicubic = registries.degradations.create("blind", 4), registries.degradations.create("bicubic", 4)
    images = registries.datasets.create("synthetic", "6x32").images("train")
    data, manifest = build_training_data(images, degradation=blind, hr_fraction=0.5, seed=0, profile=PROFILE,
                                         paired_degradation=bicubic, cache_dir=tmp_path)
    by_id = {i.id: i for i in images}
    assert manifest.paired_ids and manifest.lr_only_ids
    for image_id, lr in zip(manifest.paired_ids, data.paired.images["lr"]):
        assert torch.equal(lr, degrade_image(_hr_of(by_id[image_id], 4), bicubic, 0, image_id))
    for image_id, lr in zip(manifest.lr_only_ids, data.lr_only.images["lr"]):
        hr = _hr_of(by_id[image_id], 4)
        assert torch.equal(lr, degrade_image(hr, blind, 0, image_id))
        assert not torch.equal(lr, degrade_image(hr, bicubic, 0, image_id))
    assert data.degradation is blind and data.paired_degradation is bicubic
    # The cache tells the two apart: without the paired operator the paired LR is blind again.
    same, _ = build_training_data(images, degradation=blind, hr_fraction=0.5, seed=0, profile=PROFILE,
                                  cache_dir=tmp_path)
    assert same.paired_degradation is None
    assert not torch.equal(same.paired.images["lr"][0], data.paired.images["lr"][0])
    assert torch.equal(same.lr_only.images["lr"][0], data.lr_only.images["lr"][0])


def test_unset_it_leaves_specs_and_trial_ids_as_they_were():
    spec = TrialSpec(method="srresnet", method_options={}, dataset="default", test_datasets=("default",), scale=4,
                     degradation="blind", degradation_options={}, hr_fraction=0.05, hr_source="paired", seed=0)
    assert "paired_degradation" not in spec.to_dict()
    gap = TrialSpec(**{**spec.to_dict(), "test_datasets": ("default",), "paired_degradation": "bicubic"})
    assert gap.to_dict()["paired_degradation"] == "bicubic" and gap.trial_id != spec.trial_id
    assert TrialSpec(**{**gap.to_dict(), "test_datasets": ("default",)}).trial_id == gap.trial_id


def test_the_test_lr_follows_the_trials_operator(tmp_path):
    config = RunConfig(methods=["bicubic"], dataset="synthetic:6x32", degradation="blind",
                       paired_degradation="bicubic", profile="smoke", hr_fraction=[0.5], out=str(tmp_path),
                       metrics=["psnr_y"], profile_overrides={"patch_size": 24, "iterations": 2})
    runner = Runner(config, load_plugins(), progress=False)
    first = runner._test_set("synthetic:6x32")[0]
    assert torch.equal(first.lr, degrade_image(first.hr, runner.degradation, 0, first.id))
    assert not torch.equal(first.lr, degrade_image(first.hr, runner.paired_degradation, 0, first.id))


def test_a_run_records_it_labels_the_rows_and_a_checkpoint_rebuilds_with_it(capsys, tmp_path):
    out = tmp_path / "out"
    for extra in ((), ("--paired-degradation", "bicubic")):
        code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "srresnet", "--degradation", "blind",
                               "--out", str(out), *extra)
        assert code == 0, err
    records = read_records(out)
    assert len(records) == 2
    gap = next(r for r in records if r.spec.get("paired_degradation"))
    assert gap.spec["paired_degradation"] == "bicubic"
    assert gap.spec["component_versions"]["degradations/bicubic"]
    assert sorted(method_variants(records).values()) == ["paired_degradation=bicubic", "paired_degradation=null"]
    assert _config_from_spec(gap.spec, out, "cpu").paired_degradation == "bicubic"
    assert "paired_degradation" in json.loads((out / "trials" / gap.trial_id / "result.json").read_text())["spec"]


def test_an_unknown_or_redundant_operator_is_one_line_and_nothing_runs(capsys, tmp_path):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "bicubic", "--paired-degradation", "nope",
                           "--out", str(out))
    assert_one_line_error(code, err, "--paired-degradation nope", "available: ", "blind")
    code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "bicubic", "--paired-degradation", "bicubic",
                           "--out", str(out))
    assert_one_line_error(code, err, "--paired-degradation bicubic", "same operator and options as --degradation")
    assert not out.exists()


def test_its_options_make_a_gap_with_the_same_operator_and_are_recorded(capsys, tmp_path):
    # blind LR-only beside blind pairs without noise or JPEG: the same operator, other options, so a real gap
    out = tmp_path / "out"
    clean = ("--set", "paired_degradation.noise_sigma=0,0", "--set", "paired_degradation.jpeg_quality=100,100")
    code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "srresnet", "--degradation", "blind",
                           "--paired-degradation", "blind", *clean, "--out", str(out))
    assert code == 0, err
    (gap,) = read_records(out)
    assert gap.spec["paired_degradation"] == "blind"
    assert gap.spec["paired_degradation_options"] == {"noise_sigma": [0.0, 0.0], "jpeg_quality": [100, 100]}
    config = _config_from_spec(gap.spec, out, "cpu")
    runner = Runner(config, load_plugins(), progress=False)
    assert runner.paired_degradation.options.noise_sigma == (0.0, 0.0)
    assert runner.degradation.options.noise_sigma == (0.0, 10.0)
    assert runner.plan()[0].spec.trial_id == gap.trial_id  # the checkpoint's settings rebuild the same trial
    # its options at their defaults are left out of the spec: trials of the bare flag keep their ids
    code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "srresnet", "--paired-degradation", "blind",
                           "--set", "paired_degradation.noise_sigma=0,10", "--out", str(out))
    assert code == 0, err
    bare = next(r for r in read_records(out) if r.spec["degradation"] == "bicubic")
    assert bare.spec["paired_degradation"] == "blind" and "paired_degradation_options" not in bare.spec


def test_its_options_without_the_flag_or_unknown_are_one_line_and_nothing_runs(capsys, tmp_path):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "bicubic", "--set", "paired_degradation.sigma=1",
                           "--out", str(out))
    assert_one_line_error(code, err, "--set paired_degradation.sigma", "no --paired-degradation")
    code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "bicubic", "--degradation", "blind",
                           "--paired-degradation", "bicubic", "--set", "paired_degradation.nope=1", "--out", str(out))
    assert_one_line_error(code, err, "paired degradation 'bicubic'", "nope")
    code, _, err = run_cli(capsys, "run", *SMOKE, "--methods", "bicubic", "--degradation", "blind",
                           "--paired-degradation", "blind", "--set", "paired_degradation.noise_sigma=0,10",
                           "--out", str(out))
    assert_one_line_error(code, err, "--paired-degradation blind", "same operator and options")
    assert not out.exists()
