"""The Python API: the same defaults and behaviour as the CLI (``srbench run`` calls :func:`run`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .config import RunConfig
from .errors import OutputError
from .results import TRIALS_DIR, is_write_error, output_error
from .plugin_manager import PluginSystem, get_plugin_system
from .runner.board_settings import BoardSettings
from .runner.board_files import write_leaderboard
from .runner.runner import Runner, RunSummary

if TYPE_CHECKING:
    import torch

    from .export import ExportedGenerator
    from .runner.merge import MergeSummary


def run(config: RunConfig | None = None, *, plugins: PluginSystem | None = None, progress: bool = True) -> RunSummary:
    """Run a benchmark and write its leaderboard (also after Ctrl-C or failed trials).

    :param config: settings; defaults are those of ``srbench run``.
    :param plugins: a loaded plugin system; default: every installed plugin.
    :param progress: show progress bars on stderr.
    :returns: the results of every planned trial that finished, and the exit code the CLI uses.
    """
    config = config or RunConfig()
    system = plugins or get_plugin_system()
    runner = Runner(config, system, progress=progress)
    board = BoardSettings.from_registries(system.registries, rank_by=config.rank_by, reference=config.reference,
                                          realism=config.realism)
    # before any training: a typo in --rank-by must not wait for the sweep to end
    board.check_choices(config.metrics or system.registries.metrics.names(), runner.method_names(), "in this run")
    write_board = True
    try:
        summary = runner.run()
    except OutputError:
        write_board = False  # --out is full or read-only, or another run holds it (its board is its own)
        raise
    finally:  # also when a usage error stops the run midway: what finished is shown
        if write_board and (runner.out / TRIALS_DIR).is_dir():
            try:
                write_leaderboard(runner.out, system.registries, rank_by=config.rank_by, reference=config.reference,
                                  realism=config.realism)
            except OSError as exc:
                if is_write_error(exc):
                    raise output_error(exc, runner.out) from None
                raise
    return summary


def report(out: str | Path, *, rank_by: str | None = None, reference: str | None = None, realism: str | None = None,
           plugins: PluginSystem | None = None) -> tuple[Path, Path, Path]:
    """Rewrite the leaderboard (csv, md) and report.html of a finished (or partial) run folder from its results.

    :param rank_by: metric ranking each table (default: ``RunConfig.rank_by``).
    :param reference: method or row label the paired comparisons use (default: by
        ``Method.leaderboard_reference_priority``).
    :param realism: realism axis of the perception-distortion plane (default: the first metric
        marked ``Metric.realism`` with values).
    """
    registries = (plugins or get_plugin_system()).registries
    return write_leaderboard(Path(out), registries, rank_by=rank_by, reference=reference, realism=realism)


def merge(sources: list[str | Path], into: str | Path, *, records_only: bool = False) -> "MergeSummary":
    """Copy the finished trials of the run folders ``sources`` into ``into`` (``srbench merge``): seed lanes
    or machines of one sweep made one run folder. A record ``into`` already holds is never replaced by a
    different one; then :func:`report` writes the board.

    :param records_only: copy ``result.json`` without the trial's checkpoint and loss log.
    """
    from .runner.merge import merge_runs

    return merge_runs(list(sources), into, records_only=records_only)


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
    :param split: ``test``, ``val`` (the validation split of a training dataset), ``all``, or
        ``auto`` (the test split of the checkpoint's training dataset, otherwise every image).
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


def export(trial: str | Path, to: str | Path | None = None, *, out: str | Path = "srbench-out",
           plugins: PluginSystem | None = None) -> Path:
    """Export a finished trial's generator (``srbench export``): ``generator.safetensors`` + ``generator.json``.

    :param trial: a trial folder, or a trial id (or unique prefix) under ``out/trials``.
    :param to: the export folder (default: ``TRIAL/export``).
    :returns: the export folder.
    """
    from .export import export_trial

    return export_trial(trial, to, out=out, plugins=plugins or get_plugin_system())


def load_generator(path: str | Path, *, device: "str | torch.device" = "cpu",
                   plugins: PluginSystem | None = None) -> "ExportedGenerator":
    """An exported generator, in eval mode, for a notebook::

        model = srbench.api.load_generator("srbench-out/trials/<id>/export")
        with torch.no_grad():
            sr = model(lr)                    # (B, 3, h, w) in [0, 1] -> (B, 3, h*s, w*s)
        sr8 = model.upscale(uint8_image)      # (C, h, w) uint8 -> uint8, exactly as 'srbench upscale'

    :param path: the export folder, its ``generator.json`` or its ``generator.safetensors``.
    :param device: where to put the network.
    """
    from .export import load_generator as _load

    return _load(path, device=device, plugins=plugins)
