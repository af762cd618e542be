"""The Python API: the same defaults and behaviour as the CLI (``srbench run`` calls :func:`run`)."""

from __future__ import annotations

from pathlib import Path

from .config import RunConfig
from .results import TRIALS_DIR
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
    try:
        summary = runner.run()
    finally:  # also when a usage error stops the run midway: what finished is shown
        if (runner.out / TRIALS_DIR).is_dir():
            write_leaderboard(runner.out)
    return summary


def report(out: str | Path) -> tuple[Path, Path, Path]:
    """Rewrite the leaderboard (csv, md) and report.html of a finished (or partial) run folder from its results."""
    return write_leaderboard(Path(out))


def evaluate_method(method: str | None = None, dataset: str = "default", scale: int = 4, *,
                    checkpoint: str | Path | None = None, degradation: str = "bicubic", split: str = "auto",
                    device: str = "auto", metrics: list[str] | None = None, max_side: int = 0,
                    plugins: PluginSystem | None = None) -> dict:
    """Score a training-free method, or a trained trial's checkpoint, on a dataset.

    :param method: a registered method name (required without ``checkpoint``; must match it with one).
    :param dataset: ``NAME`` or ``folder:PATH``.
    :param checkpoint: a trial folder (``OUT/trials/<id>``) or its ``checkpoint.pt``; the trial's
        ``result.json`` next to it tells how to rebuild the method.
    :param split: ``test``, ``val`` (the validation split of a training dataset), ``all``, or
        ``auto`` (the test split of the checkpoint's training dataset, otherwise every image).
    :param max_side: centre-crop test images to this HR side (0: whole images).
    :returns: ``{"method", "dataset", "scale", "split", <metric>: mean, ..., "per_image": [...],
        "unavailable": {...}}``.
    """
    from .runner.eval_checkpoint import evaluate_method as _impl

    return _impl(method=method, dataset=dataset, scale=scale, checkpoint=checkpoint, degradation=degradation,
                 split=split, device=device, metrics=metrics, max_side=max_side,
                 plugins=plugins or get_plugin_system())
