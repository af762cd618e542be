"""A realism metric for report tests: the gap in mean gradient magnitude between SR and HR.

Not a real realism measure; it only has the metadata of one (``realism = True``) and numbers.
"""

from __future__ import annotations

from srbench import hookimpl
from srbench.interfaces import Metric, MetricSample

METRIC_NAME = "gradient_gap_test"


class GradientGap(Metric):
    """|mean |dx| of SR - mean |dx| of HR| in 0-255 units; 0 = as busy as the truth."""

    higher_is_better = False
    realism = True

    def compute(self, sample: MetricSample) -> float:
        def busy(x):
            return float((x.float()[..., 1:] - x.float()[..., :-1]).abs().mean())

        return abs(busy(sample.sr) - busy(sample.hr))


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register(METRIC_NAME, GradientGap, "gradient gap (test plugin)")
