"""An example srbench plugin: one trainable method and one metric.

srbench finds this module through the entry point declared in ``pyproject.toml``::

    [project.entry-points.srbench]
    example = "srbench_example_plugin"

and calls the ``@hookimpl`` functions at the bottom with its registries.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srbench import hookimpl
from srbench.data.training_data import TrainingData
from srbench.interfaces import Method, Metric, MetricSample
from srbench.options import option


class ESPCN(nn.Module):
    """Sub-pixel convolution network (Shi et al., 2016) learning a residual over bicubic.

    Convolutions run at LR resolution and ``PixelShuffle`` rearranges ``C * scale**2`` channels
    into a ``scale``-times larger image: cheap enough for CPU training.
    """

    def __init__(self, scale: int, image_channels: int, channels: int) -> None:
        super().__init__()
        self.scale = scale
        self.body = nn.Sequential(
            nn.Conv2d(image_channels, channels, 5, padding=2), nn.Tanh(),
            nn.Conv2d(channels, channels // 2, 3, padding=1), nn.Tanh(),
            nn.Conv2d(channels // 2, image_channels * scale**2, 3, padding=1),
            nn.PixelShuffle(scale),
        )

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        upsampled = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return upsampled + self.body(lr)


class ExampleESPCN(Method):
    """Tiny ESPCN trained with L1 on the paired patches (example plugin)."""

    @dataclass(frozen=True)
    class Options:
        lr: float = option(1e-3, "Adam learning rate")
        channels: int = option(32, "feature channels of the first convolution (the second has half)")

        def __post_init__(self) -> None:
            # srbench turns this ValueError into a one-line usage error naming the method.
            if self.channels < 2:
                raise ValueError(f"channels must be >= 2, got {self.channels}")

    requires_paired = True  # at --hr-fraction 0 the trial is recorded as "incompatible"

    def setup(self, data: TrainingData) -> None:
        self.net = ESPCN(self.context.scale, self.context.channels, self.options.channels).to(self.context.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.options.lr)

    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.net}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.optimizer}

    def train_step(self, step: int, data: TrainingData) -> dict[str, torch.Tensor]:
        lr, hr = data.paired.batch(self.context.batch_size, self.context.device)
        loss = F.l1_loss(self.net(lr), hr)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"l1": loss.detach()}

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        return self.net(lr)


class ExampleMAE(Metric):
    """Mean absolute error in 0-255 units (example plugin)."""

    higher_is_better = False

    def compute(self, sample: MetricSample) -> float:
        return float((sample.sr.float() - sample.hr.float()).abs().mean())


@hookimpl
def srbench_register_methods(methods):
    methods.register("example_espcn", ExampleESPCN)


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register("example_mae", ExampleMAE)
