"""``lr_psnr``: does the output explain the observation? PSNR between degrade(SR) and the LR input.

A faithful SR image, pushed back through the measurement that made the LR, must give the LR
again; hallucinated detail that contradicts the input (shifted edges, wrong colours) does not.
Unlike PSNR against HR, this does not punish plausible detail the LR cannot see.

Protocol, chosen to match how the test LR itself was made (:func:`srbench.data.pipeline.degrade_image`):

* SR is the saved ``uint8`` output (already clamped and rounded), as ``[0, 1]`` floats;
* the degradation's random parameters come from a generator seeded by ``(seed, image id)``
  exactly as for the test set (the runner builds test sets with seed 0, ``EVAL_SEED``), so a
  random operator (noise, random blur) applies the very same measurement, not a fresh draw;
  with another ``seed`` only the deterministic part of the operator is comparable;
* degrade(SR) is clamped and rounded to ``uint8`` like the stored LR, then both are compared
  on the BT.601 luma (as ``psnr_y``), peak 255, with 1 LR pixel cropped per border, the LR
  equivalent of the ``scale`` HR pixels ``psnr_y`` crops.

Feeding HR itself as SR gives the stored LR exactly (``inf`` dB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from srbench.data.pipeline import degrade_image
from srbench.errors import DataError, MetricUnavailableError
from srbench.interfaces import Check, Metric, MetricSample
from srbench.options import option

from .protocol import check_pair, psnr, y_cropped

#: LR pixels dropped per border before comparing (== ``scale`` HR pixels, as in ``psnr_y``).
LR_BORDER = 1


@dataclass(frozen=True)
class LrPsnrOptions:
    """Options of ``lr_psnr``."""

    seed: int = option(0, "seed of the degradation parameters; 0 = the one the runner's test LR was made with")


class LrPsnr(Metric):
    """PSNR (dB, Y, peak 255) between the quantised degrade(SR) and the LR input: consistency with the observation.

    Unavailable (``MetricUnavailableError``) for an image scored without a known degradation operator.
    """

    Options: ClassVar[type] = LrPsnrOptions
    higher_is_better: ClassVar[bool] = True
    #: Below 40 dB the output no longer explains its own LR input: bicubic upsampling scores
    #: ~37-41 dB here (it is the floor, not checked); models trained with a consistency loss reach 45-48 dB.
    checks: ClassVar[tuple[Check, ...]] = (Check("lr_inconsistent", "lr_psnr < 40 dB (floor row not checked)", below=40.0,
                                                 applies_to_floor=False),)

    def compute(self, sample: MetricSample) -> float:
        check_pair(sample, "lr_psnr")
        if sample.degradation is None:
            raise MetricUnavailableError(f"lr_psnr: image {sample.id!r} has no degradation operator to re-apply")
        reproduced = degrade_image(sample.sr, sample.degradation, self.options.seed, sample.id)
        if tuple(reproduced.shape) != tuple(sample.lr.shape):
            raise DataError(f"lr_psnr: image {sample.id!r}: degraded SR has shape {tuple(reproduced.shape)} but "
                            f"the LR input has {tuple(sample.lr.shape)}; was the LR made by another operator?")
        ours = y_cropped(reproduced, LR_BORDER, "lr_psnr", sample.id)
        observed = y_cropped(sample.lr, LR_BORDER, "lr_psnr", sample.id)
        return psnr(ours, observed)
