"""``ssim_y``: SSIM (Wang et al. 2004) on the BT.601 luma with ``scale`` pixels cropped per border.

Matches MATLAB ``ssim_index`` and scikit-image's ``structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)``: 11x11 Gaussian window (sigma 1.5),
K1 = 0.01, K2 = 0.03, statistics only where the whole window fits ('valid'), averaged.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from srbench.errors import DataError
from srbench.interfaces import Metric, MetricSample

from .protocol import PEAK, LumaOptions, check_pair, y_cropped

#: Wang et al.'s window: Gaussian sigma 1.5 px, 11 x 11 taps (radius 5).
WINDOW_SIGMA = 1.5
WINDOW_RADIUS = 5
K1, K2 = 0.01, 0.03


@lru_cache(maxsize=8)
def _window_1d(sigma: float, radius: int) -> np.ndarray:
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()  # the 2-D window is the outer product, which then also sums to 1


def _filtered_statistics(a: np.ndarray, b: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Gaussian-filtered ``a``, ``b``, ``a^2 + b^2`` and ``a b``, 'valid' region: ``(4, H-2r, W-2r)``.

    Separable (width pass, then height pass) into preallocated buffers: fresh 2 MB temporaries
    cost page faults, and this order and reuse halve the time (8 ms instead of 18 ms at 480x500).
    The borders are cut afterwards, so the padding mode never reaches the result.
    """
    r = (len(window) - 1) // 2
    h, w = a.shape
    full = np.empty((4, h, w))
    along_width = np.empty((h, w))
    squares = np.multiply(a, a, out=full[3])  # full[3] is free until the last map
    squares += np.multiply(b, b, out=along_width)
    products = np.multiply(a, b)
    for i, image in enumerate((a, b, squares, products)):
        ndimage.correlate1d(image, window, axis=1, mode="constant", output=along_width)
        ndimage.correlate1d(along_width, window, axis=0, mode="constant", output=full[i])
    return full[:, r:h - r, r:w - r]


def gaussian_ssim(a: np.ndarray, b: np.ndarray, data_range: float = PEAK, sigma: float = WINDOW_SIGMA,
                  radius: int = WINDOW_RADIUS) -> float:
    """Mean SSIM of two 2-D float64 arrays with a Gaussian window, 'valid' region only.

    :param data_range: dynamic range of the values (255 for 8-bit images).
    :raises DataError: when the arrays differ in shape or are smaller than the window.
    """
    if a.shape != b.shape or a.ndim != 2 or min(a.shape) < 2 * radius + 1:
        raise DataError(f"gaussian_ssim: need two equal 2-D arrays of side >= {2 * radius + 1}, "
                         f"got {a.shape} and {b.shape}")
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    # SSIM needs sigma_a^2 + sigma_b^2 only as a sum, so four filtered maps suffice, not five.
    filtered = _filtered_statistics(a, b, _window_1d(sigma, radius))
    mu_a, mu_b, mean_sq_sum, mean_prod = filtered
    # In-place arithmetic on the four maps: about 2 ms less than the textbook expression at 480x500.
    mu_ab = mu_a * mu_b
    mu_sq_sum = np.multiply(mu_a, mu_a, out=mu_a)
    mu_sq_sum += np.multiply(mu_b, mu_b, out=mu_b)
    contrast_num = np.subtract(mean_prod, mu_ab, out=mean_prod)  # covariance ...
    contrast_num *= 2.0
    contrast_num += c2  # ... -> 2 cov + C2
    contrast_den = np.subtract(mean_sq_sum, mu_sq_sum, out=mean_sq_sum)
    contrast_den += c2  # var_a + var_b + C2
    mu_ab *= 2.0
    mu_ab += c1  # 2 mu_a mu_b + C1
    mu_sq_sum += c1  # mu_a^2 + mu_b^2 + C1
    mu_ab *= contrast_num
    mu_sq_sum *= contrast_den
    mu_ab /= mu_sq_sum
    return float(mu_ab.mean())


class SsimY(Metric):
    """SSIM of the Y channel, ``scale``-pixel border cropped, 11x11 Gaussian window, as in SR tables."""

    Options = LumaOptions
    higher_is_better = True

    def compute(self, sample: MetricSample) -> float:
        check_pair(sample, "ssim_y")
        side = 2 * WINDOW_RADIUS + 1
        sr = y_cropped(sample.sr, sample.scale, "ssim_y", sample.id, side, self.options.round_y)
        hr = y_cropped(sample.hr, sample.scale, "ssim_y", sample.id, side, self.options.round_y)
        return gaussian_ssim(sr, hr)
