"""A metric that raises is isolated: the trial stays ok, that metric is unavailable with its error."""

from __future__ import annotations

import pytest
import torch

from srbench.api import run
from srbench.config import RunConfig
from srbench.errors import MetricUnavailableError
from srbench.interfaces import Metric, MetricSample
from srbench.plugin_manager import load_plugins
from srbench.runner.evaluate import score_metric

from plugins.raising_metric import RAISING, RAISING_AVAILABILITY


def _samples(n: int = 2) -> list[MetricSample]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        hr = torch.randint(0, 256, (3, 16, 16), generator=g, dtype=torch.uint8)
        out.append(MetricSample(f"img{i}", hr, hr, hr[:, ::2, ::2], 2))
    return out


class _Unavailable(Metric):
    def compute(self, sample):
        raise MetricUnavailableError("needs something absent")


class _ShortPerImage(Metric):
    def compute(self, sample):
        return 1.0

    def compute_set(self, samples):
        return 1.0, [1.0]


def test_score_metric_turns_any_exception_into_a_one_line_reason():
    from plugins.raising_metric import RaisingAvailability, RaisingMetric

    assert score_metric(RaisingMetric(), _samples()) == (None, None, "RuntimeError: boom on img0", False)
    assert score_metric(RaisingAvailability(), _samples()) == (None, None, "KeyError: 'no config'", False)
    assert score_metric(_Unavailable(), _samples()) == (None, None, "needs something absent", False)
    mean, per_image, reason, _ = score_metric(_ShortPerImage(), _samples(2))
    assert mean is None and per_image is None and reason.startswith("ValueError: compute_set returned 1")


def test_score_metric_lets_an_interrupt_through():
    class Interrupted(Metric):
        def compute(self, sample):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_metric(Interrupted(), _samples())


def test_a_raising_metric_plugin_leaves_every_trial_ok_and_every_other_metric_scored(tmp_path):
    system = load_plugins(modules=["plugins.raising_metric"])
    config = RunConfig(methods=["bicubic"], dataset="synthetic", profile="smoke", hr_fraction=[1.0], scale=2,
                       seeds=2, out=str(tmp_path / "out"),
                       metrics=["psnr_y", RAISING, "ssim_y", RAISING_AVAILABILITY])
    summary = run(config, plugins=system, progress=False)
    assert summary.exit_code == 0 and len(summary.results) == 2
    for result in summary.results:
        assert result["status"] == "ok", result["reason"]
        scored = result["metrics"]["synthetic"]
        assert scored["mean"][RAISING] is None and scored["mean"][RAISING_AVAILABILITY] is None
        assert scored["unavailable"][RAISING].startswith("RuntimeError: boom on ")
        assert scored["unavailable"][RAISING_AVAILABILITY] == "KeyError: 'no config'"
        assert scored["mean"]["psnr_y"] > 20 and 0 < scored["mean"]["ssim_y"] <= 1
        assert all("psnr_y" in row and RAISING not in row for row in scored["per_image"])
