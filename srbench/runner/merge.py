"""Merge the finished trials of run folders into one (``srbench merge``).

A sweep spread over machines or processes (``--first-seed`` per lane, one ``--out`` each) ends with
several run folders; their finished trials belong on one board. A trial's id names its whole spec, so a
record is copied under its own id, never renamed, and a record already in the target is never replaced by a
different one: nothing computed is lost and nothing is mixed.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..result_record import TrialResult, read_record_with_bytes
from ..results import RESULT_FILE, STATUS_FAILED, TRIALS_DIR, is_write_error, output_error, write_bytes_atomic
from ..training.trainer import CHECKPOINT_NAME
from .runner import FINAL_STATUSES, lock_output


@dataclass
class MergeSummary:
    """What :func:`merge_runs` did, trial ids by outcome (each list in the order met)."""

    into: Path
    #: Copied into the target (which had no record of them, or a ``failed`` one, which a run retries anyway).
    added: list[str] = field(default_factory=list)
    #: The target held the same training's record, scored on fewer test sets (or metrics): replaced by the
    #: source's, which adds the rest (a lane merged before its ``--eval-split val`` pass, then after).
    updated: list[str] = field(default_factory=list)
    #: The target already holds the same record, byte for byte.
    already_there: list[str] = field(default_factory=list)
    #: The target holds a different final record of the id (another machine, another scoring): kept as it was.
    kept: list[str] = field(default_factory=list)
    #: Records of status ``failed`` in a source: not copied (``srbench run`` trains them again).
    failed: list[str] = field(default_factory=list)
    #: Trial folders of a source without a record (training unfinished or never started): not copied.
    unfinished: list[str] = field(default_factory=list)
    #: ``records_only`` and the target holds an unfinished training of the id: its checkpoint would be taken
    #: for the record's, so the record is not copied.
    blocked: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the command: counts by outcome, the zero ones left out."""
        parts = [f"{len(ids)} {what}" for ids, what in (
            (self.added, "added"), (self.updated, "updated with more scores"), (self.already_there, "already there"),
            (self.kept, "kept as the target had them (its record differs)"),
            (self.failed, "failed, not copied"), (self.unfinished, "unfinished, not copied"),
            (self.blocked, "not copied over an unfinished training in the target")) if ids]
        return f"srbench: merge into {self.into}: " + (", ".join(parts) if parts else "no trials in the sources")


def merge_runs(sources: list[str | Path], into: str | Path, *, records_only: bool = False) -> MergeSummary:
    """Copy the finished trials of the run folders ``sources`` into the run folder ``into``.

    A source record whose status is final (``ok``, ``diverged``, ``incompatible``) is copied with its trial
    folder (checkpoint, loss log, samples), the record last, so a later ``srbench run`` over ``into`` reuses
    and re-scores it like one of its own. The board of ``into`` is not rewritten: ``srbench report`` does that.

    :param records_only: copy ``result.json`` alone (a committed board keeps no checkpoints); such a trial
        cannot be re-scored for a metric it lacks.
    :raises UsageError: a source that is not a run folder, or ``into`` among the sources (one line).
    :raises OutputError: ``into`` in use by a ``srbench run``, or not writable.
    """
    target = Path(into)
    folders = [Path(s) for s in sources]
    if not folders:
        raise UsageError("no run folder to merge; name at least one SRC")
    for folder in folders:
        if not (folder / TRIALS_DIR).is_dir():
            raise UsageError(f"{folder}: no '{TRIALS_DIR}' folder here; expected the --out folder of 'srbench run'")
        if target.exists() and folder.resolve() == target.resolve():
            raise UsageError(f"{folder}: is the target folder too; name it once, after --into")
    if target.exists() and not target.is_dir():
        raise UsageError(f"--into {target}: not a folder; expected a run folder or a new folder's path")
    summary = MergeSummary(target)
    try:  # a full or read-only target ends in one line, like a run's --out; what was merged stays
        (target / TRIALS_DIR).mkdir(parents=True, exist_ok=True)
        with contextlib.closing(lock_output(target, flag="--into")):
            for folder in folders:
                for trial_dir in sorted(p for p in (folder / TRIALS_DIR).iterdir() if p.is_dir()):
                    _merge_trial(trial_dir, target / TRIALS_DIR, records_only, summary)
    except OSError as exc:
        if is_write_error(exc):
            raise output_error(exc, target) from None
        raise
    return summary


def _scores_more(source: TrialResult, target: TrialResult) -> bool:
    """Whether ``source`` is ``target``'s training (same finish time and steps) scored on everything
    ``target`` was scored on, with the same values, and more."""
    if (source.finished_at, source.training, source.status) != (target.finished_at, target.training, target.status):
        return False
    for test_set, scores in target.metrics.items():
        if test_set not in source.metrics:
            return False
        theirs = source.metrics[test_set]
        if any(theirs.mean.get(k) != v for k, v in scores.mean.items()):
            return False
    return source.metrics != target.metrics


def _merge_trial(trial_dir: Path, trials: Path, records_only: bool, summary: MergeSummary) -> None:
    data, record = read_record_with_bytes(trial_dir / RESULT_FILE)
    if record is None:
        summary.unfinished.append(trial_dir.name)
        return
    trial_id = record.trial_id or trial_dir.name
    if record.status not in FINAL_STATUSES:
        summary.failed.append(trial_id)
        return
    dst = trials / trial_id
    held, existing = read_record_with_bytes(dst / RESULT_FILE)
    if existing is not None and existing.status != STATUS_FAILED:
        if held == data:
            summary.already_there.append(trial_id)
        elif _scores_more(record, existing):
            write_bytes_atomic(dst / RESULT_FILE, data)
            summary.updated.append(trial_id)
        else:
            summary.kept.append(trial_id)
        return
    if records_only:
        if (dst / CHECKPOINT_NAME).is_file():  # an unfinished (or failed) training's weights, not the record's
            summary.blocked.append(trial_id)
            return
    else:
        # Everything but the record first: a merge cut short leaves no trial that looks finished.
        for src in sorted(trial_dir.rglob("*")):
            if src.is_file() and src.name != RESULT_FILE and not src.name.endswith(".tmp"):
                out = dst / src.relative_to(trial_dir)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, out)
    write_bytes_atomic(dst / RESULT_FILE, data)
    summary.added.append(trial_id)
