"""``srgan`` discriminator (Ledig et al. 2017, Fig. 4), made input-size agnostic.

Conv 3x3 + LeakyReLU(0.2), then conv-BN-LeakyReLU blocks alternating stride 1 and 2 with
widths 64 -> 512 (full) or 32 -> 128 (small), adaptive average pooling, dense 1024 (small: 256)
+ LeakyReLU, dense 1. The paper flattens the 6x6x512 features of a 96-px crop; pooling to the
same 6x6 (full) or to 1x1 (small) lets any input of at least 16 px through, and at 96 px the
full network is the paper's. Returns logits of shape ``(B,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from srbench.options import option

from .common import (
    DiscriminatorOptions,
    check_channels,
    check_positive,
    check_size,
    conv,
    leaky,
    maybe_spectral_norm,
    parse_network_options,
    with_options,
)
from .minibatch_stddev import MinibatchStdDev

NAME = "srgan"

#: Per size: (width multiplier, stride) of each conv-BN block after the stem, pooled side, dense width.
#: Full: k3n64s2, k3n128s1, k3n128s2, k3n256s1, k3n256s2, k3n512s1, k3n512s2 (paper); small keeps the
#: four stride-2 blocks (a 16-px input ends at 1x1).
PRESETS = {
    "small": ([(1, 2), (2, 1), (2, 2), (4, 2)], 1, 256),
    "full": ([(1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)], 6, 1024),
}


@dataclass(frozen=True)
class SRGANDiscriminatorOptions(DiscriminatorOptions):
    """Options of the ``srgan`` discriminator."""

    batch_norm: bool = option(True, "batch norm after every conv but the first (paper); turn off for wgan-gp")
    pooled_size: int | None = option(None, "side of the adaptive average pooling before the dense head; "
                                           "default 1 (small) / 6 (full, the paper at 96 px)")


class SRGANDiscriminator(nn.Module):
    """SRGAN discriminator; see the module docstring.

    :param channels: image channels.
    :param features: width of the stem conv (the blocks use multiples of it).
    :param blocks: ``(width multiplier, stride)`` of each conv-BN-LeakyReLU block.
    :param pooled_size: side of the adaptive pooling before the dense layers.
    :param dense: width of the hidden dense layer.
    """

    def __init__(self, channels: int = 3, features: int = 64,
                 blocks: list[tuple[int, int]] | None = None, pooled_size: int = 6, dense: int = 1024, *,
                 batch_norm: bool = True, spectral_norm: bool = False, minibatch_stddev: bool = False,
                 stddev_group: int = 4) -> None:
        super().__init__()
        blocks = PRESETS["full"][0] if blocks is None else blocks
        layers: list[nn.Module] = [conv(channels, features, 3, spectral_norm=spectral_norm), leaky()]
        width = features
        for multiplier, stride in blocks:
            out = features * multiplier
            layers += [conv(width, out, 3, stride, bias=not batch_norm, spectral_norm=spectral_norm)]
            layers += [nn.BatchNorm2d(out)] if batch_norm else []
            layers += [leaky()]
            width = out
        self.features = nn.Sequential(*layers)
        self.stddev = MinibatchStdDev(stddev_group) if minibatch_stddev else nn.Identity()
        head_width = width + (1 if minibatch_stddev else 0)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(pooled_size), nn.Flatten(),
            maybe_spectral_norm(nn.Linear(head_width * pooled_size * pooled_size, dense), spectral_norm), leaky(),
            maybe_spectral_norm(nn.Linear(dense, 1), spectral_norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stddev(self.features(x))).squeeze(1)


@with_options(SRGANDiscriminatorOptions)
def create(channels: int = 3, size: str = "small", **options: object) -> SRGANDiscriminator:
    """SRGAN discriminator: strided conv-BN-LeakyReLU blocks, adaptive pooling, dense head; (B,) logits."""
    opts: SRGANDiscriminatorOptions = parse_network_options(SRGANDiscriminatorOptions, options, "discriminator", NAME)
    check_size(size, NAME)
    check_channels(channels, NAME)
    blocks, pooled_size, dense = PRESETS[size]
    return SRGANDiscriminator(
        channels,
        features=check_positive(opts.features if opts.features is not None else (64 if size == "full" else 32),
                                "features", NAME),
        blocks=blocks,
        pooled_size=check_positive(opts.pooled_size if opts.pooled_size is not None else pooled_size,
                                   "pooled_size", NAME),
        dense=dense,
        batch_norm=opts.batch_norm,
        spectral_norm=opts.spectral_norm,
        minibatch_stddev=opts.minibatch_stddev,
        stddev_group=opts.stddev_group,
    )
