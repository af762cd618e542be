"""``hf_ratio`` and ``spectral_distance``: how much detail above the LR Nyquist frequency an output has.

An LR image sampled every ``scale`` HR pixels can carry frequencies up to ``0.5 / scale``
cycles per HR pixel; everything above that must be invented by the method. PSNR rewards
inventing nothing (blur); these two metrics look at the invented band directly:

* ``hf_ratio``: energy of SR in that band divided by that of HR. 1.0 = as much detail as the
  truth; bicubic is far below (~0.05 at x4 on photos); checkerboard or noise artefacts push it
  above 1. Closest to :attr:`HfRatio.target` (1.0) is best.
* ``spectral_distance``: mean absolute difference, in decades, between the log radially
  averaged power spectra of SR and HR over the radial bands above the LR Nyquist frequency.
  0 = same spectrum; penalises both missing detail and periodic artefacts (a spike at the
  pixel-shuffle period lands in one band and raises it far above the truth).

* ``periodic_ratio``: the share of that band's energy lying on the *grid lines* (horizontal or
  vertical frequency a multiple of ``1 / scale``: the periods of a pixel-shuffle or of an
  x``scale`` upsampler, and the null space of the x``scale`` downscaling a consistency loss
  checks), SR's share over HR's. 1 = as concentrated there as the truth; stripes and
  checkerboards at the upsampling period push it far above 1 even when they are too faint to
  lift ``hf_ratio`` past its artefact bar. A method can raise ``hf_ratio`` past bicubic's with
  faint stripes alone; this says so.

All three work on the BT.601 luma in float64 with the mean removed and a 2-D Hann window applied:
without the window, the jump between opposite image borders (the FFT treats the image as
periodic) adds a cross of broadband energy that every output shares with HR, pulling
``hf_ratio`` of a plain bicubic towards 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from srbench.errors import DataError
from srbench.interfaces import Check, Metric, MetricSample
from srbench.options import option

from .protocol import check_pair, y_cropped

#: Added to band powers before log10 (gray levels^2 per frequency sample); uint8 rounding alone
#: gives a flat floor of 1/12 ~ 0.083, so this only matters for perfectly flat bands.
LOG_POWER_EPS = 1e-3
#: Mean band power (gray levels^2) below which HR counts as flat there: float64 round-off of a
#: constant image is ~1e-25, uint8 rounding of any real photo ~0.08.
FLAT_POWER = 1e-12


@dataclass(frozen=True)
class SpectralOptions:
    """Options shared by ``hf_ratio`` and ``spectral_distance``."""

    window: Literal["hann", "none"] = option("hann", "taper applied before the FFT to suppress border leakage")


def _check_scale(sample: MetricSample, metric: str) -> None:
    if sample.scale < 2:
        raise DataError(f"{metric}: image {sample.id!r} has scale {sample.scale}; the band above the LR "
                        f"Nyquist frequency exists only for scale >= 2")


def power_spectrum(y: np.ndarray, window: str = "hann") -> np.ndarray:
    """Power spectrum of a 2-D float64 image, mean removed and (optionally) Hann-windowed.

    Normalised by the window's energy so that the mean over all frequency samples equals the
    (windowed) pixel variance: values are gray levels^2 per frequency sample, independent of
    image size. The layout is ``np.fft.fft2``'s (zero frequency at ``[0, 0]``).
    """
    h, w = y.shape
    taper = np.ones((h, w)) if window == "none" else np.outer(np.hanning(h), np.hanning(w))
    centred = y - (np.sum(y * taper) / np.sum(taper))  # weighted mean: what the taper would leak
    spectrum = np.fft.fft2(centred * taper)
    return (spectrum.real ** 2 + spectrum.imag ** 2) / max(float(np.sum(taper ** 2)), 1e-300)


def frequency_grids(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(fy, fx)`` in cycles per pixel for every FFT sample of an image of ``shape``."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    return np.broadcast_arrays(fy, fx)


def beyond_lr_nyquist(shape: tuple[int, int], scale: int) -> np.ndarray:
    """Mask of the frequencies an LR grid of step ``scale`` cannot carry: ``max(|fx|, |fy|) > 0.5/scale``.

    A separable decimation keeps the square ``|fx|, |fy| <= 0.5/scale``; its diagonal corners
    are representable, so a radial cut would wrongly count them as new detail.
    """
    fy, fx = frequency_grids(shape)
    return np.maximum(np.abs(fx), np.abs(fy)) > 0.5 / scale


def grid_lines(shape: tuple[int, int], scale: int) -> np.ndarray:
    """Mask of the band above the LR Nyquist frequency that lies on a grid line.

    A grid line is every frequency whose ``|fx|`` or ``|fy|`` is within one frequency step
    (``1 / side``) of ``k / scale`` for ``k = 1 .. scale // 2``: a Hann-windowed sinusoid
    spreads over about three samples, and a period that does not divide the side falls
    between two.
    """
    fy, fx = frequency_grids(shape)
    near = np.zeros(shape, dtype=bool)
    for k in range(1, scale // 2 + 1):
        line = k / scale
        near |= np.abs(np.abs(fy) - line) <= 1.0 / shape[0] + 1e-12
        near |= np.abs(np.abs(fx) - line) <= 1.0 / shape[1] + 1e-12
    return near & beyond_lr_nyquist(shape, scale)


def radial_bands(shape: tuple[int, int], scale: int) -> tuple[np.ndarray, int]:
    """Band index of every FFT sample (-1 = not used) and the number of bands.

    Bands are annuli one frequency step of the shorter side wide (``1 / min(H, W)`` cycles per
    pixel), from the LR Nyquist radius ``0.5/scale`` to the HR Nyquist radius 0.5; beyond 0.5
    only the corners of the spectrum remain and the annuli are incomplete, so they are left out.
    """
    fy, fx = frequency_grids(shape)
    radius = np.hypot(fx, fy)
    step = 1.0 / min(shape)
    low, high = 0.5 / scale, 0.5
    count = int(math.floor((high - low) / step + 1e-9))
    index = np.floor((radius - low) / step).astype(np.int64)
    index[(radius <= low) | (radius > high) | (index >= count)] = -1
    return index, count


def _luma_pair(sample: MetricSample, metric: str) -> tuple[np.ndarray, np.ndarray]:
    check_pair(sample, metric)
    _check_scale(sample, metric)
    return y_cropped(sample.sr, 0, metric, sample.id), y_cropped(sample.hr, 0, metric, sample.id)


class HfRatio(Metric):
    """Energy of SR above the LR Nyquist frequency over that of HR (1 = as detailed as the truth).

    Ranking: the best value is :attr:`target` (1.0), so leaderboards should rank by
    ``|value - 1|``; :attr:`higher_is_better` is True only because most methods are below 1
    (blur), where higher is closer. ``nan`` for an HR image with no energy in the band (flat).
    """

    Options: ClassVar[type] = SpectralOptions
    higher_is_better: ClassVar[bool] = True
    #: The ideal value; rank by distance to it.
    target: ClassVar[float] = 1.0
    #: Above 1.2: more energy above the LR Nyquist frequency than the truth, in practice artefacts
    #: (a pixel-shuffle checkerboard reached 2.2 in a 3-minute CPU experiment), not detail.
    checks: ClassVar[tuple[Check, ...]] = (
        Check("hf_artefact", "hf_ratio > 1.2: artefacts", above=1.2),
        Check("not_sharper_than_{floor}", "hf_ratio not above {floor}", beat_floor=True))

    def compute(self, sample: MetricSample) -> float:
        sr, hr = _luma_pair(sample, "hf_ratio")
        band = beyond_lr_nyquist(hr.shape, sample.scale)
        sr_energy = float(np.sum(power_spectrum(sr, self.options.window)[band]))
        hr_energy = float(np.sum(power_spectrum(hr, self.options.window)[band]))
        if hr_energy <= FLAT_POWER * np.count_nonzero(band):
            return math.nan
        return sr_energy / hr_energy


class PeriodicRatio(Metric):
    """Share of the above-LR-Nyquist energy on the grid lines (:func:`grid_lines`), SR's over HR's.

    1 = as concentrated on those frequencies as the truth; well above 1 = periodic artefacts at
    the upsampling period (stripes, checkerboards). ``nan`` when HR or SR has no energy in the
    band (flat image, or an SR with nothing above the LR Nyquist frequency).
    """

    Options: ClassVar[type] = SpectralOptions
    higher_is_better: ClassVar[bool] = False
    #: Above 1.5 the output's detail sits on the x-scale grid lines at 1.5 times the truth's share
    #: or more: stripes or checkerboards, even when too faint for hf_ratio's bar. On ``default`` at
    #: x4 (quick profile; means over the 3 test photos) outputs without visible patterns scored
    #: 0.02 (bicubic) to 1.02, a checkerboard visible on coffee 1.9 (hf_ratio 0.14), faint
    #: horizontal stripes 4.6 (hf_ratio 0.034, just above bicubic's 0.032), plain stripes 13 to 37.
    checks: ClassVar[tuple[Check, ...]] = (
        Check("periodic_artefact", "periodic_ratio > 1.5: stripes/checkerboard", above=1.5),)

    def compute(self, sample: MetricSample) -> float:
        sr, hr = _luma_pair(sample, "periodic_ratio")
        band = beyond_lr_nyquist(hr.shape, sample.scale)
        lines = grid_lines(hr.shape, sample.scale)
        shares = []
        for power in (power_spectrum(sr, self.options.window), power_spectrum(hr, self.options.window)):
            total = float(np.sum(power[band]))
            if total <= FLAT_POWER * np.count_nonzero(band):
                return math.nan
            shares.append(float(np.sum(power[lines])) / total)
        return shares[0] / shares[1] if shares[1] > 0 else math.nan


class SpectralDistance(Metric):
    """Mean |log10 radial power of SR - that of HR| over bands above the LR Nyquist (0 = same spectrum)."""

    Options: ClassVar[type] = SpectralOptions
    higher_is_better: ClassVar[bool] = False

    def compute(self, sample: MetricSample) -> float:
        sr, hr = _luma_pair(sample, "spectral_distance")
        index, count = radial_bands(hr.shape, sample.scale)
        if count < 1:
            raise DataError(f"spectral_distance: image {sample.id!r} of {hr.shape[1]}x{hr.shape[0]} px is too "
                            f"small to resolve any band above the LR Nyquist frequency at x{sample.scale}")
        used = index >= 0
        samples_per_band = np.bincount(index[used], minlength=count)
        log_spectra = []
        for power in (power_spectrum(sr, self.options.window), power_spectrum(hr, self.options.window)):
            band_power = np.bincount(index[used], weights=power[used], minlength=count) / samples_per_band
            log_spectra.append(np.log10(band_power + LOG_POWER_EPS))
        return float(np.mean(np.abs(log_spectra[0] - log_spectra[1])))
