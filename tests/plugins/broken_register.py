"""A plugin that registers a method, then a metric, then raises inside its metrics hook.

Both registrations must be rolled back: a half-loaded plugin would leave components that
cannot work (the real-world case is a plugin whose second hook hits a missing file).
"""

from __future__ import annotations

import torch

from srbench import hookimpl
from srbench.interfaces import Method, Metric, MetricSample

ERROR_TEXT = "broken_register: weights file missing"


class HalfLoadedMethod(Method):
    """A method that must disappear when its plugin breaks."""

    trainable = False

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(lr, scale_factor=self.context.scale, mode="nearest")


class HalfLoadedMetric(Metric):
    """A metric that must disappear when its plugin breaks."""

    def compute(self, sample: MetricSample) -> float:
        return 0.0


@hookimpl
def srbench_register_methods(methods):
    methods.register("half_loaded_method", HalfLoadedMethod)


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register("half_loaded_metric", HalfLoadedMetric)
    raise RuntimeError(ERROR_TEXT)
