"""Refusing training images that are test images: a content hash of the decoded pixels.

A test image copied into a training folder or an HR pool under another file name has another
id but the same pixels; comparing ids would miss it. :func:`pixel_hash` is the SHA-256 of the
image's shape and ``uint8`` pixels as decoded (before any modcrop or channel change), so the
same picture read from a PNG and from a copy under any name hashes alike. Only exact copies
are caught: a crop, a resized or a re-encoded (lossy) copy has other pixels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from ..errors import UsageError
from ..interfaces.dataset import Image


def pixel_hash(image: Image) -> str:
    """SHA-256 (hex) of ``image``'s shape and decoded ``uint8`` pixels; independent of its id."""
    pixels = image.pixels.contiguous()
    digest = hashlib.sha256(f"{tuple(pixels.shape)}\0{pixels.dtype}\0".encode())
    digest.update(pixels.cpu().numpy().tobytes())
    return digest.hexdigest()


def check_disjoint_from_tests(training: Mapping[str, Sequence[Image]],
                              tests: Mapping[str, Iterable[Image]]) -> None:
    """Refuse any training image whose pixels are those of a test image.

    :param training: role -> images, e.g. ``{"training set default": ..., "HR pool (--hr-source t91)": ...}``.
    :param tests: test dataset name -> its scored images.
    :raises UsageError: one line naming the training role and image, and the test set and image.
    """
    seen: dict[str, tuple[str, str]] = {}
    for name, images in tests.items():
        for image in images:
            seen.setdefault(pixel_hash(image), (name, image.id))
    for role, images in training.items():
        for image in images:
            match = seen.get(pixel_hash(image))
            if match is not None:
                raise UsageError(f"{role}: image {image.id!r} is test image {match[1]!r} of test set {match[0]!r} "
                                 "(same pixels); remove it from the training data or score on another test set")
