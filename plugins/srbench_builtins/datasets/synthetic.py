"""``synthetic[:COUNTxSIZE]``: small procedurally generated RGB images, for tests and smoke runs.

Each image is a colour gradient overlaid with one texture (stripes, band-limited noise or a
checkerboard, at a frequency that varies from image to image: periods of 3 to 24 px) and 2 to
6 solid or striped rectangles and ellipses, so every image has flat areas, sharp edges and
fine texture. Image ``i`` is drawn from a generator seeded with ``(SEED, i, SIZE)``, so
``synthetic:8x96`` is the first 8 images of ``synthetic:12x96``.

Defaults: 12 images of 96x96. Split, fixed: the last ``max(1, COUNT // 4)`` images are test
(3 of 12); of the others, 10% (at least 1) are val by pixel hash
(:func:`srbench.data.split.split_train_val`) and the rest train. ``images("all")`` is every image.
"""

from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F

from srbench.data.split import split_train_val
from srbench.errors import UsageError
from srbench.interfaces import Dataset, Image, Split

SEED = 20240917
DEFAULT_COUNT = 12
DEFAULT_SIZE = 96
_PERIODS = (3, 4, 6, 8, 12, 16, 24)
_FORMAT = "synthetic, synthetic:COUNT or synthetic:COUNTxSIZE with COUNT >= 2 and 16 <= SIZE <= 2048"


def _gradient(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    return c0[:, None, None] + (c1 - c0)[:, None, None] * t[None]


def _stripes(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, size: int) -> np.ndarray:
    period = rng.choice(_PERIODS)
    angle = rng.uniform(0, np.pi)
    phase = 2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) * size / period
    wave = np.sin(phase + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:  # square wave: sharp edges
        wave = np.sign(wave)
    return wave[None] * rng.uniform(0.1, 0.3, 3)[:, None, None]


def _noise(rng: np.random.Generator, size: int) -> np.ndarray:
    cell = int(rng.choice((1, 2, 4, 8)))  # 1 = pixel-level noise, 8 = blobs
    low = max(1, size // cell)
    coarse = torch.from_numpy(rng.normal(0.0, 1.0, (1, 1 if rng.random() < 0.5 else 3, low, low)))
    fine = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[0].numpy()
    return fine * rng.uniform(0.05, 0.15)


def _checker(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, size: int) -> np.ndarray:
    period = rng.choice(_PERIODS)
    board = ((np.floor(xx * size / period) + np.floor(yy * size / period)) % 2) * 2 - 1
    return board[None] * rng.uniform(0.1, 0.25)


def _shape_mask(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    cy, cx = rng.uniform(0.1, 0.9, 2)
    ry, rx = rng.uniform(0.05, 0.3, 2)
    if rng.random() < 0.5:
        return (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def make_image(index: int, size: int, seed: int = SEED) -> torch.Tensor:
    """Synthetic image ``index``: ``uint8`` ``(3, size, size)``."""
    rng = np.random.default_rng([seed, index, size])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    img = _gradient(rng, yy, xx)
    kind = index % 3
    if kind == 0:
        img = img + _stripes(rng, yy, xx, size)
    elif kind == 1:
        img = img + _noise(rng, size)
    else:
        img = img + _checker(rng, yy, xx, size)
    for _ in range(int(rng.integers(2, 7))):
        mask = _shape_mask(rng, yy, xx)
        fill = rng.uniform(0, 1, 3)[:, None, None] * np.ones_like(img)
        if rng.random() < 0.3:
            fill = fill + _stripes(rng, yy, xx, size)
        img = np.where(mask[None], fill, img)
    pixels = np.floor(np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(pixels))


def parse_argument(argument: str | None) -> tuple[int, int]:
    """``COUNT`` or ``COUNTxSIZE`` -> ``(count, size)``.

    :raises UsageError: naming the argument and the accepted format.
    """
    if argument is None or argument == "":
        return DEFAULT_COUNT, DEFAULT_SIZE
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", argument)
    if not match:
        raise UsageError(f"dataset 'synthetic:{argument}': expected {_FORMAT}")
    count = int(match.group(1))
    size = int(match.group(2)) if match.group(2) else DEFAULT_SIZE
    if count < 2 or not 16 <= size <= 2048:
        raise UsageError(f"dataset 'synthetic:{argument}': expected {_FORMAT}")
    return count, size


class SyntheticDataset(Dataset):
    """Procedural images (gradients, stripes, noise, checkerboards, shapes) from a fixed seed."""

    def __init__(self, count: int = DEFAULT_COUNT, size: int = DEFAULT_SIZE, name: str = "synthetic") -> None:
        self.name = name
        self.count, self.size = count, size
        self._images: list[Image] | None = None

    def _all(self) -> list[Image]:
        if self._images is None:
            self._images = [Image(f"synth{i:03d}", make_image(i, self.size)) for i in range(self.count)]
        return self._images

    def images(self, split: Split) -> list[Image]:
        n_test = max(1, self.count // 4)
        images = self._all()
        if split in ("train", "val"):
            train, val = split_train_val(images[: self.count - n_test])
            return train if split == "train" else val
        if split == "test":
            return images[self.count - n_test:]
        if split == "all":
            return list(images)
        raise UsageError(f"dataset split {split!r}: expected train, val, test or all")

    def describe(self) -> str:
        n_test = max(1, self.count // 4)
        return f"{self.name}: {self.count} procedural {self.size}x{self.size} images ({n_test} test)"


def create(argument: str | None) -> Dataset:
    """Procedural images for tests: synthetic[:COUNTxSIZE], default 12 images of 96x96."""
    count, size = parse_argument(argument)
    return SyntheticDataset(count, size, "synthetic" if argument is None else f"synthetic:{argument}")
