"""The Python API: the same defaults and behaviour as the CLI (``srbench run`` calls :func:`run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .config import RunConfig
from .errors import OutputError
from .results import TRIALS_DIR, is_write_error, output_error
from .plugin_manager import PluginSystem, get_plugin_system
from .runner.leaderboard import write_leaderboard
from .runner.runner import Runner, RunSummary


def run(config: RunConfig | None = None, *, plugins: PluginSystem | None = None, progress: bool = True) -> RunSummary:
    """Run a benchmark and write its leaderboard (also after Ctrl-C or failed trials).

    :param config: settings; defaults are those of ``srbench run``.
    :param plugins: a loaded plugin system; default: every installed plugin.
    :param progress: show progress bars on stderr.
    :returns: the results of every planned trial that finished, and the exit code the CLI uses.
    """
    runner = Runner(config or RunConfig(), plugins or get_plugin_system(), progress=progress)
    write_board = True
    try:
        summary = runner.run()
    except OutputError:
        write_board = False  # --out is full or read-only, or another run holds it (its board is its own)
        raise
    finally:  # also when a usage error stops the run midway: what finished is shown
        if write_board and (runner.out / TRIALS_DIR).is_dir():
            try:
                write_leaderboard(runner.out)
            except OSError as exc:
                if is_write_error(exc):
                    raise output_error(exc, runner.out) from None
                raise
    return summary


def report(out: str | Path) -> tuple[Path, Path, Path]:
    """Rewrite the leaderboard (csv, md) and report.html of a finished (or partial) run folder from its results."""
    return write_leaderboard(Path(out))


def evaluate_method(method: str | None = None, dataset: str | None = None, scale: int | None = None, *,
                    checkpoint: str | Path | None = None, degradation: str | None = None, split: str = "auto",
                    device: str = "auto", metrics: list[str] | None = None, max_side: int | None = None,
                    plugins: PluginSystem | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Score a training-free method, or a trained trial's checkpoint, on a dataset.

    :param method: a registered method name (required without ``checkpoint``; must match it with one).
    :param dataset: ``NAME`` or ``folder:PATH`` [default: the checkpoint's training dataset, else ``default``].
    :param scale: SR factor [default: the checkpoint's, else 4].
    :param degradation: HR-to-LR operator of the test LR [default: the checkpoint's, which is the only
        one accepted with a checkpoint; else ``bicubic``].
    :param checkpoint: a trial folder (``OUT/trials/<id>``) or its ``checkpoint.pt``; the trial's
        ``result.json`` next to it tells how to rebuild the method.
    :param split: ``test``, ``all``, or ``auto`` (the test split of the checkpoint's training
        dataset, otherwise every image).
    :param max_side: centre-crop test images to this HR side (0: whole images) [default: the
        checkpoint's profile ``eval_max_side``, so the numbers are its ``result.json``'s; else 0].
    :param log: where one-line notes go (default: stderr).
    :returns: ``{"method", "dataset", "scale", "split", "degradation", "max_side", <metric>: mean, ...,
        "per_image": [...], "unavailable": {...}}``.
    """
    from .runner.eval_checkpoint import evaluate_method as _impl

    return _impl(method=method, dataset=dataset, scale=scale, checkpoint=checkpoint, degradation=degradation,
                 split=split, device=device, metrics=metrics, max_side=max_side,
                 plugins=plugins or get_plugin_system(), log=log)
