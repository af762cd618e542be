"""Differentiable JPEG: a real encode/decode forward, the identity backward (straight-through).

JPEG's rounding of DCT coefficients has zero gradient almost everywhere, so training through
it needs a surrogate. The straight-through estimator (Bengio et al. 2013),
``x + (jpeg(x) - x).detach()``, keeps the true libjpeg output in the forward pass (no
approximate "DiffJPEG" tables) and passes gradients through unchanged.
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from srbench.errors import UsageError
from srbench.ops.color import quantize


def jpeg_roundtrip(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode and decode one ``(C, H, W)`` image in ``[0, 1]`` (C = 1 or 3) at ``quality`` (1-100).

    Values are clamped and rounded to 8 bits first, as any JPEG file stores them. Runs on the
    CPU (libjpeg via Pillow, its default 4:2:0 chroma subsampling for colour); the result is on
    ``image``'s device and dtype, without gradient.
    """
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise UsageError(f"jpeg: expected a (C, H, W) image with C = 1 or 3, got shape {tuple(image.shape)}")
    if not 1 <= int(quality) <= 100:
        raise UsageError(f"jpeg: quality must be in 1..100, got {quality!r}")
    pixels = quantize(image).cpu().permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded_file:
        decoded = np.asarray(decoded_file, dtype=np.uint8)
    decoded = torch.from_numpy(decoded.reshape(*decoded.shape[:2], -1).copy()).permute(2, 0, 1)
    return decoded.to(device=image.device, dtype=image.dtype).div_(255.0)


def jpeg_straight_through(x: torch.Tensor, quality: int | Sequence[int] | torch.Tensor) -> torch.Tensor:
    """JPEG-compress ``x`` in the forward pass; the gradient with respect to ``x`` is the identity.

    :param x: ``(C, H, W)`` or ``(B, C, H, W)`` in ``[0, 1]``.
    :param quality: one quality for all images or one per image of the batch.
    """
    batched = x.dim() == 4
    images = x if batched else x.unsqueeze(0)
    qualities = torch.as_tensor(quality).reshape(-1).tolist()
    if len(qualities) == 1:
        qualities = qualities * images.shape[0]
    if len(qualities) != images.shape[0]:
        raise UsageError(f"jpeg: got {len(qualities)} qualities for a batch of {images.shape[0]} images")
    with torch.no_grad():
        compressed = torch.stack([jpeg_roundtrip(img, int(q)) for img, q in zip(images, qualities)])
    if not batched:
        compressed = compressed.squeeze(0)
    return x + (compressed - x).detach()
