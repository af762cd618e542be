"""A metric plugin with bugs: one metric raises while scoring, one while saying whether it is available."""

from __future__ import annotations

from srbench import hookimpl
from srbench.interfaces import Metric, MetricSample

RAISING = "raising_extra"
RAISING_AVAILABILITY = "raising_availability_extra"


class RaisingMetric(Metric):
    """Raises on every image, like a plugin with a bug."""

    def compute(self, sample: MetricSample) -> float:
        raise RuntimeError(f"boom on {sample.id}\nsecond line of the message")


class RaisingAvailability(Metric):
    """Raises before scoring anything: in unavailable_reason()."""

    def unavailable_reason(self) -> str | None:
        raise KeyError("no config")

    def compute(self, sample: MetricSample) -> float:
        return 0.0


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register(RAISING, RaisingMetric, "raises on every image (test plugin)")
    metrics.register(RAISING_AVAILABILITY, RaisingAvailability, "raises in unavailable_reason (test plugin)")
