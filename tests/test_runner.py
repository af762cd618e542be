"""The runner: results on disk, reuse of finished trials, failure isolation, resumption, leaderboard."""

from __future__ import annotations

import functools
import os

import pandas as pd
import pytest

import srbench.runner.runner as runner_module
from srbench import hookimpl
from srbench.api import run
from srbench.config import RunConfig
from srbench.plugin_manager import load_plugins
from srbench.provenance import source_revision
from srbench.result_record import read_results


class Recorder:
    def __init__(self):
        self.seen = []

    @hookimpl
    def srbench_trial_finished(self, result, trial_dir):
        self.seen.append((result["trial_id"], result["status"], (trial_dir / "result.json").exists()))


@pytest.fixture
def system():
    return load_plugins(modules=["plugins.toy_method"])


def config(tmp_path, **kw):
    base = dict(methods=["bicubic", "toy"], dataset="synthetic", profile="smoke", hr_fraction=[1.0],
                out=str(tmp_path / "out"), scale=2)
    base.update(kw)
    return RunConfig(**base)


def by_method(summary):
    return {r["spec"]["method"]: r for r in summary.results}


def test_end_to_end_writes_results_and_leaderboard(tmp_path, system):
    summary = run(config(tmp_path), plugins=system, progress=False)
    assert summary.exit_code == 0
    results = by_method(summary)
    assert set(results) == {"bicubic", "toy"}
    for r in results.values():
        assert r["status"] == "ok", r["reason"]
        test = r["metrics"]["synthetic"]
        assert test["mean"]["psnr_y"] > 10
        assert len(test["per_image"]) >= 1 and "id" in test["per_image"][0]
        assert r["split"]["sha256"] and r["split"]["paired_ids"]
        assert r["versions"]["torch"] and "builtin-methods" in r["versions"]["plugins"]
        assert r["versions"]["machine"]["cpus"] == os.cpu_count() and "accelerator" not in r["versions"]["machine"]
        assert r["versions"].get("source", "") == source_revision()  # the checkout's commit, when there is one
        assert r["device"] == "cpu"
    assert results["toy"]["training"]["steps"] == 6
    assert results["toy"]["cost"]["params"] == 3 * 3 * 9 + 3
    assert results["bicubic"]["cost"]["params"] == 0
    on_disk = read_results(tmp_path / "out")
    assert sorted(r["trial_id"] for r in on_disk) == sorted(r["trial_id"] for r in summary.results)
    lb = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    for col in ["method", "test_dataset", "scale", "degradation", "hr_fraction", "seeds", "status", "psnr_y",
                "ssim_y", "train_seconds", "params"]:
        assert col in lb.columns
    assert set(lb["method"]) == {"bicubic", "toy"}
    assert "## synthetic, x2, bicubic, hr_fraction 1" in (tmp_path / "out" / "leaderboard.md").read_text()


def test_finished_trials_are_not_run_again(tmp_path, system):
    first = run(config(tmp_path), plugins=system, progress=False)
    second = run(config(tmp_path), plugins=system, progress=False)
    assert second.skipped == 2
    assert [r["finished_at"] for r in first.results] == [r["finished_at"] for r in second.results]


def test_a_metric_added_later_is_scored_from_saved_weights_without_training(tmp_path, system):
    first = run(config(tmp_path, metrics=["psnr_y"]), plugins=system, progress=False)
    trained = {r["trial_id"]: r for r in first.results}
    losses = {t: (tmp_path / "out" / "trials" / t / "losses.jsonl").read_bytes()
              for t, r in trained.items() if r["spec"]["method"] == "toy"}
    second = run(config(tmp_path, metrics=["psnr_y", "ssim_y"]), plugins=system, progress=False)
    assert second.skipped == 2 and second.rescored == 2
    # Scoring from the checkpoint gives what a fresh run with both metrics gives.
    fresh = run(config(tmp_path, metrics=["psnr_y", "ssim_y"], out=str(tmp_path / "fresh")), plugins=system,
                progress=False)
    for r, f in zip(second.results, fresh.results):
        assert r["trial_id"] == f["trial_id"] and r["finished_at"] == trained[r["trial_id"]]["finished_at"]
        mean, expected = r["metrics"]["synthetic"]["mean"], f["metrics"]["synthetic"]["mean"]
        assert mean["psnr_y"] == trained[r["trial_id"]]["metrics"]["synthetic"]["mean"]["psnr_y"]
        assert mean["ssim_y"] == pytest.approx(expected["ssim_y"], rel=1e-6)
        assert all("ssim_y" in row for row in r["metrics"]["synthetic"]["per_image"])
        assert r["rescored"][0]["metrics"] == {"synthetic": ["ssim_y"]}
    for t, log in losses.items():  # no training step was run again
        assert (tmp_path / "out" / "trials" / t / "losses.jsonl").read_bytes() == log
    on_disk = {r["trial_id"]: r for r in read_results(tmp_path / "out")}
    assert all("ssim_y" in r["metrics"]["synthetic"]["mean"] for r in on_disk.values())
    assert "ssim_y" in pd.read_csv(tmp_path / "out" / "leaderboard.csv").columns
    third = run(config(tmp_path, metrics=["psnr_y", "ssim_y"]), plugins=system, progress=False)
    assert third.rescored == 0


