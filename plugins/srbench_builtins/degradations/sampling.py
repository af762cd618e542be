"""Per-image random draws shared by the random degradations (``realistic``, ``blind``)."""

from __future__ import annotations

import torch


def uniform(generator: torch.Generator | None, n: int, low: float, high: float) -> torch.Tensor:
    """``n`` float64 values drawn uniformly in ``[low, high]``."""
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def bernoulli(generator: torch.Generator | None, n: int, p: float) -> torch.Tensor:
    """``n`` booleans, each True with probability ``p``."""
    return torch.rand(n, generator=generator, dtype=torch.float64) < p
