"""A small learned HR -> LR network (CycleGAN's backward generator for ``cyclesr``).

Layout: conv 3x3 + LeakyReLU at HR resolution, one strided conv with kernel = stride = scale
(each LR pixel sees exactly its ``scale x scale`` HR block), two conv 3x3 + LeakyReLU, conv 3x3
to the image; the result is added to the MATLAB-bicubic downscale of the input, and the last
conv starts at a tenth of its initial weights, so the network starts as the bicubic degradation
and learns the difference (the same "global residual" idea as the small SRResNet generator).
"""

from __future__ import annotations

import torch
from torch import nn

from srbench.errors import UsageError
from srbench.ops import imresize


class Downscaler(nn.Module):
    """HR ``(B, C, H, W)`` -> LR ``(B, C, H / scale, W / scale)``; H and W multiples of ``scale``.

    :param scale: integer downscaling factor.
    :param channels: image channels.
    :param features: width of the hidden convs.
    """

    def __init__(self, scale: int, channels: int = 3, features: int = 32) -> None:
        super().__init__()
        if scale < 1:
            raise UsageError(f"downscaler scale {scale}: expected a positive integer")
        self.scale = int(scale)
        self.body = nn.Sequential(
            nn.Conv2d(channels, features, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(features, features, self.scale, self.scale), nn.LeakyReLU(0.2),
            nn.Conv2d(features, features, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(features, features, 3, 1, 1), nn.LeakyReLU(0.2),
        )
        self.tail = nn.Conv2d(features, channels, 3, 1, 1)
        with torch.no_grad():
            self.tail.weight.mul_(0.1)
            self.tail.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.scale or w % self.scale:
            raise UsageError(f"downscaler x{self.scale}: input {h}x{w} px is not a multiple of the scale")
        base = imresize(x, scale=1.0 / self.scale, size=(h // self.scale, w // self.scale))
        return base + self.tail(self.body(x))
