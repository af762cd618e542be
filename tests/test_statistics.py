"""Intervals of the leaderboard: Student-t quantiles, round-off, the crossed image-by-seed paired interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from srbench.runner.numfmt import fmt_number, fmt_signed
from srbench.runner.statistics import mean_ci, paired_difference, t_quantile


def test_t_quantiles_are_students_not_a_lookup_table():
    assert t_quantile(11) == pytest.approx(2.201, abs=1e-3)  # the old table said 2.131
    assert t_quantile(40) == pytest.approx(2.021, abs=1e-3) and t_quantile(40) > 1.96  # the old table said 1.96
    assert t_quantile(1) == pytest.approx(12.706, abs=1e-3)
    assert np.isnan(t_quantile(0))


def test_identical_seeds_give_a_zero_interval_not_round_off():
    mean, half = mean_ci(np.array([28.291234567] * 3))
    assert mean == pytest.approx(28.291234567) and half == 0.0
    assert f"{fmt_number(mean)} ± {fmt_number(half, 2)}" == "28.29 ± 0"
    assert np.isnan(mean_ci(np.array([1.0]))[1])


def test_mean_ci_matches_scipy():
    x = np.array([28.1, 28.3, 28.2, 28.6, 27.9])
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean_ci(x)[1] == pytest.approx((high - low) / 2)


def test_one_seed_is_a_paired_t_over_images():
    d = np.array([[0.1], [0.3], [-0.05], [0.2], [0.15]])
    res = stats.ttest_1samp(d[:, 0], 0.0).confidence_interval(0.95)
    out = paired_difference(d)
    assert out.mean == pytest.approx(d.mean())
    assert out.half_width == pytest.approx((res.high - res.low) / 2)
    assert (out.images, out.seeds) == (5, 1)


def test_one_image_one_seed_has_no_interval():
    out = paired_difference(np.array([[0.2]]))
    assert np.isnan(out.half_width) and out.verdict(+1) == "no interval"


def test_verdicts_follow_the_direction():
    d = np.full((4, 3), 0.05) + np.random.default_rng(1).normal(0, 0.005, (4, 3))
    assert paired_difference(d).verdict(+1) == "better"
    assert paired_difference(d).verdict(-1) == "worse"
    assert paired_difference(d - 0.05).verdict(+1) == "tied"
    assert paired_difference(np.zeros((3, 3)), magnitude=28.0).verdict(+1) == "tied"


def test_crossed_interval_covers_when_images_and_seeds_both_vary():
    """Differences with an image effect, a seed effect and noise: the interval holds the true mean
    at least 95% of the time, where a naive t over all image-by-seed cells (as if independent) does not."""
    rng = np.random.default_rng(0)
    n_img, n_seed, trials = 8, 3, 600
    covered = naive_covered = 0
    for _ in range(trials):
        d = (0.05 + rng.normal(0, 0.1, (n_img, 1)) + rng.normal(0, 0.1, (1, n_seed))
             + rng.normal(0, 0.02, (n_img, n_seed)))
        out = paired_difference(d)
        covered += abs(out.mean - 0.05) <= out.half_width
        naive = t_quantile(d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
        naive_covered += abs(d.mean() - 0.05) <= naive
    assert covered / trials >= 0.93  # 0.94 measured: nominal within the draws' spread (0.009)
    assert naive_covered / trials < 0.75  # 0.55 measured


def test_engineering_format():
    assert fmt_number(110627) == "110.6k"
    assert fmt_number(2.5e9) == "2.5G"
    assert fmt_number(8.2e-05, 2) == "0.000082"
    assert fmt_number(28.401) == "28.4" and fmt_number(float("nan")) == "–"
    assert fmt_signed(0.05) == "+0.05" and fmt_signed(-0.0123) == "-0.0123"
