"""Degradation operators: the simulated measurement that turns HR into LR.

Modelled on AmbientGAN's measurement devices: parameters are *sampled* from a seeded
generator, then *applied*. Splitting the two lets the data pipeline record what it drew, lets
a method re-apply the same measurement, and lets ``ambient`` draw fresh parameters every step.
``apply`` must be batched and differentiable with respect to the image (methods train through
it); it does not clamp or quantise, the data pipeline does that when it makes stored LR.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Dict

import torch

from ..options import NoOptions

#: Per-image parameters of one measurement, each a tensor whose first dimension is the batch.
DegradationParams = Dict[str, torch.Tensor]


class Degradation(ABC):
    """An HR-to-LR operator for a fixed integer ``scale``.

    Subclasses set :attr:`Options` to an option dataclass and implement :meth:`apply`
    (and :meth:`sample_params` when they are random).

    :param scale: integer downscaling factor (2, 3 or 4 in the benchmark).
    :param options: an instance of :attr:`Options`.
    """

    #: Option dataclass of this operator (see :mod:`srbench.options`).
    Options: ClassVar[type] = NoOptions
    #: True when ``sample_params`` draws random values (the LR of an image then depends on the seed).
    random: ClassVar[bool] = False
    #: Bump when a code change alters the LR it makes: trial ids include it (with the plugin's
    #: package version), so results made with the old operator are not reused.
    revision: ClassVar[int] = 1

    def __init__(self, scale: int, options: Any = None) -> None:
        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale!r}")
        self.scale = int(scale)
        self.options = options if options is not None else self.Options()

    def lr_size(self, height: int, width: int) -> tuple[int, int]:
        """Size of the LR image for an HR image of ``height`` x ``width`` (MATLAB: ceil(n / scale))."""
        return math.ceil(height / self.scale), math.ceil(width / self.scale)

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> DegradationParams:
        """Draw the random parameters of ``batch_size`` measurements (CPU tensors).

        :param generator: the seeded source of randomness; ``None`` uses torch's global one.
        """
        return {}

    @abstractmethod
    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        """Degrade a batch.

        :param hr: ``(B, C, H, W)`` float tensor, values nominally in ``[0, 1]``.
        :param params: from :meth:`sample_params` for the same batch size.
        :returns: ``(B, C, *lr_size(H, W))`` float tensor, not clamped, differentiable w.r.t. ``hr``.
        """

    def __call__(self, hr: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample parameters (from ``generator``), move them to ``hr``'s device and apply them: ``degradation(hr)``."""
        params = self.sample_params(hr.shape[0], generator)
        return self.apply(hr, {k: v.to(hr.device) if isinstance(v, torch.Tensor) else v for k, v in params.items()})

    def describe(self) -> str:
        """One line for logs and results."""
        return f"{type(self).__name__}(scale={self.scale}, {self.options})"
