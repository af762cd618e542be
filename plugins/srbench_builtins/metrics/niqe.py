"""``niqe``: Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, IEEE SPL 2013).

A no-reference score: the distance between a multivariate Gaussian fitted to natural-scene
statistics of the output's blocks and the "pristine" Gaussian the authors fitted on 125
undistorted photos. Lower is better; HR is not used. With Ma et al.'s score it makes the PIRM
2018 perceptual index, ``(10 - Ma + NIQE) / 2``.

The pristine model is published data, not code: it is read from a file (``niqe.params_path``,
else ``$SRBENCH_NIQE_PARAMS``), an ``.npz`` with ``mu_pris_param`` (1, 36), ``cov_pris_param``
(36, 36) and ``gaussian_window`` (7, 7), as released with MATLAB's NIQE and mirrored by BasicSR
(``basicsr/metrics/niqe_pris_params.npz``). Without the file the metric is unavailable with
that reason; srbench never substitutes a parameter set of its own.

Protocol (MATLAB's release with BasicSR's defaults, which this follows step by step):

1. Y channel of MATLAB ``rgb2ycbcr`` rounded to integers (MATLAB stores it as ``uint8``);
   ``crop_border`` pixels (4) dropped from every side; then cut to whole 96 x 96 blocks from the
   top-left corner.
2. Two scales: the image, then MATLAB's antialiased bicubic ``imresize`` by 0.5 (of Y / 255,
   scaled back by 255), with 48 x 48 blocks.
3. At each scale, MSCN coefficients ``(I - mu) / (sigma + 1)`` with the 7 x 7 Gaussian window
   (``mu``, ``sigma`` local mean and deviation, border pixels replicated), then per block 18
   features: the GGD shape and scale of the coefficients, and for the four neighbour products
   (right, down, down-right, down-left, wrapping around the block as MATLAB's ``circshift``) the
   AGGD shape, mean and left/right scales. Shapes come from the moment ratio looked up in a
   table of shapes 0.2, 0.201, ..., 10.
4. The 36 features of all blocks give a mean and covariance (blocks with a NaN feature are left
   out of the covariance); the score is
   ``sqrt((mu_p - mu)^T pinv((cov_p + cov) / 2) (mu_p - mu))``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np
import torch
from scipy import ndimage, special

from srbench.errors import DataError, MetricUnavailableError, UsageError
from srbench.interfaces import Metric, MetricSample
from srbench.ops.imresize import imresize
from srbench.options import option

from .protocol import y_cropped

#: Environment variable naming the pristine-parameter file when the option is empty.
PARAMS_ENV = "SRBENCH_NIQE_PARAMS"
#: Block side of the pristine model (the authors fitted it on 96 x 96 blocks).
BLOCK = 96
#: Feature count: 18 per scale, two scales.
FEATURES = 36
#: MATLAB's shape table for the (A)GGD moment-ratio lookup: 0.2:0.001:10.
_SHAPES = 0.2 + 0.001 * np.arange(9801)
#: Neighbour products of the MSCN map: right, down, down-right, down-left (row, column shifts
#: given to ``np.roll``, which wraps like MATLAB's ``circshift``).
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


@dataclass(frozen=True)
class NiqeOptions:
    """Options of ``niqe``."""

    params_path: str = option("", f"pristine-model .npz (mu_pris_param, cov_pris_param, gaussian_window); default "
                                  f"${PARAMS_ENV}", affects_results=False)
    crop_border: int = option(4, "pixels dropped from every border before scoring (the PIRM protocol's 4)")

    def __post_init__(self) -> None:
        if self.crop_border < 0:
            raise ValueError(f"invalid crop_border {self.crop_border!r}; expected an integer >= 0")


class PristineModel(NamedTuple):
    """The published pristine multivariate Gaussian and the MSCN window."""

    mu: np.ndarray
    cov: np.ndarray
    window: np.ndarray


def params_file(options: NiqeOptions) -> Path | None:
    """The parameter file the options (else the environment) name, or ``None``."""
    value = options.params_path or os.environ.get(PARAMS_ENV, "")
    return Path(value).expanduser() if value else None


@lru_cache(maxsize=4)
def load_pristine_model(path: Path, stamp: tuple[int, int] = (0, 0)) -> PristineModel:
    """Read and check a pristine-parameter ``.npz`` (cached per path and ``(mtime, size)`` stamp).

    :raises DataError: naming the file and the key that is missing or of the wrong shape.
    """
    try:
        with np.load(path) as data:
            arrays = {k: np.asarray(data[k], dtype=np.float64) for k in data.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"niqe: cannot read {path} as .npz ({exc})") from None
    expected = {"mu_pris_param": (1, FEATURES), "cov_pris_param": (FEATURES, FEATURES), "gaussian_window": (7, 7)}
    for key, shape in expected.items():
        if key not in arrays or arrays[key].shape != shape:
            got = arrays[key].shape if key in arrays else "missing"
            raise DataError(f"niqe: {path} is not a NIQE pristine model: {key} is {got}, expected shape {shape}")
    return PristineModel(arrays["mu_pris_param"][0], arrays["cov_pris_param"], arrays["gaussian_window"])


@lru_cache(maxsize=1)
def _moment_ratios() -> np.ndarray:
    """``Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))`` for every shape ``a`` of the table."""
    inv = 1.0 / _SHAPES
    return special.gamma(2 * inv) ** 2 / (special.gamma(inv) * special.gamma(3 * inv))


def fit_aggd(x: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian fit of the samples ``x`` (Lasmar et al. 2009's moment method).

    :returns: shape ``alpha``, left scale and right scale (scales NaN when ``x`` has no negative or
        no positive sample, as MATLAB's mean of an empty set; ``alpha`` is then the table's first
        shape, as MATLAB's min over NaNs gives).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt(np.mean(x[x < 0] ** 2)) if np.any(x < 0) else np.float32(np.nan)
        right = np.sqrt(np.mean(x[x > 0] ** 2)) if np.any(x > 0) else np.float32(np.nan)
        ratio = left / right
        rhat = np.mean(np.abs(x)) ** 2 / np.mean(x ** 2)
        rhat_norm = rhat * (ratio ** 3 + 1) * (ratio + 1) / (ratio ** 2 + 1) ** 2
    alpha = float(_SHAPES[np.argmin((_moment_ratios() - rhat_norm) ** 2)])
    spread = math.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
    return alpha, float(left) * spread, float(right) * spread


def block_features(block: np.ndarray) -> list[float]:
    """The 18 NIQE features of one MSCN block ``(h, w)``."""
    alpha, left, right = fit_aggd(block.ravel())
    features = [alpha, (left + right) / 2]
    for shift in _SHIFTS:
        alpha, left, right = fit_aggd((block * np.roll(block, shift, axis=(0, 1))).ravel())
        mean = (right - left) * special.gamma(2 / alpha) / special.gamma(1 / alpha)
        features += [alpha, mean, left, right]
    return features


def mscn(y: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients ``(y - mu) / (sigma + 1)``."""
    mu = ndimage.correlate(y, window, mode="nearest")
    sigma = np.sqrt(np.abs(ndimage.correlate(y * y, window, mode="nearest") - mu * mu))
    return (y - mu) / (sigma + 1.0)


