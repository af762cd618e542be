"""``fid``: Fréchet Inception Distance between SR and HR patches of a test set (lower is better)."""

from __future__ import annotations

from typing import ClassVar, Sequence

from srbench.errors import UsageError
from srbench.interfaces import Metric, MetricSample

from . import patch_fidelity
from .patch_fidelity import PatchFidelityOptions


class PatchFid(Metric):
    """FID (torch-fidelity's Inception-v3 features) of aligned 64 px SR patches against HR patches; set-level."""

    Options: ClassVar[type] = PatchFidelityOptions
    higher_is_better: ClassVar[bool] = False
    #: A distance between the distributions of SR and HR patches: a realism axis (KID inherits it).
    realism: ClassVar[bool] = True
    #: Key of this metric in :func:`patch_fidelity.fidelity_scores` and in option names.
    name: ClassVar[str] = "fid"

    def unavailable_reason(self) -> str | None:
        return patch_fidelity.extractor_problem(self.options, self.name)

    def compute(self, sample: MetricSample) -> float:
        raise UsageError(f"{self.name} is a set-level metric: call compute_set(samples), not compute(sample)")

    def compute_set(self, samples: Sequence[MetricSample]) -> tuple[float, list[float] | None]:
        reason = self.unavailable_reason()
        if reason:
            raise UsageError(f"{self.name} is unavailable: {reason}")
        return patch_fidelity.fidelity_scores(samples, self.options, self.name)[self.name], None
