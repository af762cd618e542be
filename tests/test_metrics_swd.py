"""``swd``: sliced Wasserstein distance of Laplacian-pyramid patch statistics, tested on its properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from srbench.errors import DataError
from srbench.interfaces import MetricSample
from srbench.options import parse_options
from srbench_builtins.metrics.swd import Swd, SwdOptions, laplacian_pyramid

SCALE = 4


def photo(side: int = 160) -> torch.Tensor:
    """A real photo (scikit-image's astronaut, shipped with the package), ``uint8`` ``(3, side, side)``."""
    from skimage import data

    img = data.astronaut()[100:100 + side, 150:150 + side]
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()


def as_uint8(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.clip(np.round(x), 0, 255).astype(np.uint8))


def blurred(img: torch.Tensor, sigma: float) -> torch.Tensor:
    return as_uint8(ndimage.gaussian_filter(img.numpy().astype(np.float64), sigma=(0, sigma, sigma)))


def noisy(img: torch.Tensor, std: float) -> torch.Tensor:
    rng = np.random.default_rng(1)
    return as_uint8(img.numpy() + rng.normal(0.0, std, img.shape))


def checkerboard(img: torch.Tensor, amplitude: float) -> torch.Tensor:
    """A pixel-shuffle-like artefact: +-amplitude on alternate pixels."""
    h, w = img.shape[-2:]
    sign = (np.indices((h, w)).sum(axis=0) % 2) * 2 - 1
    return as_uint8(img.numpy() + amplitude * sign[None])


def swd(sr: torch.Tensor, hr: torch.Tensor, **options: object) -> float:
    metric = Swd(parse_options(SwdOptions, options, "swd"))
    return metric.compute(MetricSample("img", sr, hr, hr[:, ::SCALE, ::SCALE], SCALE))


def test_identical_images_give_exactly_zero():
    hr = photo()
    assert swd(hr, hr) == 0.0
    flat = torch.full((3, 64, 64), 128, dtype=torch.uint8)
    assert swd(flat, flat) == 0.0


@pytest.mark.parametrize("distort, weak, strong", [(blurred, 0.7, 2.0), (noisy, 2.0, 8.0),
                                                    (checkerboard, 3.0, 12.0)])
def test_blur_noise_and_checkerboard_raise_it_and_more_raise_it_more(distort, weak, strong):
    hr = photo()
    little, much = swd(distort(hr, weak), hr), swd(distort(hr, strong), hr)
    assert 0 < little < much


def test_it_is_symmetric_in_sr_and_hr():
    hr = photo()
    for sr in (blurred(hr, 1.5), noisy(hr, 5.0), checkerboard(hr, 6.0)):
        assert swd(sr, hr) == swd(hr, sr)


def test_it_is_deterministic_and_its_seed_only_resamples():
    hr, sr = photo(), blurred(photo(), 1.5)
    assert swd(sr, hr) == swd(sr, hr)
    other = swd(sr, hr, seed=1)
    assert other != swd(sr, hr) and other == pytest.approx(swd(sr, hr), rel=0.05)


def test_blur_shows_in_the_finest_level_most():
    hr = photo()
    metric = Swd()
    metric.compute_set([MetricSample("img", blurred(hr, 1.5), hr, hr[:, ::SCALE, ::SCALE], SCALE)])
    levels = metric.details()
    assert list(levels) == ["level0", "level1", "level2"]
    assert levels["level0"] > levels["level1"] > levels["level2"] > 0


def test_set_value_is_the_mean_of_the_per_image_values_and_details_the_per_level_means():
    hr_a, hr_b = photo(160), photo(96)
    samples = [MetricSample("a", blurred(hr_a, 1.0), hr_a, hr_a, SCALE),
               MetricSample("b", noisy(hr_b, 6.0), hr_b, hr_b, SCALE)]
    metric = Swd()
    mean, per_image = metric.compute_set(samples)
    assert per_image == [metric.compute(s) for s in samples]
    assert mean == pytest.approx(sum(per_image) / 2)
    assert np.mean(list(metric.details().values())) == pytest.approx(mean, rel=1e-9)


def test_levels_too_small_for_a_patch_are_skipped_and_a_tiny_image_is_refused():
    bands = laplacian_pyramid(torch.rand(3, 20, 20), 5)
    assert [tuple(b.shape[-2:]) for b in bands] == [(20, 20), (10, 10)]
    tiny = torch.zeros((3, 12, 12), dtype=torch.uint8)
    with pytest.raises(DataError, match="too small"):
        swd(tiny, tiny)


def test_grayscale_images_are_scored():
    hr = photo()[:1]
    assert swd(hr, hr) == 0.0 and swd(blurred(hr, 1.5), hr) > 0


def test_bad_options_are_one_line_errors():
    from srbench.errors import UsageError

    with pytest.raises(UsageError, match="levels"):
        parse_options(SwdOptions, {"levels": "0"}, "--set swd")
    with pytest.raises(UsageError, match="patches"):
        parse_options(SwdOptions, {"patches": "-1"}, "--set swd")
