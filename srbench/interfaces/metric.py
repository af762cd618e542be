"""Metrics: scores of a super-resolved image against its ground truth.

Every pixel metric sees the output as a user would save it: clamped to ``[0, 255]`` and rounded
to ``uint8`` by the core before :meth:`Metric.compute` is called.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import torch

from ..options import NoOptions
from .degradation import Degradation


@dataclass(frozen=True)
class Check:
    """A leaderboard check on a metric's mean over seeds; a row that fails it gets the flag ``name``.

    :param name: short id written to ``leaderboard.csv``'s ``flags`` column; ``{floor}`` is
        replaced by the floor method's name (see :attr:`srbench.interfaces.Method.leaderboard_floor`).
    :param text: what the Markdown and HTML tables say (``{floor}`` likewise).
    :param above: flag a mean above this value.
    :param below: flag a mean below this value.
    :param beat_floor: flag a row whose mean is not strictly beyond the floor row's in the
        direction of :attr:`Metric.higher_is_better` (the raw value, not the distance to ``target``).
    :param applies_to_floor: ``False``: the floor row itself is not checked (it is the baseline).
    """

    name: str
    text: str
    above: float | None = None
    below: float | None = None
    beat_floor: bool = False
    applies_to_floor: bool = True


@dataclass(frozen=True)
class MetricSample:
    """One evaluated image.

    :param id: image id.
    :param sr: ``uint8`` ``(C, H, W)`` output, already clamped and rounded.
    :param hr: ``uint8`` ``(C, H, W)`` ground truth, modcropped to a multiple of ``scale``.
    :param lr: ``uint8`` ``(C, H/scale, W/scale)`` input the method received.
    :param scale: the SR factor.
    :param degradation: the operator that made ``lr`` from ``hr`` (for consistency metrics).
    """

    id: str
    sr: torch.Tensor
    hr: torch.Tensor
    lr: torch.Tensor
    scale: int
    degradation: Degradation | None = None


class Metric(ABC):
    """A per-image score, averaged over a test set unless :meth:`compute_set` says otherwise."""

    Options: ClassVar[type] = NoOptions
    #: Direction, used for ranks, paired-comparison verdicts and checks on the leaderboard.
    higher_is_better: ClassVar[bool] = True
    #: Ideal value when neither direction is right (``hf_ratio``: 1.0 = as detailed as the truth);
    #: rows are then ranked by distance to it.
    target: ClassVar[float | None] = None
    #: Leaderboard checks on this metric's mean (artefact bounds, "must beat the floor method").
    checks: ClassVar[tuple[Check, ...]] = ()
    #: True for realism (perception) metrics, distances between the distributions of SR and HR
    #: images or no-reference naturalness scores: the report's perception-distortion plane puts
    #: the first registered one with values on its realism axis (``--realism`` chooses another).
    realism: ClassVar[bool] = False
    #: Bump when a code change alters the values: every score is recorded with the plugin's package
    #: version and this revision (``"0.1.0/r1"``), and a stored score of another revision is re-scored.
    revision: ClassVar[int] = 1

    def __init__(self, options: Any = None) -> None:
        self.options = options if options is not None else self.Options()

    def unavailable_reason(self) -> str | None:
        """Why this metric cannot be computed here (missing weights, with the fix), or ``None``."""
        return None

    @abstractmethod
    def compute(self, sample: MetricSample) -> float:
        """Score of one image.

        :raises srbench.errors.MetricUnavailableError: when it cannot be computed here (stored as null + reason).
        """

    def compute_set(self, samples: Sequence[MetricSample]) -> tuple[float, list[float] | None]:
        """Score of a test set and the per-image scores (``None`` for set-level metrics like FID)."""
        per_image = [float(self.compute(s)) for s in samples]
        return (sum(per_image) / len(per_image) if per_image else float("nan")), per_image

    def details(self) -> dict[str, float]:
        """Named parts of the last :meth:`compute_set` result (a multi-scale metric's per-level values),
        recorded in ``result.json`` beside the mean, under ``details``; none by default."""
        return {}
