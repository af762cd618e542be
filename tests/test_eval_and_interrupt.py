"""``srbench eval`` (training-free methods, checkpoints, JSON) and a real Ctrl-C on ``srbench run``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srbench.api import run
from srbench.cli.main import main
from srbench.config import RunConfig
from srbench.plugin_manager import load_plugins

TESTS_DIR = Path(__file__).resolve().parent


def eval_json(capsys, *argv: str) -> dict:
    code = main(["eval", *argv, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1, "--format json prints exactly one JSON object"
    return json.loads(lines[0])


def test_eval_json_has_every_metric_and_per_image_rows(capsys):
    res = eval_json(capsys, "--method", "bicubic", "--dataset", "synthetic", "--scale", "2")
    assert res["method"] == "bicubic" and res["scale"] == 2 and res["split"] == "all"
    for key in ("psnr_y", "ssim_y", "psnr_rgb", "lr_psnr", "hf_ratio", "spectral_distance"):
        assert isinstance(res[key], float), key
    for key in ("lpips", "fid", "kid"):  # no pretrained weights in the test environment: null plus the reason
        if res[key] is None:
            assert res["unavailable"][key]
    assert len(res["per_image"]) == 12 and all("psnr_y" in row for row in res["per_image"])
    mean = sum(r["psnr_y"] for r in res["per_image"]) / len(res["per_image"])
    assert res["psnr_y"] == pytest.approx(mean)


def test_eval_conforms_to_the_published_bicubic_table(capsys, testdata_dir):
    set5 = testdata_dir / "Set5" / "HR"
    res = eval_json(capsys, "--method", "bicubic", "--dataset", f"folder:{set5}", "--scale", "4", "--split", "all",
                    "--metrics", "psnr_y,ssim_y")
    assert len(res["per_image"]) == 5
    assert abs(res["psnr_y"] - 28.42) <= 0.03 and abs(res["ssim_y"] - 0.8104) <= 0.002


def test_eval_of_a_checkpoint_reproduces_the_trial_scores(capsys, tmp_path):
    system = load_plugins(modules=["plugins.toy_method"])
    summary = run(RunConfig(methods=["toy"], dataset="synthetic", profile="smoke", hr_fraction=[1.0], scale=2,
                            out=str(tmp_path)), plugins=system, progress=False)
    trial = summary.results[0]
    res = eval_json(capsys, "--checkpoint", str(tmp_path / "trials" / trial["trial_id"]), "--dataset", "synthetic",
                    "--scale", "2", "--plugin", "plugins.toy_method", "--metrics", "psnr_y,ssim_y")
    assert res["method"] == "toy" and res["split"] == "test"
    assert res["psnr_y"] == pytest.approx(trial["metrics"]["synthetic"]["mean"]["psnr_y"], abs=1e-9)


def test_ctrl_c_saves_says_how_to_resume_and_exits_130(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "srbench.cli.main", "run", "--methods", "toy", "--dataset", "synthetic",
           "--scale", "2", "--hr-fraction", "1", "--profile", "smoke", "--set", "profile.iterations=100000",
           "--set", "profile.checkpoint_every=20", "--plugin", "plugins.toy_method", "--out", str(out),
           "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # 300 s: on a 2-core machine shared with training jobs the first checkpoint once took over 120 s
        deadline = time.time() + 300
        while time.time() < deadline and not list(out.glob("trials/*/checkpoint.pt")):
            time.sleep(0.2)
        assert list(out.glob("trials/*/checkpoint.pt")), "training never reached a checkpoint"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:  # never leave a 100000-step run behind, whatever failed above
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Run the same command again to resume" in err
    assert "Traceback" not in err
    import torch

    state = torch.load(next(out.glob("trials/*/checkpoint.pt")), weights_only=True)
    assert state["step"] >= 20  # the checkpoint written on Ctrl-C holds the last completed step
    assert not list(out.glob("trials/*/result.json")), "an unfinished trial must not look finished"
