"""``niqe``: the published pristine model read from a file, never invented; conformance on Set5."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats

from srbench.errors import DataError, MetricUnavailableError
from srbench.interfaces import MetricSample
from srbench.ops.imresize import imresize, quantize
from srbench.options import parse_options
from srbench_builtins.metrics.niqe import PARAMS_ENV, Niqe, NiqeOptions, fit_aggd, load_pristine_model

#: ../shared/metrics/README.md: BasicSR's NIQE (MATLAB's release to 4 decimals) on Set5, HR and bicubic x4.
REFERENCE = {"baby": (3.322255, 7.465979), "bird": (5.283072, 8.133961), "butterfly": (5.205054, 9.371384),
             "head": (8.740756, 10.180236), "woman": (4.635157, 7.494576)}
PARAMS_FILE = "niqe_pris_params.npz"


def niqe(params: Path | str = "", **options: object) -> Niqe:
    return Niqe(parse_options(NiqeOptions, {"params_path": str(params), **options}, "--set niqe"))


def sample(sr: torch.Tensor, hr: torch.Tensor | None = None, image_id: str = "img") -> MetricSample:
    hr = sr if hr is None else hr
    return MetricSample(image_id, sr, hr, hr[:, ::4, ::4], 4)


def made_up_model(tmp_path: Path, **replace: np.ndarray) -> Path:
    """A file with the right keys and shapes but numbers of the test's own (never a real model)."""
    t = np.arange(-3, 4, dtype=np.float64)
    window = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * (7 / 6) ** 2))
    arrays = {"mu_pris_param": np.ones((1, 36)), "cov_pris_param": np.eye(36), "gaussian_window": window / window.sum()}
    arrays.update(replace)
    path = tmp_path / "model.npz"
    np.savez(path, **arrays)
    return path


def photo(side: int = 200) -> torch.Tensor:
    from skimage import data

    img = data.astronaut()[:side, 100:100 + side]
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()


def test_without_a_parameter_file_it_is_unavailable_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.delenv(PARAMS_ENV, raising=False)
    reason = niqe().unavailable_reason()
    assert "niqe.params_path" in reason and PARAMS_ENV in reason and "niqe_pris_params.npz" in reason
    assert "not a file" in niqe(tmp_path / "absent.npz").unavailable_reason()
    monkeypatch.setenv(PARAMS_ENV, str(tmp_path / "absent.npz"))
    assert f"${PARAMS_ENV} names" in niqe().unavailable_reason()


def test_the_environment_variable_is_used_when_the_option_is_empty(monkeypatch, tmp_path):
    monkeypatch.setenv(PARAMS_ENV, str(made_up_model(tmp_path)))
    assert niqe().unavailable_reason() is None
    value = niqe().compute(sample(photo()))
    assert np.isfinite(value) and value >= 0


def test_a_file_that_is_not_a_pristine_model_is_a_data_error_naming_the_key(tmp_path):
    path = made_up_model(tmp_path, cov_pris_param=np.eye(35))
    with pytest.raises(DataError, match=r"cov_pris_param is \(35, 35\)"):
        niqe(path).compute(sample(photo()))
    (tmp_path / "junk.npz").write_text("not numpy")
    with pytest.raises(DataError, match="cannot read"):
        load_pristine_model(tmp_path / "junk.npz")


def test_hr_is_ignored_and_small_images_are_unavailable(tmp_path):
    metric = niqe(made_up_model(tmp_path))
    img = photo()
    assert metric.compute(sample(img, img)) == metric.compute(sample(img, torch.zeros_like(img)))
    with pytest.raises(MetricUnavailableError, match="NIQE needs at least 2"):
        metric.compute(sample(photo(150)))  # 142 px after the 4-px border crop: one 96-px block


@pytest.mark.parametrize("shape", [0.8, 1.0, 2.0, 3.0])
def test_the_ggd_fit_recovers_the_shape_of_generated_samples(shape):
    x = stats.gennorm.rvs(shape, scale=0.7, size=200_000, random_state=3).astype(np.float32)
    alpha, left, right = fit_aggd(x)
    assert alpha == pytest.approx(shape, rel=0.05)
    # A symmetric GGD's deviation is s sqrt(Gamma(3/a) / Gamma(1/a)); the fit's scales undo that factor.
    assert left == pytest.approx(0.7, rel=0.05) and right == pytest.approx(0.7, rel=0.05)


def _set5(testdata: Path, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    hr = torch.from_numpy(np.array(Image.open(testdata / "Set5" / "HR" / f"{name}.png").convert("RGB")))
    hr = hr.permute(2, 0, 1).contiguous()
    hr = hr[:, :hr.shape[1] // 4 * 4, :hr.shape[2] // 4 * 4]
    # The README's "downscaled and upscaled by 4 ..., rounded to uint8": one rounding, at the end. Rounding
    # the LR too moves the values by 0.05-0.18 (measured on cpu2, 2026-12-02).
    bicubic = quantize(imresize(imresize(hr.double() / 255.0, scale=0.25), scale=4))
    return hr, bicubic


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_conforms_to_the_reference_values_on_set5(name, metrics_data_dir, testdata_dir):
    params = metrics_data_dir / PARAMS_FILE
    if not params.is_file():
        pytest.skip(f"{params} not found")
    metric = niqe(params)
    hr, bicubic = _set5(testdata_dir, name)
    expected_hr, expected_bicubic = REFERENCE[name]
    assert metric.compute(sample(hr)) == pytest.approx(expected_hr, abs=1e-3)
    assert metric.compute(sample(bicubic, hr)) == pytest.approx(expected_bicubic, abs=1e-3)
