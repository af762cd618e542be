"""Metric options (``--set METRIC.OPTION=VALUE``, ``[metric_options.NAME]``) and the stamps recorded with
every score: a changed metric revision or option re-scores, a changed component makes new trials."""

from __future__ import annotations

import json

import numpy as np

import pytest

from srbench.data.datasets import open_dataset
from srbench.api import run
from srbench.cli.main import main
from srbench.config import RunConfig, apply_set_overrides, load_config_file
from srbench.errors import UsageError
from srbench.options import options_to_dict
from srbench.plugin_manager import load_plugins
from srbench.runner.runner import Runner
from srbench_builtins.metrics.swd import Swd
from srbench_builtins.perceptual.lpips_metric import LpipsOptions


@pytest.fixture
def system():
    return load_plugins(modules=["plugins.toy_method"])


def config(tmp_path, **kw):
    base = dict(methods=["bicubic", "toy"], dataset="synthetic", profile="smoke", hr_fraction=[1.0],
                out=str(tmp_path / "out"), scale=2, metrics=["psnr_y", "swd"])
    base.update(kw)
    return RunConfig(**base)


def test_set_routes_metric_names_to_metric_options_and_builds_metrics_with_them(tmp_path, system):
    cfg = apply_set_overrides(config(tmp_path, metrics=["fid", "swd"]),
                              ["swd.levels=2", "fid.patch_size=32", "toy.lr=0.5"])
    runner = Runner(cfg, system, progress=False)
    assert runner.config.metric_options == {"swd": {"levels": "2"}, "fid": {"patch_size": "32"}}
    assert runner.config.method_options == {"toy": {"lr": "0.5"}}
    assert runner.metrics["swd"].options.levels == 2 and runner.metrics["fid"].options.patch_size == 32
    assert next(t for t in runner.plan() if t.spec.method == "toy").method_options.lr == 0.5


def test_metric_options_come_from_a_config_file_too(tmp_path, system):
    path = tmp_path / "run.toml"
    path.write_text('metrics = ["swd"]\n[metric_options.swd]\npatches = 256\nseed = 3\n')
    cfg = load_config_file(path, config(tmp_path))
    assert cfg.metric_options == {"swd": {"patches": 256, "seed": 3}}
    runner = Runner(cfg, system, progress=False)
    assert (runner.metrics["swd"].options.patches, runner.metrics["swd"].options.seed) == (256, 3)


@pytest.mark.parametrize("item, fragments", [
    ("nosuch.x=1", ["unknown method or metric 'nosuch'", "methods: ", "bicubic", "metrics: ", "swd"]),
    ("swdd.levels=1", ["did you mean 'swd'?"]),
    ("swd.nosuch=1", ["--set swd", "unknown option 'nosuch'", "accepted: directions, levels, patches, seed"]),
    ("swd.levels=many", ["--set swd", "'levels'", "expected int"]),
    ("swd.levels=0", ["levels 0", "expected an integer >= 1"]),
])
def test_bad_metric_options_are_one_line_errors(tmp_path, system, item, fragments):
    with pytest.raises(UsageError) as excinfo:
        Runner(apply_set_overrides(config(tmp_path), [item]), system, progress=False)
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_options_of_a_metric_not_requested_are_still_checked(tmp_path, system):
    with pytest.raises(UsageError, match="unknown option 'bogus'"):
        Runner(apply_set_overrides(config(tmp_path, metrics=["psnr_y"]), ["fid.bogus=1"]), system, progress=False)


