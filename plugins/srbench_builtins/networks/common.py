"""Pieces shared by the built-in networks: option parsing, scale checks, convs, upsampling.

Every factory follows :class:`srbench.interfaces.GeneratorFactory` /
:class:`srbench.interfaces.DiscriminatorFactory`: options arrive as ``**options`` (typed values
from code or strings from ``--set``) and are parsed into the network's ``Options`` dataclass, so
an unknown or badly typed option is a one-line :class:`~srbench.errors.UsageError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from srbench.errors import UsageError
from srbench.options import option, parse_options

SIZES = ("small", "full")

#: Slope of every LeakyReLU in the built-in networks (SRGAN, ESRGAN and pix2pix all use 0.2).
LEAKY_SLOPE = 0.2

FactoryT = TypeVar("FactoryT", bound=Callable[..., Any])


class UnsupportedScaleError(UsageError, ValueError):
    """A generator cannot produce this scale factor.

    A :class:`ValueError` as :class:`srbench.interfaces.GeneratorFactory` promises, and a
    :class:`~srbench.errors.UsageError` so the CLI reports it in one line.
    """


def with_options(options_cls: type) -> Callable[[FactoryT], FactoryT]:
    """Attach ``options_cls`` to a factory as ``factory.Options`` (read by ``srbench list --options``)."""

    def attach(factory: FactoryT) -> FactoryT:
        factory.Options = options_cls  # type: ignore[attr-defined]
        return factory

    return attach


def parse_network_options(options_cls: type, options: Mapping[str, Any], kind: str, name: str) -> Any:
    """Parse a factory's ``**options`` into ``options_cls``; unknown names raise :class:`UsageError`."""
    return parse_options(options_cls, options, f"options of {kind} {name!r}")


def check_size(size: str, name: str) -> str:
    """Validate a size preset name (``"small"`` or ``"full"``)."""
    if size not in SIZES:
        raise UsageError(f"{name}: unknown size {size!r}; accepted: {', '.join(SIZES)}")
    return size


def check_channels(channels: int, name: str) -> int:
    """Validate an image channel count (a positive int)."""
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise UsageError(f"{name}: invalid channels {channels!r}; expected a positive integer")
    return channels


def check_positive(value: int, what: str, name: str) -> int:
    """Validate a positive integer option (widths, block counts)."""
    if value < 1:
        raise UsageError(f"{name}: invalid {what} {value!r}; expected a positive integer")
    return value


def is_power_of_two(n: int) -> bool:
    return n >= 2 and n & (n - 1) == 0


def upsampling_factors(scale: int, name: str) -> list[int]:
    """Pixel-shuffle stages for ``scale``: x2 stages for powers of two, one x3 stage for 3.

    :raises UnsupportedScaleError: for any other scale.
    """
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise UnsupportedScaleError(f"{name}: invalid scale {scale!r}; expected an integer (3 or a power of two)")
    if scale == 3:
        return [3]
    if is_power_of_two(scale):
        return [2] * int(math.log2(scale))
    raise UnsupportedScaleError(f"{name}: unsupported scale {scale}; accepted: 3 or a power of two (2, 4, 8, ...)")


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Wrap ``module``'s weight with spectral normalisation when ``enabled``."""
    return _spectral_norm(module) if enabled else module


def conv(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, *, bias: bool = True,
         spectral_norm: bool = False, padding: int | None = None) -> nn.Module:
    """A 2-D convolution with 'same' padding for stride 1 (``kernel // 2``), optionally spectral-normed."""
    pad = kernel // 2 if padding is None else padding
    return maybe_spectral_norm(nn.Conv2d(in_ch, out_ch, kernel, stride, pad, bias=bias), spectral_norm)


def upsample_image(x: torch.Tensor, factor: int | float) -> torch.Tensor:
    """Bicubic upsampling of an image batch: the global residual and the fade-in path of ``grow()``."""
    return F.interpolate(x, scale_factor=factor, mode="bicubic", align_corners=False)


def icnr_(weight: torch.Tensor, factor: int) -> None:
    """ICNR initialisation of a conv feeding ``PixelShuffle(factor)`` (Aitken et al. 2017).

    The ``factor**2`` sub-pixel filters of each output channel start identical, so the shuffled
    output starts as a nearest-neighbour upsample: no checkerboard artefacts at step 0.
    """
    out_ch = weight.shape[0] // (factor * factor)
    base = torch.empty(out_ch, *weight.shape[1:], dtype=weight.dtype, device=weight.device)
    nn.init.kaiming_normal_(base, a=0.0, mode="fan_in", nonlinearity="relu")
    with torch.no_grad():
        weight.copy_(base.repeat_interleave(factor * factor, dim=0))


def scale_init_(module: nn.Module, factor: float) -> None:
    """Multiply the weights of every conv/linear in ``module`` by ``factor`` (ESRGAN uses 0.1)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
                weight.mul_(factor)
                if m.bias is not None:
                    m.bias.zero_()


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Replicate-pad ``x`` on the bottom/right so H and W are multiples of ``multiple``.

    :returns: the padded tensor and the original height and width (to crop the output back).
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, h, w


@dataclass(frozen=True)
class DiscriminatorOptions:
    """Options every built-in discriminator accepts (``None`` = the size preset's choice)."""

    spectral_norm: bool = option(False, "spectral normalisation on every conv/linear (Miyato et al. 2018)")
    minibatch_stddev: bool = option(False, "append a minibatch-stddev feature map before the head (progressive GAN)")
    stddev_group: int = option(4, "items per minibatch-stddev group (0 = whole batch)")
    features: int | None = option(None, "channels of the first conv; default 32 (small) / 64 (full)")


def leaky() -> nn.Module:
    """The discriminators' activation: LeakyReLU(0.2)."""
    return nn.LeakyReLU(LEAKY_SLOPE)
