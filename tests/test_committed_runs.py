"""The committed run folders (leaderboard/runs/): trial records a later machine reuses instead of training again.

A sweep too long for one sitting of a 2-core machine is committed as its trials' ``result.json`` files; a
later ``srbench run --out leaderboard/runs/NAME`` skips those trials and trains the rest. Their checkpoints
are not committed, so every record must already hold what a board needs (a final status, scores on a test
set and on the validation split), and every committed leaderboard said to come from such a folder must be
what the folder's records give today.
"""

from __future__ import annotations

import fnmatch
import math
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from srbench.result_record import read_records
from srbench.results import RESULT_FILE, STATUS_OK, TRIALS_DIR
from srbench.runner.board_files import FRACTION_FIGURE, write_leaderboard
from srbench.runner.runner import FINAL_STATUSES

LEADERBOARD = Path(__file__).resolve().parent.parent / "leaderboard"
RUNS = LEADERBOARD / "runs"
RUN_FOLDERS = sorted(p for p in RUNS.glob("*") if (p / TRIALS_DIR).is_dir()) if RUNS.is_dir() else []

#: committed leaderboard file -> (run folder, the trial ids it was written from, as fnmatch patterns,
#: and the realism axis of its report); a sweep folder also holds variants (an ablation, srresnet with another
#: loss) that a board leaves out, so the ids say which records, not just which methods
DERIVED_BOARDS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "standard_sr291_x4_f1_seeds3_bicubic-srresnet-srgan_cpu2.csv": (
        "standard_sr291", ("bicubic-x4-f1-*", "srgan-x4-f1-*", "srresnet-x4-f1-s0-4ec4b30b6c",
                           "srresnet-x4-f1-s1-303c8ea555", "srresnet-x4-f1-s2-ad4beaba18"), None),
    # the few-HR sweep as it stands: every record of its folder (and its plot, the .svg beside it)
    "standard_sr291_x4_fewhr-sweep_cpu2-h200.csv": ("standard_sr291", ("*",), "swd"),
    # DANN and ADDA across a domain gap: bicubic pairs beside blind LR-only and test LR
    "standard_sr291_x4_f0.05_seeds1_blind-gap_cpu2.csv": ("standard_sr291_blindgap", ("*",), "swd"),
}


def _label(record) -> str:
    return f"{record.method} f{record.spec.get('hr_fraction')} s{record.spec.get('seed')}"


@pytest.mark.parametrize("folder", RUN_FOLDERS, ids=lambda p: p.name)
def test_every_committed_record_is_final_and_scored_on_test_and_val(folder: Path) -> None:
    records = read_records(folder)
    assert records, f"{folder}: no readable {RESULT_FILE}"
    for record in records:
        path = folder / TRIALS_DIR / record.trial_id / RESULT_FILE
        assert path.is_file(), f"{record.trial_id}: a record filed under another folder name"
        assert record.status in FINAL_STATUSES, f"{_label(record)}: status {record.status!r} would train again"
        if record.status != STATUS_OK:
            continue
        val = f"{record.spec['dataset']}/val"
        # the checkpoint is not committed: a split left unscored could never be scored from here
        assert record.scores(val).mean, f"{_label(record)}: not scored on {val}"
        tests = [name for name in record.metrics if name != val and record.scores(name).mean]
        assert tests, f"{_label(record)}: scored on no test set"
        assert not math.isnan(record.scores(val).mean["psnr_y"])


def test_the_ignore_rules_keep_records_and_nothing_else() -> None:
    """Checkpoints, samples, caches and generated boards of a run folder stay on the machine that made them."""
    root = LEADERBOARD.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(rel: str) -> bool:
        done = subprocess.run(["git", "check-ignore", "-q", "--no-index", rel], cwd=root)
        return done.returncode == 0

    kept = ["leaderboard/runs/x/trials/srresnet-x4-f1-s0-0123456789/result.json", "leaderboard/runs/README.md"]
    dropped = ["leaderboard/runs/x/trials/srresnet-x4-f1-s0-0123456789/checkpoint.pt",
               "leaderboard/runs/x/trials/srresnet-x4-f1-s0-0123456789/losses.jsonl",
               "leaderboard/runs/x/trials/srresnet-x4-f1-s0-0123456789/samples/set5/baby.sr.png",
               "leaderboard/runs/x/cache/train-0123.pt", "leaderboard/runs/x/leaderboard.md",
               "leaderboard/runs/x/report.html", "leaderboard/runs/x/hr_fraction.svg",
               "leaderboard/runs/x/samples/set5/baby.hr.png"]
    assert [p for p in kept if ignored(p)] == []
    assert [p for p in dropped if not ignored(p)] == []


@pytest.mark.parametrize("board", sorted(DERIVED_BOARDS))
def test_a_committed_leaderboard_is_what_its_run_folder_gives(board: str, tmp_path: Path) -> None:
    name, patterns, realism = DERIVED_BOARDS[board]
    folder = RUNS / name
    if not (folder / TRIALS_DIR).is_dir():
        pytest.skip(f"{folder} holds no trials")
    out = tmp_path / name
    for record in read_records(folder):
        if any(fnmatch.fnmatchcase(record.trial_id, p) for p in patterns):
            src = folder / TRIALS_DIR / record.trial_id
            shutil.copytree(src, out / TRIALS_DIR / record.trial_id)
    csv, _, _ = write_leaderboard(out, realism=realism)
    rebuilt = pd.read_csv(csv).set_index(["method", "test_dataset", "hr_fraction"])
    committed = pd.read_csv(LEADERBOARD / board).set_index(["method", "test_dataset", "hr_fraction"])
    assert sorted(rebuilt.index) == sorted(committed.index)
    for key, row in committed.iterrows():
        for column in ("seeds", "psnr_y", "ssim_y", "swd"):
            assert rebuilt.loc[key, column] == pytest.approx(row[column], rel=1e-9, abs=1e-12), (key, column)
    figure = (LEADERBOARD / board).with_suffix(".svg")
    if figure.is_file():  # the sweep's plot beside it is the one its records draw
        assert (out / FRACTION_FIGURE).read_text() == figure.read_text()
