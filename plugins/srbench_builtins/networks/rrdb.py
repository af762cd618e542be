"""``rrdb``: ESRGAN's RRDB generator (Wang et al. 2018), without batch norm.

A residual-in-residual dense block (RRDB) chains three residual dense blocks (RDB: five convs,
each seeing the concatenation of all earlier outputs, ``growth`` new channels per conv) and adds
its input back; every residual is scaled by 0.2 (ESRGAN Sec. 3.1) and conv weights start at 0.1x
their Kaiming init, which keeps a deep trunk stable without batch norm. Upsampling is ESRGAN's
nearest-neighbour interpolation + conv + LeakyReLU (x2 stages for 2/4, one x3 stage for 3).

Sizes: ``full`` = ESRGAN (64 channels, 23 RRDBs, growth 32: ~16.7M parameters);
``small`` = 32 channels, 2 RRDBs, growth 16 with a global bicubic residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srbench.options import option

from .common import (
    LEAKY_SLOPE,
    check_channels,
    check_positive,
    check_size,
    conv,
    parse_network_options,
    scale_init_,
    upsample_image,
    upsampling_factors,
    with_options,
)

NAME = "rrdb"

#: (features, RRDBs, growth) per size preset; ``full`` is ESRGAN's.
PRESETS = {"small": (32, 2, 16), "full": (64, 23, 32)}

#: Residual scaling of every dense block and RRDB (ESRGAN: 0.2).
RESIDUAL_SCALE = 0.2


@dataclass(frozen=True)
class RRDBOptions:
    """Options of the ``rrdb`` generator (``None`` = the size preset's choice)."""

    spectral_norm: bool = option(False, "spectral normalisation on every conv")
    residual: bool | None = option(None, "add a bicubic upsample of the input to the output; default: on for "
                                         "small, off for full (ESRGAN)")
    features: int | None = option(None, "feature channels; default 32 (small) / 64 (full)")
    blocks: int | None = option(None, "RRDB blocks; default 2 (small) / 23 (full)")
    growth: int | None = option(None, "channels added by each dense conv; default 16 (small) / 32 (full)")


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; output = input + 0.2 * last conv."""

    def __init__(self, features: int, growth: int, spectral_norm: bool) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            conv(features + i * growth, growth if i < 4 else features, 3, spectral_norm=spectral_norm)
            for i in range(5))
        scale_init_(self, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        for layer in self.convs[:-1]:
            outputs.append(F.leaky_relu(layer(torch.cat(outputs, 1)), LEAKY_SLOPE))
        return x + RESIDUAL_SCALE * self.convs[-1](torch.cat(outputs, 1))


class RRDB(nn.Module):
    """Three residual dense blocks inside one more scaled residual."""

    def __init__(self, features: int, growth: int, spectral_norm: bool) -> None:
        super().__init__()
        self.dense_blocks = nn.Sequential(*(ResidualDenseBlock(features, growth, spectral_norm) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.dense_blocks(x)


class InterpolateConvStage(nn.Module):
    """Nearest-neighbour upsampling by ``factor``, conv 3x3, LeakyReLU (ESRGAN's upsampler)."""

    def __init__(self, features: int, factor: int, spectral_norm: bool) -> None:
        super().__init__()
        self.factor = factor
        self.conv = conv(features, features, 3, spectral_norm=spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv(F.interpolate(x, scale_factor=self.factor, mode="nearest")), LEAKY_SLOPE)


class RRDBNet(nn.Module):
    """ESRGAN generator; see the module docstring.

    :param scale: upscaling factor (3 or a power of two).
    :param channels: image channels.
    :param features: trunk channels.
    :param blocks: RRDB blocks.
    :param growth: channels added by each dense conv.
    :param spectral_norm: spectral normalisation on every conv.
    :param residual: add a bicubic upsample of the input to the output.
    """

    def __init__(self, scale: int, channels: int = 3, features: int = 64, blocks: int = 23, growth: int = 32, *,
                 spectral_norm: bool = False, residual: bool = False) -> None:
        super().__init__()
        self.scale = scale
        self.residual = residual
        self.head = conv(channels, features, 3, spectral_norm=spectral_norm)
        self.body = nn.Sequential(*(RRDB(features, growth, spectral_norm) for _ in range(blocks)))
        self.body_tail = conv(features, features, 3, spectral_norm=spectral_norm)
        self.upsamplers = nn.ModuleList(
            InterpolateConvStage(features, f, spectral_norm) for f in upsampling_factors(scale, NAME))
        self.hr_conv = conv(features, features, 3, spectral_norm=spectral_norm)
        self.tail = conv(features, channels, 3, spectral_norm=spectral_norm)
        if residual:
            scale_init_(self.tail, 0.1)  # start close to the bicubic baseline

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.head(x)
        features = shallow + self.body_tail(self.body(shallow))
        for stage in self.upsamplers:
            features = stage(features)
        out = self.tail(F.leaky_relu(self.hr_conv(features), LEAKY_SLOPE))
        return out + upsample_image(x, self.scale) if self.residual else out


@with_options(RRDBOptions)
def create(scale: int, channels: int = 3, size: str = "small", **options: object) -> RRDBNet:
    """ESRGAN generator: residual-in-residual dense blocks, no batch norm; x2/x3/x4."""
    opts: RRDBOptions = parse_network_options(RRDBOptions, options, "generator", NAME)
    check_size(size, NAME)
    check_channels(channels, NAME)
    upsampling_factors(scale, NAME)
    features, blocks, growth = PRESETS[size]
    return RRDBNet(
        scale, channels,
        features=check_positive(opts.features if opts.features is not None else features, "features", NAME),
        blocks=check_positive(opts.blocks if opts.blocks is not None else blocks, "blocks", NAME),
        growth=check_positive(opts.growth if opts.growth is not None else growth, "growth", NAME),
        spectral_norm=opts.spectral_norm,
        residual=opts.residual if opts.residual is not None else size == "small",
    )
