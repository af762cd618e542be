"""lr_psnr, hf_ratio, spectral_distance and periodic_ratio on a real photo (scikit-image's astronaut), x4."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from srbench.data.pipeline import degrade_image
from srbench.hookspecs import hookimpl
from srbench.interfaces import Degradation, MetricSample
from srbench.ops.color import quantize
from srbench.ops.imresize import imresize
from srbench.plugin_manager import load_plugins
from srbench_builtins.metrics.lr_psnr import LrPsnr, LrPsnrOptions
from srbench_builtins.metrics.spectral import HfRatio, PeriodicRatio, SpectralDistance, SpectralOptions, grid_lines

SCALE = 4
SIDE = 256
IMAGE_ID = "astronaut"


class MatlabBicubic(Degradation):
    """The benchmark's standard measurement: MATLAB bicubic downscaling."""

    def apply(self, hr: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        return imresize(hr, scale=1 / self.scale, size=self.lr_size(hr.shape[-2], hr.shape[-1]))


class NoisyBicubic(MatlabBicubic):
    """Bicubic plus Gaussian noise (sigma 5 gray levels) drawn from the generator: a random operator."""

    random = True

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        return {"seed": torch.randint(0, 2**31 - 1, (batch_size,), generator=generator)}

    def apply(self, hr: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        lr = super().apply(hr, params)
        noise = torch.stack([torch.randn(lr.shape[1:], generator=torch.Generator().manual_seed(int(s)))
                             for s in params["seed"]])
        return lr + noise * (5.0 / 255.0)


def _hr_photo() -> torch.Tensor:
    """A 256x256 crop of a real photo, contrast reduced to [32, 223] so that +-16 gray levels of
    checkerboard never clip (clipping would add broadband, non-periodic energy of its own)."""
    skimage_data = pytest.importorskip("skimage.data")
    crop = torch.from_numpy(skimage_data.astronaut()[:SIDE, 128:128 + SIDE].copy()).permute(2, 0, 1)
    return (crop.float() * 0.75 + 32.0).round().to(torch.uint8)


def _checkerboard(amplitude: float) -> torch.Tensor:
    """+-amplitude squares of side scale/2: period ``scale`` along both axes (a pixel-shuffle artefact)."""
    index = torch.arange(SIDE) // (SCALE // 2)
    return ((index[:, None] + index[None, :]) % 2 * 2 - 1).float() * amplitude


def _add(img: torch.Tensor, pattern: torch.Tensor) -> torch.Tensor:
    return (img.float() + pattern).clamp(0, 255).round().to(torch.uint8)


@pytest.fixture(scope="module")
def photo() -> dict[str, Any]:
    hr = _hr_photo()
    degradation = MatlabBicubic(SCALE)
    lr = degrade_image(hr, degradation, 0, IMAGE_ID)
    bicubic = quantize(imresize(lr[None].float() / 255.0, scale=SCALE))[0]
    return {"hr": hr, "lr": lr, "bicubic": bicubic, "degradation": degradation}


def _sample(photo: dict[str, Any], sr: torch.Tensor, degradation: Degradation | None = None) -> MetricSample:
    return MetricSample(IMAGE_ID, sr, photo["hr"], photo["lr"], SCALE, degradation or photo["degradation"])


def _scores(photo: dict[str, Any], sr: torch.Tensor) -> tuple[float, float]:
    sample = _sample(photo, sr)
    return HfRatio().compute(sample), SpectralDistance().compute(sample)


# -- hf_ratio and spectral_distance -----------------------------------------------------------

def test_ground_truth_is_the_reference(photo: dict[str, Any]) -> None:
    hf, distance = _scores(photo, photo["hr"])
    assert hf == pytest.approx(1.0, abs=1e-12)
    assert distance == pytest.approx(0.0, abs=1e-12)


def test_bicubic_lacks_detail(photo: dict[str, Any]) -> None:
    hf, distance = _scores(photo, photo["bicubic"])
    assert hf < 0.5
    assert distance > 1.0  # decades of missing power, averaged over the bands


def test_shifted_truth_keeps_its_spectrum(photo: dict[str, Any]) -> None:
    # Detail in the wrong place fails PSNR but has the right spectrum: these metrics measure detail only.
    hf, distance = _scores(photo, torch.roll(photo["hr"], (3, 3), (1, 2)))
    assert hf == pytest.approx(1.0, abs=0.1)
    assert distance < 0.05


def test_checkerboard_on_bicubic_fools_hf_ratio_not_spectral_distance(photo: dict[str, Any]) -> None:
    _, bicubic_distance = _scores(photo, photo["bicubic"])
    hf, distance = _scores(photo, _add(photo["bicubic"], _checkerboard(16.0)))
    assert hf > 1.2
    # The artefact's energy sits in ~3 of 96 bands, where it overshoots the truth; the blur
    # deficit of the others stays, so the score does not improve over plain bicubic.
    assert distance > 0.95 * bicubic_distance


def test_spectral_distance_grows_with_periodic_artefacts(photo: dict[str, Any]) -> None:
    distances = [_scores(photo, _add(photo["hr"], _checkerboard(a)))[1] for a in (0.0, 4.0, 16.0)]
    assert distances[0] == pytest.approx(0.0, abs=1e-12)
    assert 0.0 < distances[1] < distances[2]
    assert distances[2] > 0.05


def _stripes(amplitude: float, period: int) -> torch.Tensor:
    """+-amplitude horizontal stripes of ``period`` rows (period 2: the artefact seen on ``default``)."""
    rows = (torch.arange(SIDE) // (period // 2)) % 2 * 2 - 1
    return rows[:, None].float().expand(SIDE, SIDE) * amplitude


def test_periodic_ratio_is_one_for_the_truth_and_low_for_bicubic(photo: dict[str, Any]) -> None:
    assert PeriodicRatio().compute(_sample(photo, photo["hr"])) == pytest.approx(1.0, abs=1e-12)
    assert PeriodicRatio().compute(_sample(photo, torch.roll(photo["hr"], (3, 3), (1, 2)))) == pytest.approx(1.0, abs=0.1)
    assert PeriodicRatio().compute(_sample(photo, photo["bicubic"])) < 1.0


@pytest.mark.parametrize("pattern", ["checkerboard", "stripes2", "stripes4"])
def test_faint_periodic_artefacts_raise_periodic_ratio_but_not_hf_ratio(photo: dict[str, Any], pattern: str) -> None:
    # 2 grey levels: too faint to see at a glance, and hf_ratio stays far below its 1.2 artefact bar.
    faint = {"checkerboard": _checkerboard(2.0), "stripes2": _stripes(2.0, 2), "stripes4": _stripes(2.0, 4)}[pattern]
    sr = _add(photo["bicubic"], faint)
    hf_plain, _ = _scores(photo, photo["bicubic"])
    hf, _ = _scores(photo, sr)
    assert hf < 0.5 and hf > hf_plain  # passes "sharper than bicubic" on the artefact alone
    assert PeriodicRatio().compute(_sample(photo, sr)) > 3.0 * PeriodicRatio().compute(_sample(photo, photo["bicubic"]))
    assert PeriodicRatio().compute(_sample(photo, sr)) > 1.5


def test_grid_lines_are_the_multiples_of_one_over_the_scale_above_lr_nyquist() -> None:
    lines = grid_lines((64, 64), 4)
    f = np.fft.fftfreq(64)
    assert lines[np.argmin(abs(f - 0.5)), 1] and lines[np.argmin(abs(f - 0.25)), 1]  # fy = 0.5, 0.25
    assert lines[1, np.argmin(abs(f + 0.25))]  # fx = -0.25
    assert not lines[np.argmin(abs(f - 0.375)), np.argmin(abs(f - 0.375))]  # between the lines
    assert not lines[0, 0] and not lines[np.argmin(abs(f - 0.1)), 0]  # below the LR Nyquist (0.125)
    assert grid_lines((64, 64), 2).sum() > 0 and not grid_lines((64, 64), 2)[np.argmin(abs(f - 0.25)), 0]


def test_without_window_border_leakage_inflates_bicubic_hf_ratio(photo: dict[str, Any]) -> None:
    sample = _sample(photo, photo["bicubic"])
    windowed = HfRatio(SpectralOptions(window="hann")).compute(sample)
    raw = HfRatio(SpectralOptions(window="none")).compute(sample)
    assert raw > windowed


def test_flat_ground_truth_gives_nan_not_a_number_we_made_up(photo: dict[str, Any]) -> None:
    flat = torch.full_like(photo["hr"], 128)
    sample = MetricSample(IMAGE_ID, photo["bicubic"], flat, photo["lr"], SCALE, photo["degradation"])
    assert math.isnan(HfRatio().compute(sample))
    assert math.isnan(PeriodicRatio().compute(sample))


def test_hf_ratio_declares_its_target() -> None:
    assert HfRatio.target == 1.0
    assert SpectralDistance.higher_is_better is False


# -- lr_psnr ------------------------------------------------------------------------------------

def test_lr_psnr_of_ground_truth_reproduces_the_input(photo: dict[str, Any]) -> None:
    assert LrPsnr().compute(_sample(photo, photo["hr"])) >= 40.0


def test_lr_psnr_of_bicubic_is_high_and_of_shifted_output_low(photo: dict[str, Any]) -> None:
    assert LrPsnr().compute(_sample(photo, photo["bicubic"])) > 35.0
    assert LrPsnr().compute(_sample(photo, torch.roll(photo["hr"], (3, 3), (1, 2)))) < 30.0


def test_lr_psnr_scores_the_clamped_output(photo: dict[str, Any]) -> None:
    # Column stripes of +-120 nearly cancel under the x4 low-pass: before clipping the output
    # explains the LR (> 50 dB); once stored as uint8 the clipped stripes no longer cancel.
    stripes = ((torch.arange(SIDE) % 2) * 2 - 1).float() * 120.0
    unclipped = photo["hr"].float() + stripes
    reproduced = photo["degradation"].apply(unclipped[None] / 255.0, {})[0] * 255.0
    mse = torch.mean((reproduced[:, 1:-1, 1:-1] - photo["lr"][:, 1:-1, 1:-1].float()) ** 2).item()
    assert 10 * math.log10(255.0 ** 2 / mse) > 50.0
    assert LrPsnr().compute(_sample(photo, _add(photo["hr"], stripes))) < 30.0


def test_lr_psnr_reapplies_the_random_draw_of_the_test_set(photo: dict[str, Any]) -> None:
    noisy = NoisyBicubic(SCALE)
    lr = degrade_image(photo["hr"], noisy, LrPsnrOptions().seed, IMAGE_ID)
    sample = MetricSample(IMAGE_ID, photo["hr"], photo["hr"], lr, SCALE, noisy)
    assert LrPsnr().compute(sample) == math.inf  # the very same noise as the stored LR
    other_draw = LrPsnr(LrPsnrOptions(seed=1)).compute(sample)
    assert 30.0 < other_draw < 40.0  # only the deterministic part agrees: two noises of sigma 5 differ


def test_lr_psnr_default_seed_is_the_runners_eval_seed() -> None:
    from srbench.runner.runner import EVAL_SEED

    assert LrPsnrOptions().seed == EVAL_SEED


def test_lr_psnr_without_degradation_is_unavailable(photo: dict[str, Any]) -> None:
    from srbench.errors import MetricUnavailableError

    sample = MetricSample(IMAGE_ID, photo["hr"], photo["hr"], photo["lr"], SCALE, None)
    with pytest.raises(MetricUnavailableError, match="no degradation"):
        LrPsnr().compute(sample)


# -- registration ---------------------------------------------------------------------------

class _SpectralMetricsPlugin:
    """Registers this file's metrics the way ``srbench_builtins.metrics`` will."""

    @hookimpl
    def srbench_register_metrics(self, metrics: Any) -> None:
        metrics.register("lr_psnr", LrPsnr)
        metrics.register("hf_ratio", HfRatio)
        metrics.register("spectral_distance", SpectralDistance)


def test_metrics_register_and_score_through_the_registry(photo: dict[str, Any]) -> None:
    registry = load_plugins(autoload=False, objects=[("test-metrics", _SpectralMetricsPlugin())]).registries.metrics
    sample = _sample(photo, photo["bicubic"])
    values = {name: registry.create(name).compute(sample) for name in ("lr_psnr", "hf_ratio", "spectral_distance")}
    assert all(np.isfinite(v) for v in values.values())
    assert values["hf_ratio"] < 0.5
