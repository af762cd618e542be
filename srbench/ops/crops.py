"""Random crops of a batch of images, one position per image."""

from __future__ import annotations

import torch

from ..errors import UsageError


def random_crops(x: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """One ``size`` x ``size`` crop of each image of ``x`` ``(B, C, H, W)``, positions drawn per image.

    Randomness comes from ``generator``, or torch's global generator (which srbench seeds per trial and
    saves in every checkpoint, so a resumed trial draws the same crops); a crop of the whole image draws
    nothing.

    :raises UsageError: when ``size`` exceeds the image side or is below 1.
    """
    b, _, h, w = x.shape
    if not 1 <= size <= min(h, w):
        raise UsageError(f"crop size {size} does not fit images of {h}x{w} px; expected 1 to {min(h, w)}")
    if size == h == w:
        return x
    ys = torch.randint(0, h - size + 1, (b,), generator=generator).tolist()
    xs = torch.randint(0, w - size + 1, (b,), generator=generator).tolist()
    return torch.stack([x[i, :, y:y + size, z:z + size] for i, (y, z) in enumerate(zip(ys, xs))])
