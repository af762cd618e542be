"""``unet``: U-Net discriminator with spectral norm (Real-ESRGAN, Wang et al. 2021, Sec. 3.3).

Encoder: conv 3x3, then three 4x4 stride-2 convs (widths x2, x4, x8). Decoder: three bilinear x2
upsamplings, each followed by a 3x3 conv and an additive skip from the encoder level of the same
size; then two 3x3 convs and a 3x3 conv to one channel. LeakyReLU(0.2) throughout; spectral
norm on every conv but the first and last (Real-ESRGAN's choice), on by default. Per-pixel
logits ``(B, 1, H, W)``: the discriminator judges local texture and global structure at once.
Sizes: ``full`` = 64 base channels (Real-ESRGAN), ``small`` = 32. Inputs of at least 8 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srbench.options import option

from .common import (
    LEAKY_SLOPE,
    DiscriminatorOptions,
    check_channels,
    check_positive,
    check_size,
    conv,
    parse_network_options,
    with_options,
)
from .minibatch_stddev import MinibatchStdDev

NAME = "unet"

#: Base features per size preset; ``full`` is Real-ESRGAN's.
PRESETS = {"small": 32, "full": 64}
#: Encoder levels (each halves the side).
DEPTH = 3


@dataclass(frozen=True)
class UNetDiscriminatorOptions(DiscriminatorOptions):
    """Options of the ``unet`` discriminator."""

    spectral_norm: bool = option(True, "spectral normalisation on every conv but the first and last (Real-ESRGAN)")


class UNetDiscriminator(nn.Module):
    """U-Net discriminator; see the module docstring.

    :param channels: image channels.
    :param features: width of the first conv (levels use x2, x4, x8).
    """

    def __init__(self, channels: int = 3, features: int = 64, *, spectral_norm: bool = True,
                 minibatch_stddev: bool = False, stddev_group: int = 4) -> None:
        super().__init__()
        sn = spectral_norm
        widths = [features * 2 ** i for i in range(DEPTH + 1)]
        self.stem = conv(channels, widths[0], 3)
        self.down = nn.ModuleList(
            conv(widths[i], widths[i + 1], 4, 2, padding=1, bias=False, spectral_norm=sn) for i in range(DEPTH))
        # up[i] maps level i+1 to level i; applied deepest first.
        self.up = nn.ModuleList(conv(widths[i + 1], widths[i], 3, bias=False, spectral_norm=sn) for i in range(DEPTH))
        self.stddev = MinibatchStdDev(stddev_group) if minibatch_stddev else nn.Identity()
        self.refine = nn.ModuleList([
            conv(widths[0] + (1 if minibatch_stddev else 0), widths[0], 3, bias=False, spectral_norm=sn),
            conv(widths[0], widths[0], 3, bias=False, spectral_norm=sn),
        ])
        self.head = conv(widths[0], 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [F.leaky_relu(self.stem(x), LEAKY_SLOPE)]
        for layer in self.down:
            skips.append(F.leaky_relu(layer(skips[-1]), LEAKY_SLOPE))
        features = skips.pop()
        for i in reversed(range(DEPTH)):
            # Interpolate to the skip's size: odd sides do not round-trip through stride 2.
            up = F.interpolate(features, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            features = F.leaky_relu(self.up[i](up), LEAKY_SLOPE) + skips[i]
        features = self.stddev(features)
        for layer in self.refine:
            features = F.leaky_relu(layer(features), LEAKY_SLOPE)
        return self.head(features)


@with_options(UNetDiscriminatorOptions)
def create(channels: int = 3, size: str = "small", **options: object) -> UNetDiscriminator:
    """Real-ESRGAN U-Net discriminator with spectral norm; per-pixel (B, 1, H, W) logits."""
    opts: UNetDiscriminatorOptions = parse_network_options(UNetDiscriminatorOptions, options, "discriminator", NAME)
    check_size(size, NAME)
    check_channels(channels, NAME)
    return UNetDiscriminator(
        channels,
        features=check_positive(opts.features if opts.features is not None else PRESETS[size], "features", NAME),
        spectral_norm=opts.spectral_norm,
        minibatch_stddev=opts.minibatch_stddev,
        stddev_group=opts.stddev_group,
    )
