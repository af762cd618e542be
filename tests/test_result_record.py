"""The typed result record: round trip of a real result.json, schemas it refuses, the Ray worker's one trial."""

from __future__ import annotations

import json

import pytest

import srbench.runner.runner as runner_module
from srbench.api import run
from srbench.config import RunConfig
from srbench.errors import SrbenchError, UsageError
from srbench.plugin_manager import load_plugins
from srbench.result_record import ResultSchemaError, TestSetScores, TrialResult, read_record, read_records
from srbench.results import SCHEMA_VERSION
from srbench.runner.executors import ray_tasks


@pytest.fixture
def system():
    return load_plugins(modules=["plugins.toy_method"])


def config(tmp_path, **kw):
    base = dict(methods=["bicubic", "toy"], dataset="synthetic", profile="smoke", hr_fraction=[1.0],
                out=str(tmp_path / "out"), scale=2, metrics=["psnr_y", "hf_ratio"])
    base.update(kw)
    return RunConfig(**base)


def test_a_real_result_json_round_trips_to_the_same_bytes(tmp_path, system):
    summary = run(config(tmp_path), plugins=system, progress=False)
    assert summary.exit_code == 0
    paths = sorted((tmp_path / "out" / "trials").glob("*/result.json"))
    assert len(paths) == 2
    for path in paths:
        data = json.loads(path.read_text())
        record = TrialResult.from_dict(data, path)
        assert record.to_dict() == data
        # the key order of the file too: a rewritten record diffs only where it changed
        assert json.dumps(record.to_dict(), indent=2) + "\n" == path.read_text()
        assert isinstance(record.metrics["synthetic"], TestSetScores)
        assert record.metrics["synthetic"].revisions.keys() == {"psnr_y", "hf_ratio"}
    toy = next(r for r in read_records(tmp_path / "out") if r.method == "toy")
    assert toy.training is not None and toy.training.steps > 0 and toy.cost is not None and toy.cost.params > 0
    assert [r.trial_id for r in summary.records] == [r["trial_id"] for r in summary.results]


def test_a_hand_built_record_reads_with_empty_parts():
    record = TrialResult.from_dict({"trial_id": "a", "status": "ok", "spec": {"method": "m", "test_datasets": ["x"]},
                                    "metrics": {"x": {"mean": {"psnr_y": 28.0}}}})
    assert record.schema == SCHEMA_VERSION and record.cost is None and record.training is None
    assert record.scores("x").mean == {"psnr_y": 28.0} and record.scores("x").per_image == []
    assert record.scores("y").mean == {} and "y" not in record.metrics
    assert record.test_sets() == ["x"]
    assert TrialResult.from_dict({"status": "ok", "later_field": [1]}).to_dict()["later_field"] == [1]


@pytest.mark.parametrize("schema, words", [(SCHEMA_VERSION + 1, "newer srbench (result schema"),
                                           (0, "older than this srbench reads"), ("one", "is not a number")])
def test_an_unreadable_schema_is_refused_in_one_line(tmp_path, schema, words):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"schema": schema, "trial_id": "t", "status": "ok"}))
    with pytest.raises(ResultSchemaError) as info:
        read_record(path)
    assert isinstance(info.value, UsageError)
    message = str(info.value)
    assert words in message and "\n" not in message and str(path) in message


def test_the_ray_worker_builds_its_trial_without_planning_the_grid(tmp_path, system, monkeypatch):
    """ray_tasks.run_spec is what a Ray task runs once Ray has set its threads: given the trial's spec,
    it plans that method alone (Runner.plan is never called) and returns the local executor's record."""
    local = run(config(tmp_path / "local", methods=["toy", "bicubic"], seeds=2), plugins=system, progress=False)
    wanted = next(r for r in local.records if r.method == "toy" and r.spec["seed"] == 1)

    def no_plan(self):
        raise AssertionError("the worker planned the whole grid")

    monkeypatch.setattr(runner_module.Runner, "plan", no_plan)
    cfg = config(tmp_path / "remote", methods=["toy", "bicubic"], seeds=2)
    record = ray_tasks.run_spec(cfg, system.settings, wanted.spec, {"name": "ray", "attempt": 0})
    assert record.trial_id == wanted.trial_id and record.status == "ok", record.reason
    assert record.executor == {"name": "ray", "attempt": 0}
    assert record.scores("synthetic").mean == wanted.scores("synthetic").mean
    assert (tmp_path / "remote" / "out" / "trials" / wanted.trial_id / "result.json").is_file()
    # a spec this srbench plans differently (another plugin version) is refused, not run
    other = {**wanted.spec, "method_version": "9.9.9/r9"}
    with pytest.raises(SrbenchError, match="plugins or datasets differ"):
        ray_tasks.run_spec(cfg, system.settings, other, {"name": "ray", "attempt": 0})


def test_a_diverged_record_keeps_the_trainers_order():
    training = {"steps": 4, "diverged_at": 5, "resumed_from": 0, "last_losses": {"l1": 0.5},
                "diverged_losses": {"l1": None}}
    data = {"schema": SCHEMA_VERSION, "trial_id": "t", "status": "diverged", "reason": "loss 'l1' became nan",
            "spec": {"method": "m"}, "split": None, "metrics": {}, "cost": {}, "training": training,
            "versions": {}, "device": "cpu", "notes": [], "wall_seconds": 1.5, "finished_at": "2026-12-02T08:00:00"}
    record = TrialResult.from_dict(data)
    assert record.training is not None and record.training.diverged_at == 5 and record.cost is None
    assert json.dumps(record.to_dict()) == json.dumps(data)
