"""The hr-fraction split: which training images keep their HR (paired) and which are LR-only.

Images are ranked by ``sha256(seed, id)`` and the paired subset is a prefix of that ranking, so
for one seed the subsets are **nested**: every image paired at ``--hr-fraction 0.01`` is also
paired at 0.05, 0.25 and 1. Comparing fractions then measures the value of extra HR, not luck
in which images were drawn. The ranking depends on the ids only, never on their order.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import DataError, UsageError


@dataclass(frozen=True)
class SplitManifest:
    """The outcome of :func:`split_by_hr_fraction`, recorded with every trial.

    :param hr_fraction: fraction requested.
    :param seed: seed of the ranking.
    :param paired_ids: images whose HR a method may see, in input order.
    :param lr_only_ids: images seen only as LR, in input order.
    :param sha256: hash of the sorted id lists, the fraction and the seed (compare runs with it).
    """

    hr_fraction: float
    seed: int
    paired_ids: tuple[str, ...]
    lr_only_ids: tuple[str, ...]
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for results and logs."""
        return {
            "hr_fraction": self.hr_fraction,
            "seed": self.seed,
            "paired_ids": list(self.paired_ids),
            "lr_only_ids": list(self.lr_only_ids),
            "n_paired": len(self.paired_ids),
            "n_lr_only": len(self.lr_only_ids),
            "sha256": self.sha256,
        }


def validate_hr_fraction(hr_fraction: object) -> float:
    """``hr_fraction`` as a float in ``[0, 1]``.

    :raises UsageError: naming the value and the accepted range.
    """
    if isinstance(hr_fraction, bool) or not isinstance(hr_fraction, (int, float)):
        raise UsageError(f"--hr-fraction {hr_fraction!r}: expected a number between 0 and 1")
    value = float(hr_fraction)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise UsageError(f"--hr-fraction {hr_fraction!r}: expected a number between 0 and 1")
    return value


def paired_count(n_images: int, hr_fraction: float) -> int:
    """How many of ``n_images`` are paired: ``round(F * n)`` (halves up), at least 1 when F > 0."""
    if n_images == 0 or hr_fraction == 0.0:
        return 0
    if hr_fraction == 1.0:
        return n_images
    return min(n_images, max(1, math.floor(hr_fraction * n_images + 0.5)))


def _rank_key(seed: int, image_id: str) -> bytes:
    return hashlib.sha256(f"srbench-split\0{seed}\0{image_id}".encode()).digest()


def split_by_hr_fraction(image_ids: Sequence[str], hr_fraction: float, seed: int) -> SplitManifest:
    """Split training images into paired and LR-only, deterministically from ``seed``.

    :param image_ids: ids of the training images (unique).
    :param hr_fraction: fraction of images that keep their HR, in ``[0, 1]``.
    :param seed: the trial's seed.
    :raises UsageError: for a fraction outside ``[0, 1]`` or a non-integer seed.
    :raises DataError: for duplicate ids.
    """
    fraction = validate_hr_fraction(hr_fraction)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(f"--seed {seed!r}: expected an integer")
    ids = [str(i) for i in image_ids]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DataError(f"training image id {dup!r} appears more than once; image ids must be unique")
    k = paired_count(len(ids), fraction)
    ranked = sorted(ids, key=lambda i: _rank_key(seed, i))
    chosen = set(ranked[:k])
    paired = tuple(i for i in ids if i in chosen)
    lr_only = tuple(i for i in ids if i not in chosen)
    digest = hashlib.sha256(json.dumps(
        {"paired": sorted(paired), "lr_only": sorted(lr_only), "hr_fraction": fraction, "seed": seed},
        sort_keys=True).encode()).hexdigest()
    return SplitManifest(fraction, seed, paired, lr_only, digest)
