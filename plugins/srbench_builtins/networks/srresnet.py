"""``srresnet``: SRGAN's generator (Ledig et al. 2017), with progressive x2 -> x4 growth.

Layout (paper, Fig. 4): conv 9x9 + PReLU, ``B`` residual blocks (conv-BN-PReLU-conv-BN + skip),
conv 3x3 + BN + long skip, pixel-shuffle upsampling stages (conv -> x``r`` shuffle -> PReLU; two x2
stages for x4, one x3 stage for x3), conv 9x9 to the image.

``srresnet_resize`` is the same network with *resize-convolution* stages (nearest-neighbour
upsampling, then conv 3x3 and PReLU; Odena et al. 2016, "Deconvolution and checkerboard
artifacts") instead of pixel shuffle (option ``upsampler``). A pixel-shuffle stage computes the
``r*r`` sub-pixel phases with separate filters, so a pattern of period ``r`` costs it nothing;
after a nearest-neighbour resize, one filter slides over every output pixel. Trained with an
LR-consistency loss alone or with a weak critic, the pixel-shuffle network went to horizontal
stripes of a 2-row period (they are invisible to the x4 consistency loss: the antialiased
downscaling returns exactly 0 for them) where the resize one stayed clean and came out sharper
(docs/methods.md, ``ambient``).

Sizes: ``full`` is the paper's (64 channels, 16 blocks, batch norm: ~1.55M parameters at x4);
``small`` (32 channels, 4 blocks, no batch norm, global bicubic residual) trains in minutes on
a CPU. Batch norm is off for ``small`` because CPU batches are small (4-16 patches) and
EDSR (Lim et al. 2017) showed SR nets do better without it.

Progressive growth (SRGAN report, 2019: "90% of the x4 weights load from the x2 net"):
:meth:`SRResNet.grow` appends one x2 stage to :attr:`SRResNet.upsamplers`, doubles
:attr:`SRResNet.scale`, and fades the new stage in: the output is
``alpha * new + (1 - alpha) * bicubic_x2(old output)``. ``alpha`` starts at 0 (the grown network
reproduces the old one, upsampled) and the method raises it to 1 over training; checkpoints do not
store ``alpha``, so a method that grows should keep it in its ``extra_state``. Equivalently, a
fresh x4 network accepts a x2 network's ``state_dict`` with ``strict=False`` (only
``upsamplers.1.*`` is missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import nn

from srbench.errors import UsageError
from srbench.options import option

from .common import (
    check_channels,
    check_positive,
    check_size,
    conv,
    icnr_,
    maybe_spectral_norm,
    parse_network_options,
    scale_init_,
    upsample_image,
    upsampling_factors,
    with_options,
)

NAME = "srresnet"
#: How each upsampling stage enlarges the feature maps.
Upsampler = Literal["pixelshuffle", "resize"]
UPSAMPLERS: tuple[str, ...] = get_args(Upsampler)

#: (features, residual blocks) per size preset; ``full`` is the paper's.
PRESETS = {"small": (32, 4), "full": (64, 16)}


@dataclass(frozen=True)
class SRResNetOptions:
    """Options of the ``srresnet`` generator (``None`` = the size preset's choice)."""

    batch_norm: bool | None = option(None, "batch norm in the residual blocks; default: on for full (paper), "
                                           "off for small (tiny CPU batches)")
    spectral_norm: bool = option(False, "spectral normalisation on every conv (SRGAN report)")
    residual: bool | None = option(None, "add a bicubic upsample of the input to the output; default: on for "
                                         "small, off for full (paper)")
    features: int | None = option(None, "feature channels; default 32 (small) / 64 (full)")
    tail_kernel: int | None = option(None, "kernel of the last conv (it runs at HR size); default 9 (full, the "
                                           "paper) / 3 (small: 40% less time per CPU step)")
    blocks: int | None = option(None, "residual blocks; default 4 (small) / 16 (full)")
    upsampler: Upsampler = option("pixelshuffle", "upsampling stages: pixelshuffle (the paper's) or resize "
                                                   "(nearest-neighbour resize + conv: no free period-r patterns)")


class ResidualBlock(nn.Module):
    """conv-BN-PReLU-conv-BN plus identity skip (SRGAN Fig. 4)."""

    def __init__(self, features: int, batch_norm: bool, spectral_norm: bool) -> None:
        super().__init__()

        def norm() -> nn.Module:
            return nn.BatchNorm2d(features) if batch_norm else nn.Identity()

        self.body = nn.Sequential(
            conv(features, features, 3, bias=not batch_norm, spectral_norm=spectral_norm), norm(),
            nn.PReLU(features),
            conv(features, features, 3, bias=not batch_norm, spectral_norm=spectral_norm), norm(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PixelShuffleStage(nn.Module):
    """conv 3x3 to ``features * factor**2`` channels, pixel shuffle by ``factor``, PReLU."""

    def __init__(self, features: int, factor: int, spectral_norm: bool) -> None:
        super().__init__()
        self.factor = factor
        expand = nn.Conv2d(features, features * factor * factor, 3, 1, 1)
        icnr_(expand.weight, factor)
        nn.init.zeros_(expand.bias)
        self.expand = maybe_spectral_norm(expand, spectral_norm)
        self.shuffle = nn.PixelShuffle(factor)
        self.act = nn.PReLU(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.expand(x)))


class ResizeConvStage(nn.Module):
    """Nearest-neighbour upsampling by ``factor``, conv 3x3, PReLU (resize-convolution, Odena et al. 2016)."""

    def __init__(self, features: int, factor: int, spectral_norm: bool) -> None:
        super().__init__()
        self.factor = factor
        self.conv = conv(features, features, 3, spectral_norm=spectral_norm)
        self.act = nn.PReLU(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(nn.functional.interpolate(x, scale_factor=self.factor, mode="nearest")))


def upsampling_stage(kind: str, features: int, factor: int, spectral_norm: bool) -> nn.Module:
    """One upsampling stage of ``kind`` (see :data:`UPSAMPLERS`)."""
    if kind == "resize":
        return ResizeConvStage(features, factor, spectral_norm)
    if kind == "pixelshuffle":
        return PixelShuffleStage(features, factor, spectral_norm)
    raise UsageError(f"generator {NAME!r}: upsampler {kind!r}; expected one of {', '.join(UPSAMPLERS)}")


class SRResNet(nn.Module):
    """SRGAN's generator; see the module docstring for sizes and :meth:`grow`.

    :param scale: upscaling factor (3 or a power of two).
    :param channels: image channels.
    :param features: feature channels of the trunk.
    :param blocks: residual blocks.
    :param batch_norm: batch norm in the trunk.
    :param spectral_norm: spectral normalisation on every conv.
    :param residual: add a bicubic upsample of the input to the output.
    :param upsampler: ``pixelshuffle`` (the paper's) or ``resize`` (resize-convolution stages).
    """

    def __init__(self, scale: int, channels: int = 3, features: int = 64, blocks: int = 16, *,
                 batch_norm: bool = True, spectral_norm: bool = False, residual: bool = False,
                 tail_kernel: int = 9, upsampler: str = "pixelshuffle") -> None:
        super().__init__()
        self.scale = scale
        self.upsampler = upsampler
        self.residual = residual
        self.spectral_norm = spectral_norm
        self.features = features
        #: Weight of the newest upsampling stage after :meth:`grow` (1 = fully faded in).
        self.alpha = 1.0
        self.head = nn.Sequential(conv(channels, features, 9, spectral_norm=spectral_norm), nn.PReLU(features))
        self.body = nn.Sequential(*(ResidualBlock(features, batch_norm, spectral_norm) for _ in range(blocks)))
        self.body_tail = nn.Sequential(
            conv(features, features, 3, bias=not batch_norm, spectral_norm=spectral_norm),
            nn.BatchNorm2d(features) if batch_norm else nn.Identity(),
        )
        #: One stage per upsampling step (x2 each, or a single x3); :meth:`grow` appends to it.
        self.upsamplers = nn.ModuleList(
            upsampling_stage(upsampler, features, f, spectral_norm) for f in upsampling_factors(scale, NAME))
        self.tail = conv(features, channels, tail_kernel, spectral_norm=spectral_norm)
        if residual:
            # Start close to the bicubic baseline: the learned part begins small (ESRGAN scales by 0.1).
            scale_init_(self.tail, 0.1)

    def _trunk(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.head(x)
        return shallow + self.body_tail(self.body(shallow))

    def _to_image(self, features: torch.Tensor, lr: torch.Tensor, scale: int) -> torch.Tensor:
        out = self.tail(features)
        return out + upsample_image(lr, scale) if self.residual else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self._trunk(x)
        for stage in self.upsamplers[:-1]:
            features = stage(features)
        new = self._to_image(self.upsamplers[-1](features), x, self.scale)
        if self.alpha >= 1.0 or len(self.upsamplers) < 2:
            return new
        # Fade-in after grow(): the previous network's output, upsampled x2.
        last_factor = self.upsamplers[-1].factor
        old = self._to_image(features, x, self.scale // last_factor)
        return self.alpha * new + (1.0 - self.alpha) * upsample_image(old, last_factor)

    def grow(self, alpha: float = 0.0) -> None:
        """Append a x2 upsampling stage: ``scale`` doubles, every existing weight is kept.

        :param alpha: initial fade-in weight of the new stage; 0 reproduces a bicubic x2 upsample of
            the previous output. The method raises :attr:`alpha` to 1 over training; the new stage's
            parameters are ``self.upsamplers[-1].parameters()`` (to train them alone first).
        """
        reference = next(self.parameters())
        stage = upsampling_stage(self.upsampler, self.features, 2, self.spectral_norm)
        self.upsamplers.append(stage.to(device=reference.device, dtype=reference.dtype))
        self.scale *= 2
        self.alpha = float(alpha)


@with_options(SRResNetOptions)
def create(scale: int, channels: int = 3, size: str = "small", **options: object) -> SRResNet:
    """SRGAN generator (SRResNet): residual blocks + pixel shuffle; x2/x3/x4, ``grow()`` x2 -> x4."""
    opts: SRResNetOptions = parse_network_options(SRResNetOptions, options, "generator", NAME)
    check_size(size, NAME)
    check_channels(channels, NAME)
    upsampling_factors(scale, NAME)
    features, blocks = PRESETS[size]
    return SRResNet(
        scale, channels,
        features=check_positive(opts.features if opts.features is not None else features, "features", NAME),
        blocks=check_positive(opts.blocks if opts.blocks is not None else blocks, "blocks", NAME),
        batch_norm=opts.batch_norm if opts.batch_norm is not None else size == "full",
        spectral_norm=opts.spectral_norm,
        residual=opts.residual if opts.residual is not None else size == "small",
        tail_kernel=check_odd_kernel(opts.tail_kernel if opts.tail_kernel is not None else (9 if size == "full" else 3)),
        upsampler=opts.upsampler,
    )


@with_options(SRResNetOptions)
def create_resize(scale: int, channels: int = 3, size: str = "small", **options: object) -> SRResNet:
    """SRResNet with resize-convolution upsampling (nearest resize + conv) instead of pixel shuffle; x2/x3/x4."""
    return create(scale, channels, size, **{"upsampler": "resize", **options})


def check_odd_kernel(k: int) -> int:
    if k < 1 or k % 2 == 0:
        raise UsageError(f"generator {NAME!r}: tail_kernel {k} must be a positive odd number (3, 5, 9, ...)")
    return k
