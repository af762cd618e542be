"""``psnr_rgb``: PSNR over all channels with ``scale`` pixels cropped per border."""

from __future__ import annotations

from srbench.interfaces import Metric, MetricSample

from .protocol import check_pair, psnr, rgb_cropped


class PsnrRgb(Metric):
    """PSNR (dB) over the RGB channels, ``scale``-pixel border cropped, peak 255."""

    higher_is_better = True

    def compute(self, sample: MetricSample) -> float:
        check_pair(sample, "psnr_rgb")
        sr = rgb_cropped(sample.sr, sample.scale, "psnr_rgb", sample.id)
        hr = rgb_cropped(sample.hr, sample.scale, "psnr_rgb", sample.id)
        return psnr(sr, hr)
