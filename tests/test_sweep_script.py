"""benchmarks/sweeps/fewhr_sr291.sh: each line trains, then is re-scored on val before the next trains;
FIRST_SEED and SEEDS reach every srbench run (checked with a stand-in srbench that logs its arguments)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "sweeps" / "fewhr_sr291.sh"


def test_each_line_is_rescored_on_val_before_the_next_trains_and_seeds_reach_every_run(tmp_path):
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "srbench"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "FIRST_SEED": "2", "SEEDS": "1"}
    subprocess.run(["bash", str(SCRIPT), str(tmp_path / "out"), "--no-progress"], check=True, env=env)
    calls = log.read_text().splitlines()
    runs = [c for c in calls if c.startswith("run ")]
    assert len(runs) == 6 and calls[-1].startswith("report ")
    assert all("--first-seed 2" in c and "--seeds 1" in c and "--no-progress" in c for c in runs)
    splits = [c.split("--eval-split ")[1].split()[0] for c in runs]
    assert splits == ["test", "val"] * 3
    methods = [c.split("--methods ")[1].split()[0] for c in runs]
    assert methods[0::2] == methods[1::2]  # the val pass scores the line just trained
