"""Intervals for the leaderboard: the mean over seeds, and paired differences over images and seeds.

Both are Student-t intervals with quantiles from :func:`scipy.stats.t.ppf`. The paired one treats
the image-by-seed differences as a crossed two-way design (docs/results.md says why).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Two-sided confidence level of every interval on the leaderboard.
CONFIDENCE = 0.95
#: A half-width below this fraction of the values' magnitude is float round-off, printed as 0:
#: the spread of identical float64 values comes out near 1e-16 relative (3.4e-16 on a 28 dB mean),
#: a real spread of seeds is 1e-6 relative or more.
ROUND_OFF = 1e-9

VERDICT_BETTER, VERDICT_WORSE, VERDICT_TIED = "better", "worse", "tied"
#: One image and one seed: a difference without an interval is not called either way.
VERDICT_NO_INTERVAL = "no interval"


def t_quantile(dof: float) -> float:
    """Two-sided :data:`CONFIDENCE` Student-t quantile for ``dof`` degrees of freedom (NaN for none)."""
    if not dof > 0:
        return float("nan")
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, dof))


def clean_round_off(half_width: float, magnitude: float) -> float:
    """``half_width``, or 0.0 when it is round-off relative to ``magnitude`` (see :data:`ROUND_OFF`)."""
    if math.isnan(half_width):
        return half_width
    return 0.0 if abs(half_width) <= ROUND_OFF * abs(magnitude) else half_width


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and 95% half-width (Student t, n-1 dof) of independent values, e.g. one per seed.

    The half-width is NaN for fewer than two values.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan")
    half = t_quantile(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, clean_round_off(half, float(np.abs(x).max()))


@dataclass(frozen=True)
class PairedDifference:
    """Mean of an image-by-seed matrix of paired differences, with its 95% half-width.

    :param half_width: NaN with one image and one seed (nothing to estimate a spread from).
    :param dof: Satterthwaite degrees of freedom of the t quantile used.
    """

    mean: float
    half_width: float
    dof: float
    images: int
    seeds: int

    def verdict(self, better_sign: int) -> str:
        """``better`` / ``worse`` when the interval excludes 0 (``better_sign`` +1: a positive
        difference is better, -1: a negative one), ``tied`` when it holds 0."""
        if math.isnan(self.half_width):
            return VERDICT_NO_INTERVAL
        if abs(self.mean) <= self.half_width:
            return VERDICT_TIED
        return VERDICT_BETTER if self.mean * better_sign > 0 else VERDICT_WORSE


def paired_difference(diffs: np.ndarray, magnitude: float = 0.0) -> PairedDifference:
    """Mean and 95% interval of ``diffs[image, seed]`` (row minus reference on the same image and seed).

    The differences share an image effect along each row and a seed effect along each column, so
    they are not ``images * seeds`` independent values. With ``I`` images and ``S`` seeds,
    ``d[i, s] = mu + a_i + b_s + e_is`` has ``Var(mean) = var_a / I + var_b / S + var_e / (I S)``;
    the image and seed mean squares ``MS_A = S var(row means)``, ``MS_B = I var(column means)``
    estimate it by ``(MS_A + MS_B) / (I S)``, which counts ``var_e / (I S)`` twice (conservative,
    never negative), with Satterthwaite's degrees of freedom. One seed: a paired t over images
    (the seed-to-seed variation cannot be estimated); one image: a paired t over seeds.

    :param magnitude: typical size of the compared values, to clean round-off (:func:`clean_round_off`).
    """
    d = np.asarray(diffs, dtype=float)
    n_img, n_seed = d.shape
    mean = float(d.mean()) if d.size else float("nan")
    if d.size < 2:
        return PairedDifference(mean, float("nan"), 0.0, n_img, n_seed)
    if n_img == 1 or n_seed == 1:
        var, dof = float(d.var(ddof=1)) / d.size, float(d.size - 1)
    else:
        ms_a = n_seed * float(d.mean(axis=1).var(ddof=1))
        ms_b = n_img * float(d.mean(axis=0).var(ddof=1))
        var = (ms_a + ms_b) / d.size
        denominator = ms_a ** 2 / (n_img - 1) + ms_b ** 2 / (n_seed - 1)
        dof = (ms_a + ms_b) ** 2 / denominator if denominator > 0 else float(n_img + n_seed - 2)
    half = t_quantile(dof) * math.sqrt(var) if var > 0 else 0.0
    # identical outputs differ by round-off only: a mean of 1e-15 dB is no "better"
    return PairedDifference(clean_round_off(mean, magnitude), clean_round_off(half, magnitude), dof, n_img, n_seed)
