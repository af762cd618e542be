"""The loss-logging hook and the built-in TensorBoard plugin (``--set log.tensorboard=DIR``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srbench.api import run
from srbench.cli.main import main
from srbench.config import RunConfig
from srbench.hookspecs import hookimpl
from srbench.plugin_manager import load_plugins
from srbench.training.trainer import LOSS_LOG_NAME

tb_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                     reason="the 'tensorboard' extra is not installed")

# smoke profile, 20 steps logged every 5: rows at 5, 10, 15, 20
SMOKE = dict(methods=["srresnet"], dataset="synthetic", profile="smoke", hr_fraction=[1.0], scale=2,
             metrics=["psnr_y"], profile_overrides={"iterations": "20", "log_every": "5"})


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, dict[str, float], Path | None, dict]] = []

    @hookimpl
    def srbench_log_losses(self, trial_id, step, losses, trial_dir, settings):
        self.calls.append((trial_id, step, dict(losses), trial_dir, dict(settings)))


def test_hook_gets_every_loss_log_row(tmp_path: Path) -> None:
    recorder = Recorder()
    system = load_plugins(objects=[("recorder", recorder)])
    summary = run(RunConfig(out=str(tmp_path), **SMOKE), plugins=system, progress=False)
    trial_id = summary.results[0]["trial_id"]
    rows = [json.loads(line) for line in (tmp_path / "trials" / trial_id / LOSS_LOG_NAME).read_text().splitlines()]
    assert [c[1] for c in recorder.calls] == [r["step"] for r in rows] == [5, 10, 15, 20]
    for (tid, _, losses, tdir, settings), row in zip(recorder.calls, rows):
        assert tid == trial_id and tdir == tmp_path / "trials" / trial_id and settings == {}
        assert losses == {k: v for k, v in row.items() if k not in ("step", "seconds")}


def test_tensorboard_event_file_when_asked_for(tmp_path: Path) -> None:
    tb = tmp_path / "tb"
    summary = run(RunConfig(out=str(tmp_path / "out"), log={"tensorboard": str(tb)}, **SMOKE), progress=False)
    trial_id = summary.results[0]["trial_id"]
    events = list((tb / trial_id).glob("events.out.tfevents.*"))
    assert len(events) == 1
    acc = tb_accumulator.EventAccumulator(str(tb / trial_id))
    acc.Reload()
    rows = [json.loads(line) for line in
            (tmp_path / "out" / "trials" / trial_id / LOSS_LOG_NAME).read_text().splitlines()]
    tags = acc.Tags()["scalars"]
    assert tags == [f"loss/{k}" for k in rows[0] if k not in ("step", "seconds")]
    for tag in tags:
        scalars = acc.Scalars(tag)
        assert [s.step for s in scalars] == [5, 10, 15, 20]
        assert [s.value for s in scalars] == pytest.approx([r[tag[5:]] for r in rows], rel=1e-6)  # float32


def test_no_event_file_when_not_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run(RunConfig(out=str(tmp_path / "out"), **SMOKE), progress=False)
    assert list(tmp_path.rglob("events.out.tfevents.*")) == []


def test_set_log_from_the_command_line_and_unknown_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tb = tmp_path / "tb"
    argv = ["run", "--methods", "srresnet", "--dataset", "synthetic", "--profile", "smoke", "--hr-fraction", "1",
            "--scale", "2", "--metrics", "psnr_y", "--out", str(tmp_path / "out"), "--no-progress"]
    assert main([*argv, "--set", f"log.tensorboard={tb}"]) == 0
    assert len(list(tb.rglob("events.out.tfevents.*"))) == 1
    capsys.readouterr()
    code = main([*argv, "--set", "log.tensorbord=x"])  # a typo stops the run before training
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "log.tensorbord" in err[0] and "tensorboard (" in err[0]


def test_missing_tensorboard_package_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import fails as if not installed
    code = main(["run", "--methods", "srresnet", "--dataset", "synthetic", "--profile", "smoke", "--out",
                 str(tmp_path), "--set", f"log.tensorboard={tmp_path / 'tb'}", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "srbench-gan[tensorboard]" in err[0]
    assert not (tmp_path / "trials").exists()
