"""``blur``: isotropic Gaussian blur with a per-image width, then MATLAB bicubic downscaling.

The classical "BD" degradation of SRMD/USRNet/RDN. The default width range, sigma in
[0.2, 2.0] HR pixels, is SRMD's for x2 (Zhang et al. 2018): 0.2 is nearly no blur, 2.0 already
removes most detail a x2-x4 network could recover, and the benchmark uses one range for all
scales so that the LR statistics only change with the scale itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from srbench.interfaces import Degradation, DegradationParams
from srbench.options import option

from .bicubic import bicubic_downscale
from .kernels import gaussian_kernels_1d, separable_blur
from .options_checks import check_range


@dataclass(frozen=True)
class BlurOptions:
    sigma: tuple[float, float] = option((0.2, 2.0), "Gaussian blur width range (HR px), drawn uniformly per image; min == max fixes it")

    def __post_init__(self) -> None:
        check_range("sigma", self.sigma, 1e-3, 20.0)


class Blur(Degradation):
    """Gaussian blur (sigma drawn per image) then bicubic downscaling."""

    Options = BlurOptions
    random = True

    def __init__(self, scale: int, options: Any = None) -> None:
        super().__init__(scale, options)
        low, high = self.options.sigma
        # A fixed width draws nothing: the LR then does not depend on the seed.
        self.random = low != high  # type: ignore[misc]

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> DegradationParams:
        low, high = self.options.sigma
        u = torch.rand(batch_size, generator=generator, dtype=torch.float64)
        return {"sigma": low + (high - low) * u}

    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        blurred = separable_blur(hr, gaussian_kernels_1d(params["sigma"]))
        return bicubic_downscale(blurred, self)
