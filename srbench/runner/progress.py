"""Progress bars: one for the benchmark, one for the current trial (ETA and current losses)."""

from __future__ import annotations

import sys
from typing import Mapping

from tqdm.auto import tqdm


class Progress:
    """Two stacked tqdm bars on stderr; a no-op when ``enabled`` is False."""

    def __init__(self, total_trials: int, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.trials = tqdm(total=total_trials, desc="benchmark", unit="trial", position=0, file=sys.stderr,
                           dynamic_ncols=True, disable=not enabled)
        self.steps: tqdm | None = None

    def start_trial(self, trial_id: str) -> None:
        self.trials.set_postfix_str(trial_id)

    def set_status(self, text: str) -> None:
        """Short text after the benchmark bar (what an executor is waiting for)."""
        self.trials.set_postfix_str(text, refresh=False)

    def trial_skipped(self, trial_id: str) -> None:
        self.trials.set_postfix_str(f"{trial_id} (done before)")
        self.trials.update(1)

    def start_steps(self, total: int) -> None:
        self._close_steps()
        self.steps = tqdm(total=total, desc="  training", unit="step", position=1, leave=False, file=sys.stderr,
                          dynamic_ncols=True, disable=not self.enabled)

    def step(self, done: int, total: int, losses: Mapping[str, float]) -> None:
        if self.steps is None:
            return
        if self.steps.n == 0 and done > 1:  # resumed: jump to where the checkpoint left off
            self.steps.update(done - 1)
        self.steps.update(1)
        if done % 5 == 0 or done == total:  # formatting every step costs more than a tiny CPU step
            self.steps.set_postfix({k: f"{v:.4g}" for k, v in list(losses.items())[:4]}, refresh=False)

    def end_trial(self, status: str) -> None:
        self._close_steps()
        self.trials.update(1)

    def _close_steps(self) -> None:
        if self.steps is not None:
            self.steps.close()
            self.steps = None

    def close(self) -> None:
        self._close_steps()
        self.trials.close()
