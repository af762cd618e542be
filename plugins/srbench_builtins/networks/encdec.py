"""``encdec``: an encoder-decoder that doubles resolution, applied iteratively for x4, x8, ...

One x2 block is a small U-Net: a stem conv, ``depth`` strided-conv encoder levels (each halves the
size and doubles the width), a decoder that upsamples (nearest + conv) and fuses the encoder
feature of the same size (concatenation skip), and an x2 output stage: pixel shuffle (``encdec``) or
resize-convolution, nearest x2 then conv (``encdec_resize``, the ``upsampler`` option). Inputs whose
sides are not multiples of ``2**depth`` are replicate-padded and the output is cropped back.

For scale ``2**k`` the generator applies ``k`` x2 steps, with one shared block (default, the same
"double the resolution" map at every level, as the pairwise-resolution method of the few-HR
proposal needs) or one block per step (``shared_weights=False``). :meth:`EncDecGenerator.step`
runs a single x2 application. Scale 3 (or any non power of two) raises
:class:`~.common.UnsupportedScaleError`, a ``ValueError``.

Sizes: ``small`` = 32 base channels, depth 2, global bicubic residual; ``full`` = 64 base
channels, depth 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from srbench.errors import UsageError
from srbench.options import option

from .common import (
    LEAKY_SLOPE,
    UnsupportedScaleError,
    check_channels,
    check_positive,
    check_size,
    conv,
    icnr_,
    is_power_of_two,
    maybe_spectral_norm,
    pad_to_multiple,
    parse_network_options,
    scale_init_,
    upsample_image,
    with_options,
)

NAME = "encdec"

#: (base features, encoder depth) per size preset.
PRESETS = {"small": (32, 2), "full": (64, 3)}


@dataclass(frozen=True)
class EncDecOptions:
    """Options of the ``encdec`` generator (``None`` = the size preset's choice)."""

    shared_weights: bool = option(True, "scale 4+: apply the same x2 block at every step (else one block per step)")
    residual: bool | None = option(None, "each x2 step adds a bicubic x2 of its input; default: on for small, "
                                         "off for full")
    spectral_norm: bool = option(False, "spectral normalisation on every conv")
    features: int | None = option(None, "channels of the first level; default 32 (small) / 64 (full)")
    depth: int | None = option(None, "encoder levels (each halves the size); default 2 (small) / 3 (full)")
    upsampler: Literal["pixelshuffle", "resize"] = option(
        "pixelshuffle", "x2 output stage: pixelshuffle (conv to 4x channels, shuffle) or resize (nearest x2, conv 3x3)")


def _act() -> nn.Module:
    return nn.LeakyReLU(LEAKY_SLOPE)


class EncDecBlock(nn.Module):
    """One x2 U-Net-like encoder-decoder: ``(B, C, h, w) -> (B, C, 2h, 2w)``."""

    def __init__(self, channels: int, features: int, depth: int, *, spectral_norm: bool, residual: bool,
                 upsampler: str = "pixelshuffle") -> None:
        super().__init__()
        self.depth = depth
        self.residual = residual
        widths = [features * 2 ** i for i in range(depth + 1)]
        sn = spectral_norm
        self.stem = nn.Sequential(conv(channels, widths[0], 3, spectral_norm=sn), _act())
        self.encoder = nn.ModuleList(
            nn.Sequential(conv(widths[i], widths[i + 1], 3, stride=2, spectral_norm=sn), _act(),
                          conv(widths[i + 1], widths[i + 1], 3, spectral_norm=sn), _act())
            for i in range(depth))
        # decoder[i] goes from level i+1 back to level i (applied deepest first).
        self.decoder_up = nn.ModuleList(
            nn.Sequential(conv(widths[i + 1], widths[i], 3, spectral_norm=sn), _act()) for i in range(depth))
        self.decoder_fuse = nn.ModuleList(
            nn.Sequential(conv(2 * widths[i], widths[i], 3, spectral_norm=sn), _act()) for i in range(depth))
        if upsampler == "resize":
            # Every output pixel of a 2x2 cell comes from the same filter: no sub-pixel phase has weights
            # of its own, so period-2 stripes (which the x4 downscaling maps to 0) are not free to grow.
            self.upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                          conv(widths[0], widths[0], 3, spectral_norm=sn), _act())
        else:
            expand = nn.Conv2d(widths[0], widths[0] * 4, 3, 1, 1)
            icnr_(expand.weight, 2)
            nn.init.zeros_(expand.bias)
            self.upsample = nn.Sequential(maybe_spectral_norm(expand, sn), nn.PixelShuffle(2), _act())
        self.to_image = conv(widths[0], channels, 3, spectral_norm=sn)
        if residual:
            scale_init_(self.to_image, 0.1)  # start close to the bicubic baseline

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, h, w = pad_to_multiple(x, 2 ** self.depth)
        skips = [self.stem(padded)]
        for level in self.encoder:
            skips.append(level(skips[-1]))
        features = skips.pop()
        for i in reversed(range(self.depth)):
            up = self.decoder_up[i](F.interpolate(features, scale_factor=2, mode="nearest"))
            features = self.decoder_fuse[i](torch.cat([up, skips[i]], 1))
        out = self.to_image(self.upsample(features))[..., : 2 * h, : 2 * w]
        return out + upsample_image(x, 2) if self.residual else out


