"""Executors: where the planned trials of a run are trained and scored.

The runner plans the grid and skips finished trials; an executor runs the rest and appends
their records to the summary. ``local`` runs them one after another in this process; ``ray``
sends each to a Ray cluster as a task (an optional extra, imported only when chosen).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ...config import RunConfig
from .local import LocalExecutor

if TYPE_CHECKING:
    from ...plugin_manager import PluginSystem
    from ...result_record import TrialResult
    from ...training.profiles import Profile
    from ..progress import Progress
    from ..runner import PlannedTrial, RunSummary


class TrialRunner(Protocol):
    """What an executor needs of the runner (:class:`~srbench.runner.runner.Runner` is one): the
    run's settings, the loaded plugins (a Ray worker loads the same), and how to run one trial
    and record one that could not run."""

    config: RunConfig
    profile: "Profile"
    plugins: "PluginSystem"

    def run_trial(self, trial: "PlannedTrial", progress: "Progress | None" = None, *,
                  executor: dict[str, Any] | None = None) -> "TrialResult": ...

    def trial_dir(self, trial: "PlannedTrial") -> Path: ...

    def new_record(self, trial: "PlannedTrial", *, device: str = "") -> "TrialResult": ...

    def write_record(self, trial: "PlannedTrial", result: "TrialResult") -> None: ...


class Executor(Protocol):
    """Runs trials that have no final result yet.

    :meth:`run` appends one record per trial it finished to ``summary.records`` and updates
    ``progress``; on Ctrl-C it stops what runs, keeps what finished and re-raises
    :class:`KeyboardInterrupt`.
    """

    name: str

    def run(self, runner: TrialRunner, trials: "list[PlannedTrial]", summary: "RunSummary",
            progress: "Progress") -> None: ...


def create_executor(config: RunConfig, *, log: Callable[[str], None]) -> Executor:
    """The executor named by ``config.executor`` (``ray`` raises a one-line error without Ray)."""
    if config.executor == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(address=config.ray_address, retries=config.retries, log=log)
    return LocalExecutor()


__all__ = ["Executor", "LocalExecutor", "TrialRunner", "create_executor"]
