"""``srbench merge``: the finished trials of seed lanes (or machines) in one run folder, nothing replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srbench.api import merge
from srbench.cli.main import main
from srbench.runner.runner import lock_output


def _argv(out: Path, *extra: str, seeds: int = 1) -> list[str]:
    return ["run", "--plugin", "plugins.toy_method", "--methods", "toy", "--dataset", "synthetic", "--scale", "2",
            "--hr-fraction", "1", "--profile", "smoke", "--metrics", "psnr_y", "--seeds", str(seeds),
            "--out", str(out), "--no-progress", *extra]


def _records(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in (out / "trials").glob("*/result.json")}


def _one_error_line(stderr: str, needle: str) -> None:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and needle in lines[0] and "error" in lines[0], stderr


@pytest.fixture(scope="module")
def lanes(tmp_path_factory) -> tuple[Path, Path]:
    """Seeds 0 and 1 of one sweep, trained in two folders (two lanes)."""
    root = tmp_path_factory.mktemp("lanes")
    assert main(_argv(root / "lane0")) == 0
    assert main(_argv(root / "lane1", "--first-seed", "1")) == 0
    return root / "lane0", root / "lane1"


def test_merged_lanes_are_reused_by_the_run_of_all_seeds(lanes, tmp_path, capsys):
    into = tmp_path / "all"
    assert main(["merge", str(lanes[0]), str(lanes[1]), "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert "2 added" in out and f"srbench report {into}" in out
    merged = _records(into)
    assert merged == {**_records(lanes[0]), **_records(lanes[1])} and len(merged) == 2
    for trial_id in merged:  # the whole trial folder came: the run can re-score it
        assert (into / "trials" / trial_id / "checkpoint.pt").is_file()
    capsys.readouterr()
    assert main(_argv(into, seeds=2)) == 0
    said = capsys.readouterr()
    assert "2 reused" in said.out + said.err
    assert _records(into) == merged  # reused as they were: nothing trained again


def test_merging_again_finds_every_record_already_there(lanes, tmp_path, capsys):
    into = tmp_path / "all"
    summary = merge([lanes[0]], into)
    assert len(summary.added) == 1
    again = merge([lanes[0], lanes[1]], into)
    assert again.already_there == summary.added and len(again.added) == 1


def test_a_different_record_in_the_target_is_kept_and_named(lanes, tmp_path, capsys):
    into = tmp_path / "all"
    merge([lanes[0]], into)
    (trial_id,) = _records(lanes[0])
    path = into / "trials" / trial_id / "result.json"
    record = json.loads(path.read_text())
    record["metrics"]["synthetic"]["mean"]["psnr_y"] = 1.0  # scored elsewhere, say
    path.write_text(json.dumps(record))
    before = path.read_bytes()
    assert main(["merge", str(lanes[0]), "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert path.read_bytes() == before
    assert "1 kept" in out and f"kept {trial_id}" in out


def test_a_record_scored_on_more_test_sets_since_replaces_the_target_s(lanes, tmp_path, capsys):
    """A lane merged before its --eval-split val pass and again after: the later record adds the val scores."""
    into, later = tmp_path / "all", tmp_path / "later"
    merge([lanes[0]], into)
    (trial_id,) = _records(lanes[0])
    record = json.loads((lanes[0] / "trials" / trial_id / "result.json").read_text())
    record["metrics"]["synthetic/val"] = record["metrics"]["synthetic"]
    (later / "trials" / trial_id).mkdir(parents=True)
    (later / "trials" / trial_id / "result.json").write_text(json.dumps(record))
    assert main(["merge", str(later), "--into", str(into)]) == 0
    assert "1 updated with more scores" in capsys.readouterr().out
    assert set(json.loads((into / "trials" / trial_id / "result.json").read_text())["metrics"]) == {
        "synthetic", "synthetic/val"}
    record["training"]["steps"] += 1  # another training of the same id: not this one's scores
    record["metrics"]["other"] = record["metrics"]["synthetic"]
    (later / "trials" / trial_id / "result.json").write_text(json.dumps(record))
    assert merge([later], into).kept == [trial_id]


def test_failed_and_unfinished_trials_are_not_copied_and_a_failed_target_record_is_replaced(lanes, tmp_path):
    src, into = tmp_path / "src", tmp_path / "all"
    (trial_id,) = _records(lanes[0])
    record = json.loads((lanes[0] / "trials" / trial_id / "result.json").read_text())
    failed = {**record, "trial_id": "toy-failed", "status": "failed", "reason": "boom"}
    (src / "trials" / "toy-failed").mkdir(parents=True)
    (src / "trials" / "toy-failed" / "result.json").write_text(json.dumps(failed))
    (src / "trials" / "toy-training").mkdir()
    (src / "trials" / "toy-training" / "checkpoint.pt").write_bytes(b"partial")
    (into / "trials" / trial_id).mkdir(parents=True)
    (into / "trials" / trial_id / "result.json").write_text(json.dumps({**record, "status": "failed"}))
    summary = merge([src, lanes[0]], into)
    assert summary.failed == ["toy-failed"] and summary.unfinished == ["toy-training"]
    assert summary.added == [trial_id] and not (into / "trials" / "toy-failed").exists()
    assert not (into / "trials" / "toy-training").exists()
    assert json.loads((into / "trials" / trial_id / "result.json").read_text())["status"] == "ok"


def test_records_only_copies_the_record_alone_and_never_beside_an_unfinished_checkpoint(lanes, tmp_path):
    into = tmp_path / "board"
    (id0,) = _records(lanes[0])
    (id1,) = _records(lanes[1])
    (into / "trials" / id1).mkdir(parents=True)
    (into / "trials" / id1 / "checkpoint.pt").write_bytes(b"an unfinished training")
    summary = merge(list(lanes), into, records_only=True)
    assert summary.added == [id0] and summary.blocked == [id1]
    assert sorted(p.name for p in (into / "trials" / id0).iterdir()) == ["result.json"]
    assert not (into / "trials" / id1 / "result.json").exists()


@pytest.mark.parametrize("case, needle", [
    ("not-a-run", "no 'trials' folder here"),
    ("into-is-a-source", "is the target folder too"),
    ("into-is-a-file", "not a folder"),
    ("into-in-use", "is in use by another srbench run"),
])
def test_bad_merges_are_one_line_and_change_nothing(lanes, tmp_path, capsys, case, needle):
    into = tmp_path / "all"
    merge([lanes[0]], into)
    before = _records(into)
    sources = [str(lanes[1])]
    if case == "not-a-run":
        (tmp_path / "empty").mkdir()
        sources = [str(tmp_path / "empty")]
    elif case == "into-is-a-source":
        sources.append(str(into))
    elif case == "into-is-a-file":
        into = tmp_path / "file"
        into.write_text("")
    lock = lock_output(into) if case == "into-in-use" else None
    try:
        assert main(["merge", *sources, "--into", str(into)]) == 2
    finally:
        if lock:
            lock.close()
    captured = capsys.readouterr()
    _one_error_line(captured.err, needle)
    if into.is_dir():
        assert _records(into) == before