class EncDecGenerator(nn.Module):
    """Applies x2 encoder-decoder blocks ``log2(scale)`` times.

    :param scale: a power of two.
    :param blocks: one block (shared by every step) or one per step.
    """

    def __init__(self, scale: int, blocks: list[EncDecBlock]) -> None:
        super().__init__()
        self.scale = scale
        self.steps = int(math.log2(scale))
        if len(blocks) not in (1, self.steps):
            raise UsageError(f"{NAME}: got {len(blocks)} blocks for {self.steps} x2 steps; expected 1 or {self.steps}")
        self.blocks = nn.ModuleList(blocks)

    @property
    def shared_weights(self) -> bool:
        return len(self.blocks) == 1

    def step(self, x: torch.Tensor, index: int = 0) -> torch.Tensor:
        """One x2 application: ``(B, C, h, w) -> (B, C, 2h, 2w)``.

        :param index: which step (0 = first); ignored when the weights are shared.
        """
        if not 0 <= index < self.steps:
            raise UsageError(f"{NAME}: step index {index} out of range; this x{self.scale} network has "
                             f"{self.steps} steps")
        return self.blocks[0 if self.shared_weights else index](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.steps):
            x = self.step(x, i)
        return x


@with_options(EncDecOptions)
def create(scale: int, channels: int = 3, size: str = "small", **options: object) -> EncDecGenerator:
    """Iterative x2 encoder-decoder (U-Net + pixel shuffle), shared weights across steps; x2/x4/x8."""
    opts: EncDecOptions = parse_network_options(EncDecOptions, options, "generator", NAME)
    check_size(size, NAME)
    check_channels(channels, NAME)
    if isinstance(scale, bool) or not isinstance(scale, int) or not is_power_of_two(scale):
        raise UnsupportedScaleError(f"{NAME}: unsupported scale {scale!r}; it doubles resolution per step, so "
                                    f"only powers of two (2, 4, 8, ...) work")
    features, depth = PRESETS[size]
    features = check_positive(opts.features if opts.features is not None else features, "features", NAME)
    depth = check_positive(opts.depth if opts.depth is not None else depth, "depth", NAME)
    residual = opts.residual if opts.residual is not None else size == "small"
    steps = int(math.log2(scale))
    count = 1 if opts.shared_weights else steps
    blocks = [EncDecBlock(channels, features, depth, spectral_norm=opts.spectral_norm, residual=residual,
                          upsampler=opts.upsampler) for _ in range(count)]
    return EncDecGenerator(scale, blocks)


@with_options(EncDecOptions)
def create_resize(scale: int, channels: int = 3, size: str = "small", **options: object) -> EncDecGenerator:
    """``encdec`` with a resize-convolution x2 stage (nearest + conv) instead of pixel shuffle; x2/x4/x8."""
    return create(scale, channels, size, **{"upsampler": "resize", **options})
