"""Dataset ``marked:FRACTION/SEED`` for tests of the access contract.

12 smooth 72x72 training images and 2 64x64 test images, generated in memory (no file, so no
data root a method could read). Every image the split ``(FRACTION, SEED)`` makes LR-only, and
every test image, carries a marker: every 4th row alternates between :data:`LOW` and
:data:`HIGH`. Bicubic or average downscaling cannot produce eight such alternating values in a
row, so finding that run in any tensor or file means hidden HR leaked. The instance caches its
decoded images, as the built-in datasets do, so a core that keeps the dataset alive during
training is caught.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from srbench import hookimpl
from srbench.data.split import split_by_hr_fraction
from srbench.interfaces import Dataset, Image

#: Marker values; other tests mark with 17/239, so these differ to keep the tests independent.
LOW, HIGH = 23, 211
N_TRAIN, N_TEST = 12, 2


def _smooth(seed: int, side: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 6, 6, generator=gen)
    up = F.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False)
    return (up.clamp(0, 1) * 200 + 30).round().to(torch.uint8)[0]


def mark(pixels: torch.Tensor) -> torch.Tensor:
    out = pixels.clone()
    row = torch.tensor([LOW, HIGH], dtype=torch.uint8).repeat((out.shape[2] + 1) // 2)[: out.shape[2]]
    out[:, 1::4, :] = row
    return out


class MarkedDataset(Dataset):
    """Synthetic images with the hidden ones marked (see the module docstring)."""

    def __init__(self, fraction: float, seed: int) -> None:
        self.name = f"marked:{fraction:g}/{seed}"
        self.fraction, self.seed = fraction, seed
        self._cache: dict[str, list[Image]] = {}

    def _build(self) -> None:
        train_ids = [f"tile{i:02d}" for i in range(N_TRAIN)]
        hidden = set(split_by_hr_fraction(train_ids, self.fraction, self.seed).lr_only_ids)
        train = []
        for i, image_id in enumerate(train_ids):
            pixels = _smooth(i, 72)
            train.append(Image(image_id, mark(pixels) if image_id in hidden else pixels))
        test = [Image(f"photo{i}", mark(_smooth(100 + i, 64))) for i in range(N_TEST)]
        self._cache = {"train": train, "test": test, "all": test + train}

    def images(self, split):
        if not self._cache:
            self._build()
        return list(self._cache[split])


def create(argument: str | None) -> Dataset:
    """marked:FRACTION/SEED: synthetic images whose LR-only (for that split) and test images are marked."""
    fraction, _, seed = (argument or "0.25/0").partition("/")
    return MarkedDataset(float(fraction), int(seed or 0))


@hookimpl
def srbench_register_datasets(datasets):
    datasets.register("marked", create)
