"""The default executor: trials one after another in this process, with a bar for each trial's steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..progress import Progress
    from ..runner import PlannedTrial, RunSummary
    from . import TrialRunner


class LocalExecutor:
    """Sequential, in-process. Ctrl-C reaches the trainer, which checkpoints the last step."""

    name = "local"

    def run(self, runner: "TrialRunner", trials: "list[PlannedTrial]", summary: "RunSummary",
            progress: "Progress") -> None:
        for trial in trials:
            progress.start_trial(trial.trial_id)
            result = runner.run_trial(trial, progress)
            summary.records.append(result)
            progress.end_trial(result.status)
