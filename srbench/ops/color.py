"""Pixel-value conversions of the evaluation protocol: BT.601 luma and uint8 quantisation.

Both follow MATLAB, because the published SR tables were computed there: ``rgb2ycbcr`` for the
luma and ``im2uint8`` (round half away from zero) for storing images.
"""

from __future__ import annotations

import torch

from ..errors import UsageError

__all__ = ["rgb_to_y", "quantize"]

# MATLAB rgb2ycbcr, Y row: 219 * (0.299, 0.587, 0.114) on the [0, 255] scale, offset 16.
Y_WEIGHTS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0


def rgb_to_y(x: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Luma (ITU-R BT.601) of RGB images, as MATLAB ``rgb2ycbcr``, without rounding.

    ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for ``R, G, B`` in ``[0, 255]``; for
    another ``data_range`` everything scales with it (``data_range=1`` gives MATLAB's double
    convention, ``Y`` in ``[16/255, 235/255]``). A single-channel image is its own Y.

    :param x: ``(..., C, H, W)`` with C = 3 (RGB) or 1; ``uint8`` is converted to ``float64``.
    :param data_range: the value of full intensity in ``x`` (255 for uint8, 1 for ``[0, 1]`` floats).
    :returns: ``(..., 1, H, W)`` floating tensor on the same scale as ``x``.
    :raises UsageError: when the channel dimension is neither 1 nor 3.
    """
    if x.dim() < 3 or x.shape[-3] not in (1, 3):
        raise UsageError(f"rgb_to_y: expected (..., 3, H, W) or (..., 1, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.shape[-3] == 1:
        return x
    r, g, b = x.unbind(-3)
    y = (Y_WEIGHTS[0] * r + Y_WEIGHTS[1] * g + Y_WEIGHTS[2] * b) / 255.0 + Y_OFFSET * (data_range / 255.0)
    return y.unsqueeze(-3)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Store a ``[0, 1]`` float image as ``uint8``: clamp, scale by 255, round half up.

    Rounding half up (not torch's half-to-even) matches MATLAB's ``im2uint8`` on the
    non-negative values left after the clamp.
    """
    if not x.is_floating_point():
        raise UsageError(f"quantize: expected a floating tensor in [0, 1], got dtype {x.dtype}")
    return torch.floor(x.detach().clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)
