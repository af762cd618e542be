"""The hr-fraction split (paired vs LR-only) and the validation split (train vs val).

Images are ranked by ``sha256(seed, id)`` and the paired subset is a prefix of that ranking, so
for one seed the subsets are **nested**: every image paired at ``--hr-fraction 0.01`` is also
paired at 0.05, 0.25 and 1. Comparing fractions then measures the value of extra HR, not luck
in which images were drawn. The ranking depends on the ids only, never on their order.

The validation split (:func:`val_keys`, :func:`split_train_val`) holds out
:data:`VAL_FRACTION` of a dataset's training images by **content** hash, whatever the seed;
the hr-fraction split then draws from what is left (``train``), so no val image is ever paired
or LR-only in training.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

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


# -- validation split --------------------------------------------------------------------------

#: Share of the content-hash range held out as ``val``: about 10% of a training set, at least 1
#: image of 2 or more (29 of sr291's 291).
VAL_FRACTION = 0.1


def pixel_hash(pixels: Any) -> str:
    """Hex SHA-256 of an image's shape and ``uint8`` pixels: the same for a renamed or re-encoded file."""
    h = hashlib.sha256(f"{tuple(pixels.shape)}\0".encode())
    h.update(pixels.contiguous().numpy().tobytes())
    return h.hexdigest()


def _val_unit(content_hash: str) -> float:
    """A number in [0, 1) that depends only on the content."""
    return int.from_bytes(hashlib.sha256(f"srbench-val\0{content_hash}".encode()).digest()[:8], "big") / 2.0 ** 64


def rank_by_content(content: Mapping[str, str]) -> list[str]:
    """The keys of ``content`` (item -> content hash) in validation order (see :func:`val_keys`)."""
    return sorted(content, key=lambda k: (_val_unit(content[k]), k))


def val_keys(content: Mapping[str, str], fraction: float = VAL_FRACTION) -> set[str]:
    """The keys of ``content`` (item -> content hash) held out as validation.

    An item is held out when ``sha256("srbench-val", its content hash)`` falls in the lowest
    ``fraction`` of the hash range, so the choice depends on content only: renaming,
    reordering, adding or removing files moves no other file, and no seed enters it (every
    trial keeps the same val). With 2 or more items at least one is held out (the lowest hash)
    and at least one stays (the highest); a lone item stays in training.
    """
    if len(content) < 2:
        return set()
    ranked = rank_by_content(content)
    held = {k for k in ranked if _val_unit(content[k]) < fraction} or {ranked[0]}
    held.discard(ranked[-1])
    return held


def split_train_val(images: Sequence[Any], fraction: float = VAL_FRACTION) -> tuple[list[Any], list[Any]]:
    """``(train, val)`` of a dataset's training images (:class:`~srbench.interfaces.Image`), by pixel hash."""
    held = val_keys({img.id: pixel_hash(img.pixels) for img in images}, fraction)
    return [i for i in images if i.id not in held], [i for i in images if i.id in held]
