"""A working plugin that adds one method and one metric."""

from __future__ import annotations

import torch

from srbench import hookimpl
from srbench.interfaces import Method, Metric, MetricSample

METHOD_NAME = "nearest_extra"
METRIC_NAME = "max_abs_error_extra"


class NearestExtra(Method):
    """Nearest-neighbour upscaling (no training)."""

    trainable = False

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(lr, scale_factor=self.context.scale, mode="nearest")


class MaxAbsErrorExtra(Metric):
    """Largest absolute pixel error in 0-255 units."""

    higher_is_better = False

    def compute(self, sample: MetricSample) -> float:
        return float((sample.sr.float() - sample.hr.float()).abs().max())


@hookimpl
def srbench_register_methods(methods):
    methods.register(METHOD_NAME, NearestExtra)


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register(METRIC_NAME, MaxAbsErrorExtra, "largest absolute error (test plugin)")
