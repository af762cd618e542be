"""The Ray executor against a real local Ray instance (2 CPUs, 1 logical GPU), started once here.

Skipped when the ``ray`` extra is not installed; ``.ci/run`` installs it, so CI runs these.
Ray's temporary files, auth token and home-directory files go to a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from srbench.api import run
from srbench.config import RunConfig
from srbench.errors import UsageError
from srbench.plugin_manager import load_plugins
from srbench.results import RESULT_FILE, TRIALS_DIR

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed (pip install -e '.[ray]')")

from srbench.runner.executors.ray_executor import RAY_WORKER_NICENESS, import_ray  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
#: Leaderboard columns that measure time, not results.
TIMING_COLUMNS = ("train_seconds", "train_cpu_seconds", "inference_ms_per_megapixel")


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray instance for this module: 2 CPUs and 1 logical GPU (no CUDA behind it)."""
    # /tmp, not pytest's tmp_path: Ray's socket paths must stay under 108 characters.
    tmp = tempfile.mkdtemp(prefix="srbray-", dir="/tmp")
    # HOME too: Ray writes its auth token to ~/.ray/auth_token.
    env = {"RAY_USAGE_STATS_ENABLED": "0", "HOME": f"{tmp}/home"}
    saved = {k: os.environ.get(k) for k in [*env, RAY_WORKER_NICENESS]}
    os.environ.update(env)
    os.environ.pop(RAY_WORKER_NICENESS, None)
    import_ray()  # sets Ray's worker niceness as a run of srbench would, before the instance starts
    os.makedirs(env["HOME"])
    # Workers import the fake plugins of tests/plugins as ``plugins.NAME``, like this process does.
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, _temp_dir=f"{tmp}/r", logging_level="WARNING",
             runtime_env={"env_vars": {"PYTHONPATH": str(TESTS_DIR)}})
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


def toy_system():
    return load_plugins(modules=["plugins.toy_method"])


def grid(out: Path, **kw) -> RunConfig:
    base = RunConfig(methods=["toy", "bicubic"], hr_fraction=[0.5], dataset="synthetic", profile="smoke", seeds=2,
                     out=str(out), device="cpu", metrics=["psnr_y", "lr_psnr", "hf_ratio"])
    return replace(base, **kw)


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (out / TRIALS_DIR).glob(f"*/{RESULT_FILE}")}


def wait_until(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_an_unreachable_address_fails_in_seconds_with_one_line():
    from srbench.runner.executors.ray_executor import check_reachable

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        start = time.monotonic()
        with pytest.raises(UsageError, match=rf"--ray-address {address}: nothing answers there"):
            check_reachable(address, timeout=2.0)
        assert time.monotonic() - start < 5
    check_reachable("auto")  # not host:port: left to Ray


def test_ray_gives_the_leaderboard_of_the_local_executor(ray_cluster, tmp_path):
    local = run(grid(tmp_path / "local"), plugins=toy_system(), progress=False)
    remote = run(grid(tmp_path / "ray", executor="ray"), plugins=toy_system(), progress=False)
    assert local.exit_code == remote.exit_code == 0
    assert [r["trial_id"] for r in remote.results] == [r["trial_id"] for r in local.results]
    assert {r["executor"]["name"] for r in remote.results} == {"ray"}
    a = pd.read_csv(tmp_path / "local" / "leaderboard.csv").drop(columns=list(TIMING_COLUMNS))
    b = pd.read_csv(tmp_path / "ray" / "leaderboard.csv").drop(columns=list(TIMING_COLUMNS))
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)
    # Same command again: every trial is reused, nothing is sent to Ray.
    again = run(grid(tmp_path / "ray", executor="ray"), plugins=toy_system(), progress=False)
    assert again.skipped == len(again.results) == 4


def test_trials_run_at_normal_priority_unless_the_user_set_it(ray_cluster, tmp_path, monkeypatch):
    # Ray's default is niceness 15: such a trial got 3-7% of a core beside two processes at 0
    summary = run(grid(tmp_path / "out", executor="ray", methods=["toy"], seeds=1), plugins=toy_system(),
                  progress=False)
    assert summary.exit_code == 0
    (record,) = summary.results
    # the driver's own niceness (0 unless srbench itself was started with nice), not Ray's +15 on top of it
    assert record["executor"]["name"] == "ray" and record["executor"]["niceness"] == os.nice(0)
    monkeypatch.setenv(RAY_WORKER_NICENESS, "7")
    import_ray()
    assert os.environ[RAY_WORKER_NICENESS] == "7"


def test_a_trial_that_raises_is_failed_and_the_others_finish(ray_cluster, tmp_path):
    config = grid(tmp_path, executor="ray", method_options={"toy": {"fail_at": "2"}})
    summary = run(config, plugins=toy_system(), progress=False)
    status = {r["spec"]["method"] + str(r["spec"]["seed"]): r["status"] for r in summary.results}
    assert status == {"toy0": "failed", "toy1": "failed", "bicubic0": "ok", "bicubic1": "ok"}
    assert all("toy failure at step 2" in r["reason"] for r in summary.failed)
    assert summary.exit_code == 1
    assert (tmp_path / "leaderboard.csv").exists()