def test_a_trial_without_checkpoint_is_left_as_it_is_with_a_reason(tmp_path, system, capsys):
    first = run(config(tmp_path, methods=["toy"], metrics=["psnr_y"]), plugins=system, progress=False)
    (tmp_path / "out" / "trials" / first.results[0]["trial_id"] / "checkpoint.pt").unlink()
    second = run(config(tmp_path, methods=["toy"], metrics=["psnr_y", "ssim_y"]), plugins=system, progress=False)
    assert second.rescored == 0 and "ssim_y" not in second.results[0]["metrics"]["synthetic"]["mean"]
    assert "no checkpoint.pt to score ssim_y with" in capsys.readouterr().err


def test_failures_are_isolated_and_reported(tmp_path, system):
    cfg = config(tmp_path, seeds=2, method_options={"toy": {"fail_at": 2}})
    recorder = Recorder()
    system.manager.register(recorder, name="recorder")
    summary = run(cfg, plugins=system, progress=False)
    statuses = sorted((r["spec"]["method"], r["status"]) for r in summary.results)
    assert statuses == [("bicubic", "ok"), ("bicubic", "ok"), ("toy", "failed"), ("toy", "failed")]
    assert summary.exit_code == 1
    failed = summary.failed[0]
    assert "toy failure at step 2" in failed["reason"]
    lb = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert "failed" in set(lb["status"])
    assert len(recorder.seen) == 4 and all(exists for _, _, exists in recorder.seen)


def test_divergence_and_incompatibility(tmp_path, system):
    summary = run(config(tmp_path, methods=["toy"], hr_fraction=[0.0, 1.0], method_options={"toy": {"nan_at": 1}}),
                  plugins=system, progress=False)
    by_fraction = {r["spec"]["hr_fraction"]: r for r in summary.results}
    assert by_fraction[0.0]["status"] == "incompatible"
    assert "paired" in by_fraction[0.0]["reason"]
    assert by_fraction[1.0]["status"] == "diverged"
    assert summary.exit_code == 0  # only failures make the run fail


def test_interrupted_trial_resumes_to_the_same_numbers(tmp_path, system, monkeypatch):
    straight = run(config(tmp_path / "a", methods=["toy"]), plugins=system, progress=False)

    real_trainer = runner_module.Trainer
    monkeypatch.setattr(runner_module, "Trainer", functools.partial(real_trainer, stop_after=3))
    interrupted = run(config(tmp_path / "b", methods=["toy"]), plugins=system, progress=False)
    assert interrupted.interrupted and interrupted.exit_code == 130
    assert interrupted.results == []
    monkeypatch.setattr(runner_module, "Trainer", real_trainer)
    resumed = run(config(tmp_path / "b", methods=["toy"]), plugins=system, progress=False)

    a, b = straight.results[0], resumed.results[0]
    assert b["training"]["resumed_from"] == 3
    assert a["trial_id"] == b["trial_id"]
    assert a["metrics"] == b["metrics"]


def test_trial_id_depends_on_the_spec_only(tmp_path, system):
    one = run(config(tmp_path / "a", methods=["toy"]), plugins=system, progress=False).results[0]["trial_id"]
    same = run(config(tmp_path / "b", methods=["toy"]), plugins=system, progress=False).results[0]["trial_id"]
    other = run(config(tmp_path / "c", methods=["toy"], method_options={"toy": {"lr": 0.5}}), plugins=system,
                progress=False).results[0]["trial_id"]
    assert one == same != other


