"""``bicubic``: MATLAB-style bicubic upsampling of the LR input, no training.

The floor every learned method must beat; it uses the same ``imresize`` as the protocol's
published bicubic baselines (Set5 x4: 28.42 dB PSNR-Y).
"""

from __future__ import annotations

import torch

from srbench.interfaces import Method


class Bicubic(Method):
    """Bicubic interpolation (MATLAB imresize, a = -0.5); no training, no HR needed."""

    trainable = False
    #: The floor of every table, and its reference when no ``crossscale`` row is there.
    leaderboard_floor = True
    leaderboard_reference_priority = 1

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        from srbench.ops.imresize import imresize

        return imresize(lr, scale=self.context.scale)
