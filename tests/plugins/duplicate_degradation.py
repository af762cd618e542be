"""A plugin that registers a degradation under a built-in's name (``bicubic``)."""

from __future__ import annotations

import torch

from srbench import hookimpl
from srbench.interfaces import Degradation, DegradationParams

DUPLICATED_NAME = "bicubic"


class AveragePool(Degradation):
    """Box-filter downscaling that wrongly claims the name ``bicubic``."""

    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(hr, self.scale, ceil_mode=True)


@hookimpl
def srbench_register_degradations(degradations):
    degradations.register(DUPLICATED_NAME, AveragePool)