def test_trial_id_changes_with_the_method_revision(tmp_path, system, monkeypatch):
    """A method whose code changed (revision bumped) is not served its old results."""
    cls = system.registries.methods.get("toy").factory
    before = runner_module.Runner(config(tmp_path, methods=["toy"]), system, progress=False).plan()[0]
    monkeypatch.setattr(cls, "revision", 2)
    after = runner_module.Runner(config(tmp_path, methods=["toy"]), system, progress=False).plan()[0]
    assert before.spec.method_version.endswith("/r1") and after.spec.method_version.endswith("/r2")
    assert before.trial_id != after.trial_id


def test_a_profile_default_applies_under_its_profile_only_and_set_wins(tmp_path, system, monkeypatch):
    """``Method.profile_defaults`` replaces a declared default under that profile; ``--set`` still wins."""
    cls = system.registries.methods.get("toy").factory
    monkeypatch.setattr(cls, "profile_defaults", {"smoke": {"lr": 0.25}})

    def planned_lr(**kw):
        trial = runner_module.Runner(config(tmp_path, methods=["toy"], **kw), system, progress=False).plan()[0]
        assert trial.method_options.lr == trial.spec.method_options["lr"]  # what trains is what the spec records
        return trial.method_options.lr

    assert planned_lr() == 0.25
    assert planned_lr(method_options={"toy": {"lr": "0.5"}}) == 0.5
    assert planned_lr(profile="quick") == 1e-2


def test_every_profile_default_names_a_profile_and_an_option(system):
    """A built-in's profile default with a typo would otherwise fail only when that profile runs."""
    from typing import get_type_hints

    from srbench.options import convert_value
    from srbench.training.profiles import PROFILES

    checked = set()
    for entry in system.registries.methods.entries():
        hints = get_type_hints(entry.factory.Options)
        for profile, values in entry.factory.profile_defaults.items():
            assert profile in PROFILES, (entry.name, profile)
            for key, value in values.items():
                assert key in hints, (entry.name, profile, key)
                assert convert_value(value, hints[key], entry.name) == value, (entry.name, profile, key)
                checked.add(entry.name)
    assert {"ambient", "srresnet"} <= checked  # the built-ins were loaded, so the loop checked something


def test_every_ablation_names_valid_options_that_differ_from_the_defaults(system):
    """``Method.ablation`` is how the leaderboard finds a row's ablation: a typo would silently find none."""
    import dataclasses

    from srbench.training.profiles import PROFILES

    checked = set()
    for entry in system.registries.methods.entries():
        cls = entry.factory
        if not cls.ablation:
            continue
        fields = {f.name for f in dataclasses.fields(cls.Options)}
        assert set(cls.ablation) <= fields, (entry.name, set(cls.ablation) - fields)
        for profile in PROFILES:
            defaults = dataclasses.asdict(dataclasses.replace(cls.Options(), **cls.defaults_under(profile)))
            ablated = dataclasses.replace(cls.Options(**cls.defaults_under(profile)), **cls.ablation)  # validates
            assert any(defaults[k] != getattr(ablated, k) for k in cls.ablation), (entry.name, profile)
        checked.add(entry.name)
    assert {"ambient", "pairwise", "fewhr", "unsupervised", "srgan"} <= checked


def test_a_bad_profile_default_is_named_as_the_plugins_error(tmp_path, system, monkeypatch):
    from srbench.errors import UsageError

    cls = system.registries.methods.get("toy").factory
    monkeypatch.setattr(cls, "profile_defaults", {"smoke": {"lrr": 0.25}})
    with pytest.raises(UsageError, match=r"method 'toy': profile_defaults\['smoke'\]: unknown option 'lrr'"):
        runner_module.Runner(config(tmp_path, methods=["toy"]), system, progress=False).plan()


def test_trial_id_ignores_settings_that_change_speed_only(tmp_path, system):
    """CPUs per trial and the executor change how fast a trial runs, not what it computes."""
    base = runner_module.Runner(config(tmp_path, methods=["toy"]), system, progress=False).plan()[0].trial_id
    faster = runner_module.Runner(config(tmp_path, methods=["toy"], profile_overrides={"cpus": "4"}, retries=5),
                                  system, progress=False).plan()[0].trial_id
    assert base == faster


