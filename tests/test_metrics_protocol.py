"""psnr_y / ssim_y / psnr_rgb: conformance with the published Set5 bicubic table and with scikit-image."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srbench.errors import DataError
from srbench.interfaces import Metric, MetricSample
from srbench.options import parse_options
from srbench.ops.color import rgb_to_y
from srbench.ops.imresize import imresize, modcrop, quantize
from srbench.plugin_manager import load_plugins

REGISTRIES = load_plugins().registries

#: Bicubic baseline on Set5 (EDSR's table, identical in RCAN's): scale -> (PSNR dB, SSIM).
PUBLISHED_SET5_BICUBIC = {2: (33.66, 0.9299), 3: (30.39, 0.8682), 4: (28.42, 0.8104)}
PSNR_TOLERANCE_DB = 0.03
SSIM_TOLERANCE = 0.002


def _testdata_dir() -> Path:
    env = os.environ.get("SRBENCH_TESTDATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "testdata"


def metric(name: str, **options: object) -> Metric:
    cls = REGISTRIES.metrics.get(name).factory
    return REGISTRIES.metrics.create(name, parse_options(cls.Options, options, f"metric {name!r}"))


def sample(sr: torch.Tensor, hr: torch.Tensor, scale: int, image_id: str = "img") -> MetricSample:
    return MetricSample(image_id, sr, hr, hr[:, ::scale, ::scale], scale)


def noisy_pair(channels: int = 3, size: tuple[int, int] = (41, 53), seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    hr = torch.randint(0, 256, (channels, *size), generator=g)
    sr = (hr + torch.randint(-25, 26, hr.shape, generator=g)).clamp(0, 255)
    return sr.to(torch.uint8), hr.to(torch.uint8)


def y_crop(img: torch.Tensor, border: int) -> np.ndarray:
    """The reference Y of the protocol, from the torch op rather than the metrics' numpy path."""
    return rgb_to_y(img)[0, border:-border, border:-border].numpy()


# --- conformance with the literature ---------------------------------------------------------------


def _load_rgb(path: Path) -> torch.Tensor:
    with Image.open(path) as img:
        return torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).contiguous()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_set5_bicubic_matches_published_table(scale: int) -> None:
    hr_dir = _testdata_dir() / "Set5" / "HR"
    files = sorted(hr_dir.glob("*.png")) if hr_dir.is_dir() else []
    if len(files) != 5:
        pytest.skip(f"Set5 HR images not found in {hr_dir} (set SRBENCH_TESTDATA to the testdata folder)")
    degradation = REGISTRIES.degradations.create("bicubic", scale)
    psnr_y, ssim_y = metric("psnr_y"), metric("ssim_y")
    psnrs, ssims = [], []
    for path in files:
        hr = modcrop(_load_rgb(path), scale)
        lr = quantize(degradation.apply(hr[None].float() / 255, {}))[0]
        sr = quantize(imresize(lr[None].float() / 255, scale))[0]
        assert sr.shape == hr.shape
        s = MetricSample(path.stem, sr, hr, lr, scale, degradation)
        psnrs.append(psnr_y.compute(s))
        ssims.append(ssim_y.compute(s))
    expected_psnr, expected_ssim = PUBLISHED_SET5_BICUBIC[scale]
    mean_psnr, mean_ssim = float(np.mean(psnrs)), float(np.mean(ssims))
    print(f"Set5 x{scale}: PSNR {mean_psnr:.4f} dB (published {expected_psnr}), SSIM {mean_ssim:.5f} (published {expected_ssim})")
    assert abs(mean_psnr - expected_psnr) <= PSNR_TOLERANCE_DB
    assert abs(mean_ssim - expected_ssim) <= SSIM_TOLERANCE


# --- agreement with scikit-image -------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_psnr_y_and_ssim_y_match_skimage(scale: int) -> None:
    sr, hr = noisy_pair(seed=scale)
    s = sample(sr, hr, scale)
    a, b = y_crop(sr, scale), y_crop(hr, scale)
    expected_psnr = peak_signal_noise_ratio(b, a, data_range=255)
    expected_ssim = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                          data_range=255)
    assert abs(metric("psnr_y").compute(s) - expected_psnr) < 1e-6
    assert abs(metric("ssim_y").compute(s) - expected_ssim) < 1e-4


def test_round_y_option_matches_skimage_on_rounded_luma() -> None:
    sr, hr = noisy_pair(seed=9)
    s = sample(sr, hr, 3)
    a, b = np.floor(y_crop(sr, 3) + 0.5), np.floor(y_crop(hr, 3) + 0.5)
    assert abs(metric("psnr_y", round_y=True).compute(s) - peak_signal_noise_ratio(b, a, data_range=255)) < 1e-6
    expected = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    assert abs(metric("ssim_y", round_y="true").compute(s) - expected) < 1e-4
    assert metric("psnr_y", round_y=True).compute(s) != metric("psnr_y").compute(s)


def test_psnr_rgb_matches_skimage() -> None:
    sr, hr = noisy_pair(seed=4)
    a = sr[:, 4:-4, 4:-4].double().numpy()
    b = hr[:, 4:-4, 4:-4].double().numpy()
    expected = peak_signal_noise_ratio(b, a, data_range=255)
    assert abs(metric("psnr_rgb").compute(sample(sr, hr, 4)) - expected) < 1e-6


def test_grayscale_image_is_its_own_luma() -> None:
    sr, hr = noisy_pair(channels=1, seed=2)
    a, b = sr[0, 2:-2, 2:-2].double().numpy(), hr[0, 2:-2, 2:-2].double().numpy()
    s = sample(sr, hr, 2)
    assert abs(metric("psnr_y").compute(s) - peak_signal_noise_ratio(b, a, data_range=255)) < 1e-6
    expected = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    assert abs(metric("ssim_y").compute(s) - expected) < 1e-4
    assert metric("psnr_rgb").compute(s) == metric("psnr_y").compute(s)


# --- protocol details --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["psnr_y", "ssim_y", "psnr_rgb"])
def test_border_of_scale_pixels_is_ignored(name: str) -> None:
    _, hr = noisy_pair(seed=5)
    sr = hr.clone()
    sr[:, :3, :] = 255 - sr[:, :3, :]  # ruin exactly the 3-px border that x3 crops
    sr[:, :, -3:] = 0
    value = metric(name).compute(sample(sr, hr, 3))
    assert value == (math.inf if name.startswith("psnr") else pytest.approx(1.0, abs=1e-12))
    # at x2 one ruined row and column remain inside the crop, and the score drops
    assert metric(name).compute(sample(sr, hr, 2)) < (60.0 if name.startswith("psnr") else 1.0 - 1e-6)


def test_higher_scores_for_closer_images() -> None:
    _, hr = noisy_pair(seed=6)
    near = (hr.int() + 3).clamp(0, 255).to(torch.uint8)
    far = (hr.int() + 30).clamp(0, 255).to(torch.uint8)
    for name in ("psnr_y", "ssim_y", "psnr_rgb"):
        m = metric(name)
        assert m.higher_is_better
        assert m.compute(sample(near, hr, 2)) > m.compute(sample(far, hr, 2))


@pytest.mark.parametrize("name", ["psnr_y", "ssim_y", "psnr_rgb"])
def test_bad_inputs_are_data_errors(name: str) -> None:
    sr, hr = noisy_pair(seed=7)
    with pytest.raises(DataError, match="shape"):
        metric(name).compute(sample(sr[:, :-1], hr, 2))
    tiny = hr[:, :8, :8]
    with pytest.raises(DataError, match="too small"):
        metric(name).compute(sample(tiny, tiny, 4))
