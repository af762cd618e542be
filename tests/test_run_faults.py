"""Failures a run meets: a huge grid, a full or read-only --out, a newer results folder, two runs on
one --out, corrupt checkpoint.pt / result.json, mixed image modes, unicode and spaces in paths.
Each ends in one clear line (or a one-line warning and a re-run), and nothing finished is lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from srbench.cli.main import main
from srbench.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"


def _argv(out: Path, *extra: str, seeds: int = 1) -> list[str]:
    return ["run", "--plugin", "plugins.toy_method", "--methods", "toy", "--dataset", "synthetic", "--scale", "2",
            "--hr-fraction", "1", "--profile", "smoke", "--metrics", "psnr_y", "--seeds", str(seeds),
            "--out", str(out), "--no-progress", *extra]


def _cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(TESTS), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "srbench.cli.main", *argv], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def _results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "trials").glob("*/result.json")}


def _one_error_line(stderr: str, needle: str) -> None:
    lines = [ln for ln in stderr.splitlines() if "error" in ln]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and needle in lines[0], stderr


def test_a_grid_too_large_is_refused_in_one_line_before_planning(tmp_path, capsys):
    t0 = time.perf_counter()
    code = main(_argv(tmp_path / "out", seeds=100_000_000_000))
    err = capsys.readouterr().err
    assert code == 2 and time.perf_counter() - t0 < 30
    _one_error_line(err, "100,000,000,000 trials")
    assert "limit of 100,000" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("schema, message", [(99, "newer srbench (result schema 99"),
                                             (0, "result schema 0 is older")])
def test_a_results_folder_of_another_schema_is_refused_and_left_as_it_is(tmp_path, capsys, schema, message):
    out = tmp_path / "out"
    assert main(_argv(out)) == 0
    (path,) = (out / "trials").glob("*/result.json")
    data = json.loads(path.read_text())
    data["schema"] = schema
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    capsys.readouterr()
    assert main(_argv(out, seeds=2)) == 2
    _one_error_line(capsys.readouterr().err, message)
    assert path.read_bytes() == before and len(list((out / "trials").glob("*/result.json"))) == 1


def test_a_corrupt_result_json_is_run_again_with_a_warning(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv(out, seeds=2)) == 0
    first, second = sorted((out / "trials").glob("*/result.json"))
    kept = second.read_bytes()
    first.write_text('{"schema": 1, "status": "ok", "metr')  # cut by a crash of an old writer
    capsys.readouterr()
    assert main(_argv(out, seeds=2)) == 0
    err = capsys.readouterr().err
    assert err.count("is unreadable; its trial runs again") == 1
    assert json.loads(first.read_text())["status"] == "ok" and second.read_bytes() == kept


def test_a_corrupt_checkpoint_starts_the_trial_over_with_a_warning(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv(out, seeds=2)) == 0
    results = _results(out)
    trial = sorted(results)[0]
    tdir = out / "trials" / trial
    (tdir / "result.json").unlink()  # unfinished, as after a crash
    (tdir / "checkpoint.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    capsys.readouterr()
    assert main(_argv(out, seeds=2)) == 0
    err = capsys.readouterr().err
    assert sum("checkpoint.pt is unreadable" in ln and "the trial starts over" in ln for ln in err.splitlines()) == 1
    again = _results(out)
    assert again[trial]["status"] == "ok" and again[trial]["training"]["resumed_from"] == 0
    assert again[trial]["metrics"] == results[trial]["metrics"]  # same seed, from scratch: same numbers
    assert (tdir / "checkpoint.pt.corrupt").exists()


def test_a_full_disk_simulated_stops_with_one_line_and_keeps_finished_trials(tmp_path, capsys, monkeypatch):
    """ENOSPC raised where the second trial saves its checkpoint (the real one: the tmpfs test below)."""
    out = tmp_path / "out"
    calls = {"n": 0}
    real = Trainer.save_checkpoint

    def save(self, step, seconds, cpu_seconds=None):
        calls["n"] += 1
        if self.trial_dir.name != first_trial[0]:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.checkpoint_path))
        real(self, step, seconds, cpu_seconds)

    first_trial: list[str] = []
    real_run_trial = __import__("srbench.runner.runner", fromlist=["Runner"]).Runner.run_trial

    def run_trial(self, trial, *a, **k):
        first_trial.append(trial.trial_id)
        return real_run_trial(self, trial, *a, **k)

    monkeypatch.setattr(Trainer, "save_checkpoint", save)
    monkeypatch.setattr("srbench.runner.runner.Runner.run_trial", run_trial)
    assert main(_argv(out, seeds=2)) == 2
    _one_error_line(capsys.readouterr().err, "No space left on device")
    results = _results(out)
    assert list(results) == [first_trial[0]] and results[first_trial[0]]["status"] == "ok"
    assert not list(out.rglob("*.tmp"))


@pytest.fixture
def tmpfs(tmp_path):
    """A 3 MB tmpfs at a path with a space and accents; skips where mounting is not permitted."""
    mnt = tmp_path / "disque plein é"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode}); the simulated test runs")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_really_full_disk_stops_with_one_line_and_keeps_finished_trials(tmpfs):
    out = tmpfs / "out"
    first = _cli(*_argv(out))
    assert first.returncode == 0, first.stderr
    kept = {k: v["metrics"] for k, v in _results(out).items()}
    filler = _fill(tmpfs)
    full = _cli(*_argv(out, seeds=3))
    assert full.returncode == 2, full.stderr
    _one_error_line(full.stderr, "No space left on device")
    assert {k: v["metrics"] for k, v in _results(out).items() if k in kept} == kept
    filler.unlink()
    again = _cli(*_argv(out, seeds=3))
    assert again.returncode == 0, again.stderr
    assert len(_results(out)) == 3 and all(r["status"] == "ok" for r in _results(out).values())


def test_a_read_only_out_stops_with_one_line(tmpfs):
    out = tmpfs / "out"
    assert _cli(*_argv(out)).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    proc = _cli(*_argv(out, seeds=2))
    assert proc.returncode == 2
    _one_error_line(proc.stderr, "Read-only file system")
    assert len(_results(out)) == 1


def test_two_runs_on_one_out_the_second_refuses_naming_the_first(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(TESTS), "OMP_NUM_THREADS": "1"}
    argv = _argv(out, "--set", "profile.iterations=200000", "--set", "profile.checkpoint_every=100000")
    first = subprocess.Popen([sys.executable, "-m", "srbench.cli.main", *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out / ".lock").is_file() or not (out / ".lock").read_text().strip():
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            time.sleep(0.2)
        assert (out / ".lock").read_text().strip() == str(first.pid)
        second = _cli(*argv)
        assert second.returncode == 2
        _one_error_line(second.stderr, f"is in use by another srbench run (pid {first.pid})")
        assert not list((out / "trials").glob("*/result.json"))  # the second wrote nothing
    finally:
        first.send_signal(signal.SIGINT)  # saves its checkpoint and exits 130
        first.communicate(timeout=120)
    assert first.returncode == 130
    # Once the first has ended, the lock is free again.
    assert _cli(*_argv(out)).returncode == 0


def _mixed_mode_images(folder: Path) -> None:
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    rgb = lambda: (rng.random((64, 72, 3)) * 255).astype(np.uint8)  # noqa: E731
    (folder / "train").mkdir(parents=True)
    (folder / "test").mkdir()
    PILImage.fromarray(rgb()).save(folder / "train" / "plain rgb.png")
    PILImage.fromarray(np.dstack([rgb(), np.full((64, 72), 128, np.uint8)]), "RGBA").save(folder / "train" / "alpha.png")
    PILImage.fromarray((rng.random((64, 72)) * 65535).astype(np.uint16)).save(folder / "train" / "deep16.png")
    PILImage.fromarray(rgb()).quantize(colors=16).save(folder / "train" / "palette.png")
    PILImage.fromarray(rgb()).convert("CMYK").save(folder / "train" / "cmyk.jpg")
    PILImage.fromarray(np.dstack([rgb()[..., 0], np.full((64, 72), 200, np.uint8)]), "LA").save(
        folder / "train" / "gray alpha.png")
    PILImage.fromarray(rgb()).save(folder / "test" / "photo é.png")
    PILImage.fromarray(rgb()[..., 1]).save(folder / "test" / "gray.png")


def test_mixed_image_modes_and_unicode_paths_with_spaces(tmp_path, capsys):
    data = tmp_path / "données d'entrée"
    _mixed_mode_images(data)
    out = tmp_path / "résultats du 2 déc"
    argv = ["run", "--plugin", "plugins.toy_method", "--methods", "bicubic,toy", "--dataset", f"folder:{data}",
            "--scale", "2", "--hr-fraction", "0.5", "--profile", "smoke", "--metrics", "psnr_y", "--out", str(out),
            "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    results = _results(out)
    assert sorted(r["spec"]["method"] for r in results.values()) == ["bicubic", "toy"]
    assert all(r["status"] == "ok" for r in results.values())
    rows = next(iter(results.values()))["metrics"][f"folder:{data}"]["per_image"]
    assert sorted(r["id"] for r in rows) == ["gray", "photo é"]
    split = next(iter(results.values()))["split"]
    assert split["n_paired"] + split["n_lr_only"] == 6 - 1  # one of the 6 train/ images is held out as val
    assert (out / "leaderboard.md").exists() and list((out / "samples").rglob("*.hr.png"))


def test_a_corrupt_checkpoint_of_a_finished_trial_is_one_line_for_eval_and_rescoring(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv(out)) == 0
    (tdir,) = (out / "trials").glob("*")
    (tdir / "checkpoint.pt").write_bytes(b"\x00" * 64)
    capsys.readouterr()
    code = main(["eval", "--checkpoint", str(tdir), "--plugin", "plugins.toy_method", "--metrics", "psnr_y"])
    _one_error_line(capsys.readouterr().err, "is unreadable")
    assert code == 2
    # A run that wants a metric the trial lacks says why it cannot score it, and keeps the result.
    before = (tdir / "result.json").read_bytes()
    argv = _argv(out)
    argv[argv.index("psnr_y")] = "psnr_y,ssim_y"
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "is not scored for the metrics it lacks" in err and "Traceback" not in err
    assert (tdir / "result.json").read_bytes() == before


def test_seeds_spread_over_two_runs_make_the_trials_and_numbers_of_one_run(tmp_path):
    """--first-seed splits a sweep over machines: seeds 1 and 2 run apart give the ids and scores of --seeds 3."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(_argv(whole, seeds=3)) == 0
    assert main(_argv(part, "--first-seed", "1", seeds=1)) == 0
    assert main(_argv(part, "--first-seed", "2", seeds=1)) == 0
    one, spread = _results(whole), _results(part)
    assert sorted(spread) == sorted(k for k in one if "-s0-" not in k) and len(spread) == 2
    for trial_id, record in spread.items():
        assert record["metrics"] == one[trial_id]["metrics"]


def test_a_negative_first_seed_is_one_line(tmp_path, capsys):
    assert main(_argv(tmp_path / "out", "--first-seed", "-1")) == 2
    _one_error_line(capsys.readouterr().err, "--first-seed -1: must be 0 or more")