def test_variants_of_one_method_are_not_averaged_together(tmp_path, system):
    run(config(tmp_path, methods=["toy"]), plugins=system, progress=False)
    run(config(tmp_path, methods=["toy"], method_options={"toy": {"lr": 0.5}}), plugins=system, progress=False)
    lb = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    toy_rows = lb[lb["method"].str.startswith("toy")]
    assert len(toy_rows) == 2 and set(toy_rows["seeds"]) == {1}
    assert all(m.startswith("toy[") for m in toy_rows["method"])


def test_planned_actions_say_what_a_run_would_do_from_the_folder_alone(tmp_path, system):
    from srbench.runner.runner import ACTION_RESUME, ACTION_REUSE, ACTION_SCORE, ACTION_TRAIN, Runner

    def actions(**kw):
        return {p.trial.spec.method: (p.action, p.detail)
                for p in Runner(config(tmp_path, **kw), system, progress=False).planned_actions()}

    assert actions() == {"bicubic": (ACTION_SCORE, "does not train"), "toy": (ACTION_TRAIN, "")}
    assert not (tmp_path / "out").exists()  # planning writes nothing
    run(config(tmp_path), plugins=system, progress=False)
    assert actions() == {"bicubic": (ACTION_REUSE, "ok"), "toy": (ACTION_REUSE, "ok")}
    on_val = actions(eval_split="val")
    assert {a for a, _ in on_val.values()} == {ACTION_SCORE} and "synthetic/val" in on_val["toy"][1]
    toy_dir = next((tmp_path / "out" / "trials").glob("toy-*"))
    (toy_dir / "checkpoint.pt").rename(tmp_path / "kept.pt")
    action, detail = actions(eval_split="val")["toy"]
    assert action == ACTION_REUSE and "no checkpoint.pt to score synthetic/val" in detail
    assert actions(eval_split="val")["bicubic"][0] == ACTION_SCORE  # bicubic needs no checkpoint
    (tmp_path / "kept.pt").rename(toy_dir / "checkpoint.pt")
    (toy_dir / "result.json").unlink()
    assert actions()["toy"] == (ACTION_RESUME, "from its checkpoint")


def test_training_estimates_prefer_trials_like_it_and_never_invent_one():
    from srbench.result_record import TrialResult
    from srbench.runner.estimates import training_estimates

    def record(method, options, seconds, status="ok", profile="standard"):
        return TrialResult.from_dict({"trial_id": f"{method}-{seconds}", "status": status, "reason": "",
                                      "spec": {"method": method, "method_options": options,
                                               "profile": {"name": profile}},
                                      "cost": {"train_seconds": seconds}, "metrics": {}})

    records = [record("a", {"w": 1}, 100.0), record("a", {"w": 1}, 300.0), record("a", {"w": 0}, 50.0),
               record("a", {"w": 1}, 9999.0, status="failed"), record("a", {"w": 1}, 7.0, profile="quick")]
    spec = {"method": "a", "method_options": {"w": 1}, "profile": {"name": "standard"}}
    like, other, none, quick = training_estimates(
        [spec, {**spec, "method_options": {"w": 2}}, {**spec, "method": "b"},
         {**spec, "profile": {"name": "quick"}}], records)
    assert (like.seconds, like.count, like.like) == (200.0, 2, True)  # the failed trial does not count
    assert (other.seconds, other.count, other.like) == (150.0, 3, False) and "other options" in other.basis
    assert none is None and quick.seconds == 7.0  # another profile is another cost
    # a sweep's seeds trained on a CPU and on a GPU: each run is estimated from its own kind of device
    def on(device, r):
        return TrialResult.from_dict({**r.to_dict(), "device": device})

    mixed = [on("cpu", r) for r in records] + [on("cuda:0", record("a", {"w": 1}, 20.0))]
    cpu, cuda = (training_estimates([spec], mixed, device)[0] for device in ("cpu", "cuda"))
    assert cpu is not None and cuda is not None and (cpu.seconds, cuda.seconds) == (200.0, 20.0)
    assert training_estimates([spec], mixed)[0].seconds == 140.0  # no device given: every kind counts
