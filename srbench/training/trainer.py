"""The one training loop every method runs in.

Budget, seeding, checkpoints, loss logging, divergence checks and progress live here and only
here; a method contributes :meth:`~srbench.interfaces.Method.train_step`. A checkpoint holds
modules, optimizers, the method's extra state, the data samplers' and the global RNG states and
the step, so a resumed trial continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from ..data.training_data import TrainingData
from ..errors import DataError, DivergedError
from ..interfaces.method import Method
from ..results import write_bytes_atomic
from .seeding import capture_rng_state, restore_rng_state

CHECKPOINT_NAME = "checkpoint.pt"
#: One JSON row per ``log_every`` steps: ``{"step": N, "seconds": ..., LOSS: value}`` where ``N``
#: counts the steps done, from 1 (the row of ``train_step(step=0)`` has ``"step": 1``); the
#: divergence reason and ``result.json``'s ``training.diverged_at`` count the same way.
LOSS_LOG_NAME = "losses.jsonl"

#: Called after every step with (step_done, total_steps, latest losses).
ProgressCallback = Callable[[int, int, Mapping[str, float]], None]
#: Called at each loss-log step with (step_done, losses), the row of ``losses.jsonl``.
LogCallback = Callable[[int, Mapping[str, float]], None]


@dataclass
class TrainingOutcome:
    """What the loop reports to the runner.

    :param steps: steps completed (== total unless stopped early).
    :param seconds: training wall time, accumulated across resumes.
    :param resumed_from: step the run resumed at (0 for a fresh start).
    :param last_losses: the losses of the last step.
    :param cpu_seconds: CPU time of the training process (every thread), accumulated across resumes: what the
        training costs without the other jobs the wall time includes; None when a resumed checkpoint predates it.
    """

    steps: int
    seconds: float
    resumed_from: int = 0
    last_losses: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float | None = None


def _scalar(value: float | torch.Tensor) -> float:
    return float(value.detach().float().item()) if isinstance(value, torch.Tensor) else float(value)


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write ``obj`` to ``path`` atomically, so a crash never leaves half a checkpoint.

    Serialised in memory first: ``torch.save`` to a file on a full disk raises a ``RuntimeError``
    ("unexpected pos"), where a plain write raises the ``OSError(ENOSPC)`` the runner stops on.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getbuffer())


def _truncate_log(path: Path, last_step: int) -> None:
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= last_step:
                keep.append(line)
        except (ValueError, KeyError):
            continue  # a line cut by a crash
    path.write_text("".join(k + "\n" for k in keep))


def read_loss_log(path: Path) -> list[dict[str, float]]:
    """Rows of a ``losses.jsonl`` file (step, seconds and one key per loss)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def load_method_weights(method: Method, path: Path, device: torch.device) -> None:
    """Load a checkpoint's networks and method state into a set-up ``method``, to score it (no optimizers).

    :raises DataError: for an unreadable checkpoint (one line naming it).
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(state, dict) or "modules" not in state or "method" not in state:
            raise ValueError("not a srbench checkpoint")
    except Exception as exc:  # noqa: BLE001 - whatever torch.load raises on a damaged file
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise DataError(f"checkpoint {path} is unreadable ({reason})") from None
    for k, m in method.modules().items():
        m.load_state_dict(state["modules"][k])
    method.load_extra_state(state["method"])


class Trainer:
    """Runs ``method`` for ``total_steps`` steps on ``data``.

    :param method: a set-up method (``setup`` already called).
    :param data: its training data (the samplers' RNG is checkpointed).
    :param total_steps: the budget.
    :param trial_dir: where the checkpoint and the loss log go; ``None`` keeps nothing on disk.
    :param checkpoint_every: steps between checkpoints (one is always written at the end).
    :param log_every: steps between rows of the loss log.
    :param progress: optional per-step callback (progress bars).
    :param on_log: optional callback at each loss-log step (the logging plugins' hook).
    :param stop_after: stop (as if interrupted, checkpoint saved) after this many steps of this
        call; used by tests of resumption.
    :param log: where one-line warnings go (default: stderr); the method's :meth:`~Method.notes` are said
        there once when training starts or resumes.
    :param label: names the trial in those lines (the runner gives the method's registered name).
    """

    def __init__(self, method: Method, data: TrainingData, *, total_steps: int, trial_dir: Path | None,
                 checkpoint_every: int, log_every: int, progress: ProgressCallback | None = None,
                 stop_after: int | None = None, on_log: LogCallback | None = None,
                 log: Callable[[str], None] | None = None, label: str = "") -> None:
        self.method = method
        self.data = data
        self.total_steps = total_steps
        self.trial_dir = trial_dir
        self.checkpoint_every = max(1, checkpoint_every)
        self.log_every = max(1, log_every)
        self.progress = progress
        self.stop_after = stop_after
        self.on_log = on_log
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.label = label

    # -- checkpoints ------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.trial_dir is None else self.trial_dir / CHECKPOINT_NAME

    def save_checkpoint(self, step: int, seconds: float, cpu_seconds: float | None = None) -> None:
        path = self.checkpoint_path
        if path is None:
            return
        state = {
            "step": step,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "modules": {k: m.state_dict() for k, m in self.method.modules().items()},
            "optimizers": {k: o.state_dict() for k, o in self.method.optimizers().items()},
            "method": self.method.extra_state(),
            "data_rng": self.data.rng_state(),
            "rng": capture_rng_state(),
        }
        atomic_torch_save(state, path)

    def load_checkpoint(self) -> tuple[int, float, float | None]:
        """Restore the last checkpoint if there is one; returns (step, seconds, CPU seconds so far; None when the
        checkpoint predates CPU time).

        An unreadable checkpoint (cut by a full disk, damaged) is renamed ``checkpoint.pt.corrupt``
        with a one-line warning, and the trial starts over.
        """
        path = self.checkpoint_path
        if path is None or not path.exists():
            return 0, 0.0, 0.0
        device = next((p.device for m in self.method.modules().values() for p in m.parameters()), torch.device("cpu"))
        try:
            state = torch.load(path, map_location=device, weights_only=True)
            missing = {"step", "seconds", "modules", "optimizers", "method", "data_rng", "rng"} - set(state)
            if missing:
                raise ValueError(f"no {sorted(missing)[0]!r} in it")
        except Exception as exc:  # noqa: BLE001 - any unreadable file: start over, never crash the run
            kept = path.with_name(path.name + ".corrupt")
            os.replace(path, kept)
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
            self.log(f"srbench: warning: {path} is unreadable ({reason}); kept as {kept.name}, the trial starts over")
            return 0, 0.0, 0.0
        for k, m in self.method.modules().items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.method.optimizers().items():
            o.load_state_dict(state["optimizers"][k])
        self.method.load_extra_state(state["method"])
        self.data.load_rng_state(state["data_rng"])
        restore_rng_state(state["rng"])
        cpu = state.get("cpu_seconds", None)
        return int(state["step"]), float(state["seconds"]), None if cpu is None else float(cpu)

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> TrainingOutcome:
        """Train to the budget, resuming from a checkpoint when one exists.

        :raises DivergedError: when a loss is NaN or infinite (checkpoint of the last good step kept).
        :raises KeyboardInterrupt: after saving a checkpoint of the last completed step.
        """
        start, seconds, cpu_seconds = self.load_checkpoint()
        # said here, not in setup: ``srbench eval`` and rescoring rebuild the method without training it
        prefix = f"{self.label}: " if self.label else ""
        for note in self.method.notes():
            self.log(f"srbench: warning: {prefix}{note}")
        for m in self.method.modules().values():
            m.train()
        log_file = None
        if self.trial_dir is not None:
            log_path = self.trial_dir / LOSS_LOG_NAME
            _truncate_log(log_path, start)  # rows past the checkpoint are replayed after a resume
            log_file = open(log_path, "a")
        step = start
        last: dict[str, float] = {}
        t0, c0 = time.perf_counter(), time.process_time()

        def clocks() -> tuple[float, float | None]:
            """Wall and CPU seconds so far, this call's added to the checkpoint's (CPU: None if it had none)."""
            cpu = None if cpu_seconds is None else cpu_seconds + time.process_time() - c0
            return seconds + time.perf_counter() - t0, cpu

        try:
            while step < self.total_steps:
                if self.stop_after is not None and step - start >= self.stop_after:
                    raise KeyboardInterrupt
                with self.method.context.autocast():
                    raw = self.method.train_step(step, self.data)
                losses = {k: _scalar(v) for k, v in raw.items()}
                bad = [k for k, v in losses.items() if not math.isfinite(v)]
                if bad:
                    # Steps are counted from 1 here as in losses.jsonl: the step that diverged is
                    # step + 1, after `step` good ones.
                    raise DivergedError(
                        f"loss {bad[0]!r} became {losses[bad[0]]} at step {step + 1} of {self.total_steps} "
                        f"(steps counted from 1, as in {LOSS_LOG_NAME})",
                        {"steps": step, "diverged_at": step + 1, "resumed_from": start,
                         "last_losses": last, "diverged_losses": losses})
                step += 1
                last = losses
                if step % self.log_every == 0 or step == self.total_steps:
                    if log_file is not None:
                        row = {"step": step, "seconds": round(seconds + time.perf_counter() - t0, 3), **losses}
                        log_file.write(json.dumps(row) + "\n")
                        log_file.flush()
                    if self.on_log is not None:
                        self.on_log(step, losses)
                if step % self.checkpoint_every == 0 and step < self.total_steps:
                    self.save_checkpoint(step, *clocks())
                if self.progress is not None:
                    self.progress(step, self.total_steps, losses)
        except KeyboardInterrupt:
            self.save_checkpoint(step, *clocks())
            raise
        finally:
            if log_file is not None:
                log_file.close()
        seconds, cpu_total = clocks()
        if start < self.total_steps:
            self.save_checkpoint(step, seconds, cpu_total)
        return TrainingOutcome(step, seconds, start, last, cpu_total)
