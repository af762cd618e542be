"""A generator with no feature module domain adaptation could read (nearest upsampling then one conv)."""

from __future__ import annotations

from torch import nn

from srbench import hookimpl


def create(scale: int, channels: int = 3, size: str = "small", **options: object) -> nn.Module:
    return nn.Sequential(nn.Upsample(scale_factor=scale, mode="nearest"), nn.Conv2d(channels, channels, 3, 1, 1))


@hookimpl
def srbench_register_generators(generators):
    generators.register("featureless", create, "nearest upsampling + one conv (test plugin)")
