"""``patchgan``: pix2pix's PatchGAN discriminator (Isola et al. 2017, appendix 6.1.2).

4x4 convs: stride-2 C64 (no norm), C128, C256, then stride-1 C512 and a stride-1 conv to one
channel; LeakyReLU(0.2), batch norm on all but the first and last. Each output logit judges one
receptive-field patch (70x70 px for ``full``, 3 strided layers; 34x34 px for ``small``, 2 strided
layers, 32 base channels). Returns logits ``(B, 1, H', W')``; the smallest input is 24 px
(``full``) or 12 px (``small``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from srbench.errors import UsageError
from srbench.options import option

from .common import (
    DiscriminatorOptions,
    check_channels,
    check_positive,
    check_size,
    conv,
    leaky,
    parse_network_options,
    with_options,
)
from .minibatch_stddev import MinibatchStdDev

NAME = "patchgan"

#: (base features, stride-2 layers) per size preset; ``full`` is pix2pix's 70x70 PatchGAN.
PRESETS = {"small": (32, 2), "full": (64, 3)}
#: Widths stop doubling at 8x the base (pix2pix: 512 for base 64).
MAX_MULTIPLIER = 8


@dataclass(frozen=True)
class PatchGANOptions(DiscriminatorOptions):
    """Options of the ``patchgan`` discriminator."""

    batch_norm: bool = option(True, "batch norm after every conv but the first and last (pix2pix); "
                                    "turn off for wgan-gp")
    layers: int | None = option(None, "stride-2 layers (more = larger patches); default 2 (small) / 3 (full)")


class PatchGANDiscriminator(nn.Module):
    """PatchGAN; see the module docstring.

    :param channels: image channels.
    :param features: width of the first conv.
    :param layers: stride-2 convs.
    """

    def __init__(self, channels: int = 3, features: int = 64, layers: int = 3, *, batch_norm: bool = True,
                 spectral_norm: bool = False, minibatch_stddev: bool = False, stddev_group: int = 4) -> None:
        super().__init__()
        # Each stride-2 conv floors the side by 2 and each stride-1 4x4 conv removes 1 px: at least
        # one logit needs side // 2**layers - 2 >= 1.
        self.layers = layers
        self.min_size = 3 * 2 ** layers
        body: list[nn.Module] = [conv(channels, features, 4, 2, padding=1, spectral_norm=spectral_norm), leaky()]
        width = features
        # layers - 1 more stride-2 convs, then one stride-1 conv, each doubling the width (capped).
        for i in range(1, layers + 1):
            out = features * min(2 ** i, MAX_MULTIPLIER)
            stride = 2 if i < layers else 1
            body += [conv(width, out, 4, stride, padding=1, bias=not batch_norm, spectral_norm=spectral_norm)]
            body += [nn.BatchNorm2d(out)] if batch_norm else []
            body += [leaky()]
            width = out
        self.features = nn.Sequential(*body)
        self.stddev = MinibatchStdDev(stddev_group) if minibatch_stddev else nn.Identity()
        self.head = conv(width + (1 if minibatch_stddev else 0), 1, 4, 1, padding=1, spectral_norm=spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < self.min_size:
            raise UsageError(f"{NAME}: input of {x.shape[-2]}x{x.shape[-1]} px is too small for "
                             f"{self.layers} stride-2 layers; expected at least "
                             f"{self.min_size} px per side")
        return self.head(self.stddev(self.features(x)))


@with_options(PatchGANOptions)
def create(channels: int = 3, size: str = "small", **options: object) -> PatchGANDiscriminator:
    """pix2pix PatchGAN: 4x4 strided convs, one logit per patch; (B, 1, H', W') logits."""
    opts: PatchGANOptions = parse_network_options(PatchGANOptions, options, "discriminator", NAME)
    check_size(size, NAME)
    check_channels(channels, NAME)
    features, layers = PRESETS[size]
    return PatchGANDiscriminator(
        channels,
        features=check_positive(opts.features if opts.features is not None else features, "features", NAME),
        layers=check_positive(opts.layers if opts.layers is not None else layers, "layers", NAME),
        batch_norm=opts.batch_norm,
        spectral_norm=opts.spectral_norm,
        minibatch_stddev=opts.minibatch_stddev,
        stddev_group=opts.stddev_group,
    )