def niqe_of_luma(y: np.ndarray, model: PristineModel) -> float:
    """NIQE of a luma image on the 0-255 scale (already rounded and border-cropped).

    The image statistics are computed in float32, as by the reference implementation whose
    values the conformance test holds this to (BasicSR's, which matches MATLAB's release to 4
    decimals on Set14's baboon, 30 blocks). NIQE's shape lookup is a step function, so on an
    image of 4 blocks float64 arithmetic lands elsewhere: 0.34 higher on Set5's head (measured
    on cpu2, 2026-12-02), a difference MATLAB's double arithmetic would show too.

    :raises MetricUnavailableError: when the image holds fewer than two 96 x 96 blocks (no covariance).
    """
    rows, cols = y.shape[0] // BLOCK, y.shape[1] // BLOCK
    if rows * cols < 2:
        raise MetricUnavailableError(
            f"niqe: a {y.shape[1]}x{y.shape[0]} px image (borders cropped) holds "
            f"{rows * cols} block(s) of {BLOCK} px; NIQE needs at least 2 (is --set profile.eval_max_side cropping "
            "the test images?)")
    img = y[:rows * BLOCK, :cols * BLOCK].astype(np.float32)
    per_scale = []
    for side in (BLOCK, BLOCK // 2):
        coefficients = mscn(img, model.window)
        per_scale.append([block_features(coefficients[r * side:(r + 1) * side, c * side:(c + 1) * side])
                          for r in range(rows) for c in range(cols)])
        if side == BLOCK:  # the second scale: MATLAB imresize(I / 255, 0.5) * 255
            img = imresize(torch.from_numpy(img / np.float32(255.0)), scale=0.5).numpy() * np.float32(255.0)
    feats = np.concatenate([np.asarray(f, dtype=np.float64) for f in per_scale], axis=1)
    mu = np.nanmean(feats, axis=0)
    complete = feats[~np.isnan(feats).any(axis=1)]
    cov = np.cov(complete, rowvar=False)
    diff = model.mu - mu
    return float(math.sqrt(max(float(diff @ np.linalg.pinv((model.cov + cov) / 2) @ diff), 0.0)))


class Niqe(Metric):
    """NIQE of the SR output alone (no reference), lower is better; needs the published pristine model file."""

    Options: ClassVar[type] = NiqeOptions
    higher_is_better: ClassVar[bool] = False
    realism: ClassVar[bool] = True  # no-reference naturalness (the PIRM perceptual index's NIQE)

    def unavailable_reason(self) -> str | None:
        path = params_file(self.options)
        if path is None:
            return (f"no NIQE pristine-model file: set --set niqe.params_path=FILE or ${PARAMS_ENV} to the published "
                    "niqe_pris_params.npz (BasicSR's basicsr/metrics/niqe_pris_params.npz)")
        if not path.is_file():
            source = "niqe.params_path" if self.options.params_path else f"${PARAMS_ENV}"
            return f"{source} names {path}, which is not a file"
        return None

    def _model(self) -> PristineModel:
        path = params_file(self.options)
        if path is None or not path.is_file():
            raise UsageError(f"niqe is unavailable: {self.unavailable_reason()}")
        stat = path.stat()
        return load_pristine_model(path.resolve(), (stat.st_mtime_ns, stat.st_size))

    def compute(self, sample: MetricSample) -> float:
        y = y_cropped(sample.sr, self.options.crop_border, "niqe", sample.id, round_y=True)
        return niqe_of_luma(y, self._model())
