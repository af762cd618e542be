"""Executors: where the planned trials of a run are trained and scored.

The runner plans the grid and skips finished trials; an executor runs the rest and appends
their records to the summary. ``local`` runs them one after another in this process; ``ray``
sends each to a Ray cluster as a task (an optional extra, imported only when chosen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

from ...config import RunConfig
from .local import LocalExecutor

if TYPE_CHECKING:
    from ..progress import Progress
    from ..runner import PlannedTrial, Runner, RunSummary


class Executor(Protocol):
    """Runs trials that have no final result yet.

    :meth:`run` appends one record per trial it finished to ``summary.results`` and updates
    ``progress``; on Ctrl-C it stops what runs, keeps what finished and re-raises
    :class:`KeyboardInterrupt`.
    """

    name: str

    def run(self, runner: "Runner", trials: "list[PlannedTrial]", summary: "RunSummary",
            progress: "Progress") -> None: ...


def create_executor(config: RunConfig, *, log: Callable[[str], None]) -> Executor:
    """The executor named by ``config.executor`` (``ray`` raises a one-line error without Ray)."""
    if config.executor == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(address=config.ray_address, retries=config.retries, log=log)
    return LocalExecutor()


__all__ = ["Executor", "LocalExecutor", "create_executor"]
