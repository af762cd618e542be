"""``psnr_y``: PSNR on the BT.601 luma with ``scale`` pixels cropped per border (the SR tables' PSNR)."""

from __future__ import annotations

from srbench.interfaces import Check, Metric, MetricSample

from .protocol import LumaOptions, check_pair, psnr, y_cropped


class PsnrY(Metric):
    """PSNR (dB) of the Y channel, ``scale``-pixel border cropped, peak 255, as in EDSR/RCAN tables."""

    Options = LumaOptions
    higher_is_better = True
    checks = (Check("psnr_not_above_{floor}", "PSNR-Y not above {floor}", beat_floor=True),)

    def compute(self, sample: MetricSample) -> float:
        check_pair(sample, "psnr_y")
        sr = y_cropped(sample.sr, sample.scale, "psnr_y", sample.id, round_y=self.options.round_y)
        hr = y_cropped(sample.hr, sample.scale, "psnr_y", sample.id, round_y=self.options.round_y)
        return psnr(sr, hr)
