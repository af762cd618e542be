"""Loss curves as TensorBoard scalars: ``srbench run --set log.tensorboard=DIR`` (off unless asked for).

Each trial writes its own run, ``DIR/<trial id>/``, with one scalar ``loss/<name>`` per loss at
every loss-log step (``profile.log_every``); ``tensorboard --logdir DIR`` shows every trial of a
sweep side by side. Needs the ``tensorboard`` package (``pip install 'srbench-gan[tensorboard]'``),
imported only when the setting is given. With ``--executor ray`` on a cluster, give a path every
node can write to (relative paths are relative to each worker's folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from srbench.errors import UsageError
from srbench.hookspecs import hookimpl

KEY = "tensorboard"
INSTALL_HINT = "pip install 'srbench-gan[tensorboard]' (or pip install tensorboard)"

#: Open writers by trial id, closed when the trial finishes.
_writers: dict[str, Any] = {}


@hookimpl
def srbench_log_settings(settings: Mapping[str, Any]) -> dict[str, str]:
    if KEY in settings:
        if not str(settings[KEY]).strip():
            raise UsageError(f"--set log.{KEY}=: give the folder for TensorBoard event files")
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise UsageError(f"--set log.{KEY}: the tensorboard package is not installed; {INSTALL_HINT}") from None
    return {KEY: "folder for TensorBoard event files of the loss curves, one run per trial"}


@hookimpl
def srbench_log_losses(trial_id: str, step: int, losses: Mapping[str, float], trial_dir: Path | None,
                       settings: Mapping[str, Any]) -> None:
    if KEY not in settings:
        return
    writer = _writers.get(trial_id)
    if writer is None:
        from torch.utils.tensorboard import SummaryWriter

        writer = _writers[trial_id] = SummaryWriter(log_dir=str(Path(str(settings[KEY])) / trial_id))
    for name, value in losses.items():
        writer.add_scalar(f"loss/{name}", value, global_step=step)
    writer.flush()  # an interrupted trial keeps its curve up to the last logged step


@hookimpl
def srbench_trial_finished(result: dict[str, Any], trial_dir: Path) -> None:
    writer = _writers.pop(str(result.get("trial_id", "")), None)
    if writer is not None:
        writer.close()
