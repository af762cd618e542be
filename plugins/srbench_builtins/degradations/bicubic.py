"""``bicubic``: MATLAB ``imresize(HR, 1/scale, 'bicubic')``, the SR papers' LR (deterministic)."""

from __future__ import annotations

import torch

from srbench.interfaces import Degradation, DegradationParams
from srbench.ops.imresize import imresize


def bicubic_downscale(hr: torch.Tensor, degradation: Degradation) -> torch.Tensor:
    """Antialiased MATLAB bicubic shrink of ``(B, C, H, W)`` by ``1 / degradation.scale``.

    The kernel uses the factor ``1 / scale`` (MATLAB's ``Scale`` path) and the output size is
    ``degradation.lr_size(H, W)`` computed in integers, so odd sizes give ``ceil(H / scale)``.
    """
    size = degradation.lr_size(int(hr.shape[-2]), int(hr.shape[-1]))
    return imresize(hr, scale=1.0 / degradation.scale, size=size, antialias=True)


class Bicubic(Degradation):
    """MATLAB bicubic downscaling with antialiasing, as in EDSR/RCAN/ESRGAN benchmarks."""

    random = False

    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        return bicubic_downscale(hr, self)
