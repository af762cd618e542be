"""``noise``: MATLAB bicubic downscaling, then additive white Gaussian noise of per-image strength.

The noise is drawn in :meth:`Noise.apply` from a ``torch.Generator`` seeded with a per-image
seed that :meth:`Noise.sample_params` drew: the params stay small and shape-free, and applying
the same params to the same image gives the same noise on any device. The default strength,
sigma in [1, 10] on the 0-255 scale, spans camera-like noise (1-5) to clearly visible grain
(10) without drowning a x4 LR image (SRMD trains on 0-75; that mostly measures denoising).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srbench.interfaces import Degradation, DegradationParams
from srbench.options import option

from .bicubic import bicubic_downscale
from .options_checks import check_range

#: Seeds are drawn below 2**62 so they fit int64 and torch.Generator.manual_seed accepts them.
_SEED_BOUND = 2**62


def draw_seeds(batch_size: int, generator: torch.Generator | None) -> torch.Tensor:
    """Per-image int64 noise seeds drawn from ``generator``."""
    return torch.randint(0, _SEED_BOUND, (batch_size,), generator=generator, dtype=torch.int64)


def seeded_normal(shape: tuple[int, ...], seed: int, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise of ``shape`` from a CPU generator seeded with ``seed``.

    Drawn in float32 on the CPU whatever ``like`` is, then moved to ``like``'s device and dtype,
    so the same seed gives the same noise on CPU and GPU.
    """
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(device=like.device, dtype=like.dtype)


@dataclass(frozen=True)
class NoiseOptions:
    sigma: tuple[float, float] = option((1.0, 10.0), "Gaussian noise std range on the 0-255 scale, drawn uniformly per image")

    def __post_init__(self) -> None:
        check_range("sigma", self.sigma, 0.0, 255.0)


class Noise(Degradation):
    """Bicubic downscaling then additive Gaussian noise (std drawn per image, 0-255 units)."""

    Options = NoiseOptions
    random = True

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> DegradationParams:
        low, high = self.options.sigma
        u = torch.rand(batch_size, generator=generator, dtype=torch.float64)
        return {"sigma": low + (high - low) * u, "seed": draw_seeds(batch_size, generator)}

    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        lr = bicubic_downscale(hr, self)
        noise = torch.stack([seeded_normal(tuple(lr.shape[1:]), int(seed), lr) for seed in params["seed"].tolist()])
        std = (params["sigma"] / 255.0).to(device=lr.device, dtype=lr.dtype).view(-1, 1, 1, 1)
        return lr + std * noise