def test_list_options_shows_a_metrics_options(capsys):
    assert main(["list", "--options", "swd"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("swd (metrics, plugin builtin-metrics")
    for fragment in ("levels", "patches", "directions", "seed", "512"):
        assert fragment in out
    assert main(["list", "--options", "fid"]) == 0 and "patch_size" in capsys.readouterr().out
    assert main(["list", "--options", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no method or metric 'nosuch'" in err and "swd" in err and "bicubic" in err


def test_options_that_do_not_change_values_are_left_out_of_the_stamp():
    assert options_to_dict(LpipsOptions()) == {"weights": "", "device": "auto"}
    assert options_to_dict(LpipsOptions(), results_only=True) == {}


def _stamps(summary):
    return [(r["metrics"]["synthetic"]["revisions"], r["metrics"]["synthetic"]["options"]) for r in summary.results]


def test_scores_are_stamped_and_a_changed_option_or_revision_is_rescored_without_training(tmp_path, system,
                                                                                          monkeypatch):
    first = run(config(tmp_path), plugins=system, progress=False)
    for revisions, options in _stamps(first):
        assert revisions == {"psnr_y": "0.1.0/r1", "swd": "0.1.0/r1"}
        assert options["swd"] == {"levels": 3, "patches": 4096, "directions": 512, "seed": 0}
    assert all(set(r["metrics"]["synthetic"]["details"]["swd"]) == {"level0", "level1", "level2"}
               for r in first.results)
    again = run(config(tmp_path), plugins=system, progress=False)
    assert again.rescored == 0 and again.skipped == 2

    changed = run(config(tmp_path, metric_options={"swd": {"levels": 1}}), plugins=system, progress=False)
    assert changed.rescored == 2
    for r, old in zip(changed.results, first.results):
        scored = r["metrics"]["synthetic"]
        assert r["finished_at"] == old["finished_at"] and r["rescored"][-1]["metrics"] == {"synthetic": ["swd"]}
        assert scored["options"]["swd"]["levels"] == 1 and list(scored["details"]["swd"]) == ["level0"]
        assert scored["mean"]["psnr_y"] == old["metrics"]["synthetic"]["mean"]["psnr_y"]
        assert scored["mean"]["swd"] != old["metrics"]["synthetic"]["mean"]["swd"]
        assert all(row["swd"] is not None for row in scored["per_image"])

    monkeypatch.setattr(Swd, "revision", 2)
    bumped = run(config(tmp_path, metric_options={"swd": {"levels": 1}}), plugins=system, progress=False)
    assert bumped.rescored == 2
    assert all(revisions["swd"] == "0.1.0/r2" for revisions, _ in _stamps(bumped))
    on_disk = json.loads((tmp_path / "out" / "trials" / bumped.results[0]["trial_id"] / "result.json").read_text())
    assert on_disk["metrics"]["synthetic"]["revisions"]["swd"] == "0.1.0/r2"


def test_a_score_without_a_stamp_is_rescored(tmp_path, system):
    first = run(config(tmp_path, methods=["bicubic"]), plugins=system, progress=False)
    path = tmp_path / "out" / "trials" / first.results[0]["trial_id"] / "result.json"
    record = json.loads(path.read_text())
    del record["metrics"]["synthetic"]["revisions"]
    path.write_text(json.dumps(record))
    assert run(config(tmp_path, methods=["bicubic"]), plugins=system, progress=False).rescored == 1


def test_a_stale_reason_is_replaced_by_a_value(tmp_path, system):
    first = run(config(tmp_path, methods=["bicubic"]), plugins=system, progress=False)
    path = tmp_path / "out" / "trials" / first.results[0]["trial_id"] / "result.json"
    record = json.loads(path.read_text())
    scored = record["metrics"]["synthetic"]
    scored["mean"]["swd"], scored["unavailable"]["swd"] = None, "old failure"
    scored["revisions"]["swd"] = "0.0.9/r1"
    path.write_text(json.dumps(record))
    again = run(config(tmp_path, methods=["bicubic"]), plugins=system, progress=False)
    scored = again.results[0]["metrics"]["synthetic"]
    assert again.rescored == 1 and "swd" not in scored["unavailable"]
    assert scored["mean"]["swd"] == first.results[0]["metrics"]["synthetic"]["mean"]["swd"]


def test_component_revisions_enter_the_trial_id(tmp_path, system, monkeypatch):
    runner = Runner(config(tmp_path, methods=["srgan"]), system, progress=False)
    spec = runner.plan()[0].spec
    assert spec.component_versions["degradations/bicubic"] == "0.1.0/r1"
    assert spec.component_versions["datasets/synthetic"] == "0.1.0/r1"
    for key in ("generators/srresnet_resize", "discriminators/srgan", "adversarial_losses/nonsaturating"):
        assert spec.component_versions[key] == "0.1.0/r1"
    before = spec.trial_id
    degradation = type(runner.degradation)
    monkeypatch.setattr(degradation, "revision", 2)
    assert Runner(config(tmp_path, methods=["srgan"]), system, progress=False).plan()[0].trial_id != before
    monkeypatch.setattr(degradation, "revision", 1)
    monkeypatch.setattr(type(open_dataset(runner.config.dataset, system.registries)), "revision", 7, raising=False)
    changed = Runner(config(tmp_path, methods=["srgan"]), system, progress=False).plan()[0].spec
    assert changed.component_versions["datasets/synthetic"] == "0.1.0/r7" and changed.trial_id != before


def test_a_metric_unavailable_for_want_of_a_file_is_scored_once_the_file_is_there(tmp_path, system, monkeypatch):
    from srbench_builtins.metrics.niqe import PARAMS_ENV

    monkeypatch.delenv(PARAMS_ENV, raising=False)
    cfg = config(tmp_path, methods=["bicubic"], metrics=["psnr_y", "niqe"], dataset="synthetic:3x200",
                 profile_overrides={"eval_max_side": 0})
    first = run(cfg, plugins=system, progress=False)
    scored = first.results[0]["metrics"]["synthetic:3x200"]
    assert scored["unavailable_setup"] == ["niqe"] and PARAMS_ENV in scored["unavailable"]["niqe"]
    assert run(cfg, plugins=system, progress=False).rescored == 0  # still no file: nothing to do
    t = np.arange(-3, 4, dtype=np.float64)
    window = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * (7 / 6) ** 2))
    np.savez(tmp_path / "model.npz", mu_pris_param=np.ones((1, 36)), cov_pris_param=np.eye(36),
             gaussian_window=window / window.sum())  # the test's own numbers, for the code path only
    monkeypatch.setenv(PARAMS_ENV, str(tmp_path / "model.npz"))
    again = run(cfg, plugins=system, progress=False)
    scored = again.results[0]["metrics"]["synthetic:3x200"]
    assert again.rescored == 1 and scored["unavailable_setup"] == [] and "niqe" not in scored["unavailable"]
    assert scored["mean"]["niqe"] is not None and scored["mean"]["niqe"] >= 0
