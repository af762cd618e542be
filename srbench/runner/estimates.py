"""How long the trials a run would train should take, from the finished trials of the same folder.

A sweep run in several goes (``srbench run --dry-run`` over a committed run folder) is planned by
its cost: a trial's estimate is the mean ``train_seconds`` of the folder's finished trials of the
same method, options and profile; failing that, of the same method and profile with other options
(a variant usually costs what its method does: an ablation can cost less). Only trials that trained on the
run's kind of device count (a folder may hold CPU and GPU seeds of one sweep, minutes apart in cost).
Neither exists for a method the folder has not trained yet: no number is made up for it.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..result_record import TrialResult
from ..results import STATUS_OK
from .trial import identity_options


@dataclass(frozen=True)
class TrainingEstimate:
    """``seconds``: mean training time of ``count`` finished trials; ``like``: ``True`` when they had
    the same options, ``False`` when only the same method and profile."""

    seconds: float
    count: int
    like: bool

    @property
    def basis(self) -> str:
        kind = "like it" if self.like else "of the method, other options"
        return f"{self.count} finished {'trial' if self.count == 1 else 'trials'} {kind}"


def _key(spec: dict[str, Any], *, options: bool) -> str:
    parts = [spec.get("method"), spec.get("profile"), identity_options(spec) if options else None]
    return json.dumps(parts, sort_keys=True, default=str)


def training_estimates(specs: Iterable[dict[str, Any]], records: Sequence[TrialResult], device: str = ""
                       ) -> list[TrainingEstimate | None]:
    """One estimate per spec (a ``TrialSpec.to_dict()``), or ``None`` where the folder has no finished
    trial of that method and profile; only trials that trained to the end (status ok) count.

    :param device: the run's device (``cpu``, ``cuda``, ``cuda:1``): when given, only records of that kind
        count (records that name no device count everywhere).
    """
    kind = device.split(":")[0]
    like: dict[str, list[float]] = {}
    method: dict[str, list[float]] = {}
    for r in records:
        seconds = r.cost.train_seconds if r.cost else None
        if r.status != STATUS_OK or not seconds or (kind and r.device and r.device.split(":")[0] != kind):
            continue
        like.setdefault(_key(r.spec, options=True), []).append(float(seconds))
        method.setdefault(_key(r.spec, options=False), []).append(float(seconds))
    estimates: list[TrainingEstimate | None] = []
    for spec in specs:
        same = like.get(_key(spec, options=True))
        other = method.get(_key(spec, options=False))
        if same:
            estimates.append(TrainingEstimate(statistics.fmean(same), len(same), True))
        elif other:
            estimates.append(TrainingEstimate(statistics.fmean(other), len(other), False))
        else:
            estimates.append(None)
    return estimates
