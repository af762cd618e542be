"""Minibatch standard deviation layer (Karras et al. 2018, progressive GAN, Sec. 3).

Appends one feature map holding the average, over channels and positions, of the per-feature
standard deviation across a group of batch items. A discriminator that sees it can tell a
batch of near-identical fakes (mode collapse: stddev ~ 0) from a varied batch of real images.
"""

from __future__ import annotations

import torch
from torch import nn

from srbench.errors import UsageError


def group_size_for(batch: int, group_size: int) -> int:
    """Largest divisor of ``batch`` that is at most ``group_size`` (``<= 0``: the whole batch)."""
    if group_size <= 0 or group_size >= batch:
        return batch
    for size in range(group_size, 0, -1):
        if batch % size == 0:
            return size
    return 1


class MinibatchStdDev(nn.Module):
    """``(B, C, H, W) -> (B, C + 1, H, W)``: concatenates the group's mean feature stddev.

    :param group_size: items per statistics group (progressive GAN: 4); when it does not divide the
        batch, the largest divisor below it is used; ``0`` uses the whole batch as one group.
    :param eps: added to the variance before the square root (keeps the gradient finite at 0).
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        if group_size < 0:
            raise UsageError(f"minibatch stddev: invalid group_size {group_size}; expected 0 (whole batch) or more")
        self.group_size = group_size
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        groups = group_size_for(batch, self.group_size)
        # Item i belongs to group i % (batch // groups), as in the progressive GAN code.
        grouped = x.float().reshape(groups, batch // groups, channels, height, width)
        std = (grouped.var(dim=0, unbiased=False) + self.eps).sqrt()
        stat = std.mean(dim=(1, 2, 3)).repeat(groups)  # (batch,)
        stat_map = stat.to(x.dtype).view(batch, 1, 1, 1).expand(batch, 1, height, width)
        return torch.cat([x, stat_map], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"