def test_a_crashed_worker_is_resumed_from_its_checkpoint(ray_cluster, tmp_path):
    # smoke: 6 steps, checkpoints at 3; the worker SIGKILLs itself at step 5, once.
    marker = tmp_path / "crashed"
    config = grid(tmp_path / "out", executor="ray", methods=["toy"], seeds=1,
                  method_options={"toy": {"crash_at": "5", "crash_marker": str(marker)}})
    summary = run(config, plugins=toy_system(), progress=False)
    (result,) = summary.results
    assert marker.exists()
    assert result["status"] == "ok", result["reason"]
    assert result["executor"]["attempt"] == 1
    assert result["training"]["resumed_from"] == 3
    steps = [json.loads(line)["step"] for line in
             (tmp_path / "out" / TRIALS_DIR / result["trial_id"] / "losses.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]  # rows past the checkpoint were replayed, not duplicated


def test_without_retries_a_crash_is_failed_and_the_same_command_resumes(ray_cluster, tmp_path):
    marker = tmp_path / "crashed"
    config = grid(tmp_path / "out", executor="ray", methods=["toy"], seeds=1, retries=0,
                  method_options={"toy": {"crash_at": "5", "crash_marker": str(marker)}})
    (failed,) = run(config, plugins=toy_system(), progress=False).results
    assert failed["status"] == "failed"
    assert "Ray worker lost 1 times" in failed["reason"] and "resume" in failed["reason"]
    (resumed,) = run(config, plugins=toy_system(), progress=False).results
    assert resumed["status"] == "ok" and resumed["training"]["resumed_from"] == 3


def test_a_plugin_missing_on_the_workers_fails_before_training(ray_cluster, tmp_path, monkeypatch):
    # Importable here only: the workers' PYTHONPATH does not have this folder.
    (tmp_path / "driver_only_plugin.py").write_text("'''Loads here, not on the workers.'''\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    system = load_plugins(modules=["plugins.toy_method", "driver_only_plugin"])
    with pytest.raises(UsageError, match=r"plugin 'driver_only_plugin' is loaded here but not on Ray node"):
        run(grid(tmp_path / "out", executor="ray"), plugins=system, progress=False)
    assert not (tmp_path / "out" / TRIALS_DIR).exists() or not results(tmp_path / "out")


def test_plugins_given_as_objects_cannot_go_to_workers(ray_cluster, tmp_path):
    import plugins.toy_method as toy

    system = load_plugins(objects=[("toy-object", toy)])
    with pytest.raises(UsageError, match="cannot be loaded by Ray workers.*--plugin MODULE"):
        run(grid(tmp_path, executor="ray"), plugins=system, progress=False)


def test_auto_device_asks_for_a_gpu_when_the_cluster_has_one(ray_cluster, tmp_path):
    config = grid(tmp_path, executor="ray", methods=["bicubic"], seeds=1, device="auto")
    (result,) = run(config, plugins=toy_system(), progress=False).results
    assert result["status"] == "ok"
    assert result["executor"]["resources"].get("GPU") == 1.0  # logical: the trial itself ran on the CPU
    with pytest.raises(UsageError, match="--device cuda:1: with --executor ray"):
        run(replace(config, device="cuda:1", out=str(tmp_path / "other")), plugins=toy_system(), progress=False)


def test_ctrl_c_cancels_running_trials_and_keeps_their_checkpoints(ray_cluster, tmp_path, capsys):
    out = tmp_path / "out"
    config = grid(out, executor="ray", methods=["srresnet"], seeds=2, metrics=["psnr_y"],
                  profile_overrides={"iterations": "100000", "checkpoint_every": "2"})

    def press_ctrl_c_once_both_trials_checkpointed() -> None:
        # Ctrl-C even when the wait times out: on a loaded machine the trials (100000 steps) would otherwise run
        # for an hour; the checkpoint count below then fails the test instead of hanging it.
        wait_until(lambda: len(list(out.glob(f"{TRIALS_DIR}/*/checkpoint.pt"))) == 2, 180)
        os.kill(os.getpid(), signal.SIGINT)  # what a terminal's Ctrl-C does to the driver

    watcher = threading.Thread(target=press_ctrl_c_once_both_trials_checkpointed, daemon=True)
    watcher.start()
    summary = run(config, plugins=toy_system(), progress=False)
    watcher.join()
    assert summary.interrupted and summary.exit_code == 130 and summary.results == []
    assert "run the same command again to resume" in capsys.readouterr().err
    # Nothing runs any more: every CPU is free again, and no checkpoint changes.
    assert wait_until(lambda: ray.available_resources().get("CPU") == 2.0, 30), ray.available_resources()
    stamps = {p: p.stat().st_mtime_ns for p in out.glob(f"{TRIALS_DIR}/*/checkpoint.pt")}
    assert len(stamps) == 2
    time.sleep(1.0)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert not any(r["status"] == "ok" for r in results(out).values())


def test_trials_per_gpu_shares_one_gpu_between_trials(ray_cluster, tmp_path):
    config = grid(tmp_path, executor="ray", methods=["bicubic"], seeds=2, device="auto", trials_per_gpu=2)
    summary = run(config, plugins=toy_system(), progress=False)
    assert [r["executor"]["resources"].get("GPU") for r in summary.results] == [0.5, 0.5]


@pytest.mark.parametrize("argv, message", [
    (["--trials-per-gpu", "0", "--executor", "ray"], "--trials-per-gpu 0: must be a positive integer"),
    (["--trials-per-gpu", "4"], "--trials-per-gpu 4: only used with --executor ray")])
def test_a_bad_trials_per_gpu_is_one_line(tmp_path, capsys, argv, message):
    from srbench.cli.main import main

    assert main(["run", "--methods", "bicubic", "--dataset", "synthetic", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
