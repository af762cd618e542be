"""Scoring a method on test images, identically for every method.

The core, not the method, turns outputs into what a user would save: clamped to [0, 1],
rounded to uint8. Grayscale test images are fed as three equal channels (networks are RGB) and
the output's channels are averaged back to one.
"""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import torch

from ..errors import MetricUnavailableError
from ..interfaces.degradation import Degradation
from ..interfaces.metric import Metric, MetricSample


@dataclass
class EvaluationResult:
    """Per test set: mean and per-image metrics, unavailable metrics with reasons, inference cost."""

    mean: dict[str, float | None] = field(default_factory=dict)
    per_image: list[dict[str, Any]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    #: Metrics unavailable because this machine lacks what they need (their ``unavailable_reason``:
    #: weights, a parameter file): a later run where it is present scores them.
    unavailable_setup: list[str] = field(default_factory=list)
    #: Metric -> its :meth:`Metric.details` (per-level values), for metrics that have any.
    details: dict[str, dict[str, float]] = field(default_factory=dict)
    inference_seconds: float = 0.0
    megapixels: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "per_image": self.per_image, "unavailable": self.unavailable,
                "unavailable_setup": self.unavailable_setup, "details": self.details}


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Clamp ``[0, 1]`` floats and round to uint8, as saving a PNG would."""
    return x.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)


def super_resolve_image(super_resolve: Callable[[torch.Tensor], torch.Tensor], lr: torch.Tensor,
                        device: torch.device, scale: int) -> torch.Tensor:
    """Run one ``uint8`` ``(C, h, w)`` LR image through a method; returns ``uint8`` ``(C, h*s, w*s)``."""
    grayscale = lr.shape[0] == 1
    x = lr.to(device).float().div(255.0)[None]
    if grayscale:
        x = x.expand(-1, 3, -1, -1)
    with torch.no_grad():
        y = super_resolve(x)
    expected = (lr.shape[1] * scale, lr.shape[2] * scale)
    if tuple(y.shape[-2:]) != expected:
        raise RuntimeError(f"super_resolve returned {tuple(y.shape[-2:])} for an LR of {tuple(lr.shape[-2:])} "
                           f"at x{scale}; expected {expected}")
    if grayscale:
        y = y.mean(dim=1, keepdim=True)
    return to_uint8(y[0]).cpu()


def center_crop(x: torch.Tensor, side: int, multiple: int = 1) -> torch.Tensor:
    """Central ``side`` x ``side`` crop (smaller if the image is), its corner on a multiple of ``multiple``."""
    h, w = x.shape[-2:]
    ch, cw = min(side, h), min(side, w)
    top = (h - ch) // 2 // multiple * multiple
    left = (w - cw) // 2 // multiple * multiple
    return x[..., top:top + ch, left:left + cw]


def save_png(x: torch.Tensor, path: Path) -> None:
    from PIL import Image as PILImage

    arr = x.permute(1, 2, 0).numpy()
    PILImage.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(path)


#: HR side of the crops saved for the report's image grid (LR side = SAMPLE_SIDE / scale).
SAMPLE_SIDE = 96


def save_samples(super_resolve: Callable[[torch.Tensor], torch.Tensor], img: Any, sr: torch.Tensor, folder: Path,
                 *, scale: int, device: torch.device) -> None:
    """Save crops for the report: SR of the LR, and G applied to the HR ("ultra-resolution", SRGAN report)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_png(center_crop(sr, SAMPLE_SIDE, scale), folder / f"{_safe(img.id)}.sr.png")
    # G(HR): the network run one octave above its training scale; does it invent plausible detail?
    hr_crop = center_crop(img.hr, SAMPLE_SIDE // scale * 2, 1)
    ultra = super_resolve_image(super_resolve, hr_crop, device, scale)
    save_png(ultra, folder / f"{_safe(img.id)}.ultra.png")


def _safe(image_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in image_id)


def evaluate(super_resolve: Callable[[torch.Tensor], torch.Tensor], test_images: Sequence[Any],
             metrics: Mapping[str, Metric], *, scale: int, degradation: Degradation | None,
             device: torch.device, samples_dir: Path | None = None) -> EvaluationResult:
    """Score ``super_resolve`` on ``test_images`` (objects with ``id``, ``hr``, ``lr`` uint8 tensors).

    :param samples_dir: when given, crops of each output are saved there for the report.
    """
    result = EvaluationResult()
    samples: list[MetricSample] = []
    if test_images:  # first call pays for allocations and cached resize weights: keep it out of the timing
        super_resolve_image(super_resolve, test_images[0].lr, device, scale)
    for img in test_images:
        t0 = time.perf_counter()
        sr = super_resolve_image(super_resolve, img.lr, device, scale)
        result.inference_seconds += time.perf_counter() - t0
        result.megapixels += sr.shape[1] * sr.shape[2] / 1e6
        samples.append(MetricSample(img.id, sr, img.hr, img.lr, scale, degradation))
        if samples_dir is not None:
            save_samples(super_resolve, img, sr, samples_dir, scale=scale, device=device)
    result.per_image = [{"id": s.id} for s in samples]
    for name, metric in metrics.items():
        mean, per_image, reason, setup = score_metric(metric, samples)
        result.mean[name] = mean
        if reason is not None:
            result.unavailable[name] = reason
            if setup:
                result.unavailable_setup.append(name)
            continue
        for row, value in zip(result.per_image, per_image or []):
            row[name] = value
        details = _details(metric)
        if details:
            result.details[name] = details
    return result


def _details(metric: Metric) -> dict[str, float]:
    """A metric's :meth:`~Metric.details`; a failing or malformed one is dropped (the score stands)."""
    try:
        return {str(k): float(v) for k, v in (metric.details() or {}).items()}
    except Exception:  # noqa: BLE001 - extra information must never cost the score
        return {}


class MetricScore(NamedTuple):
    """What :func:`score_metric` returns."""

    mean: float | None
    per_image: list[float] | None
    #: Why there is no value (``None`` when there is one).
    reason: str | None = None
    #: The reason is the metric's ``unavailable_reason()``: this machine lacks what it needs.
    setup: bool = False


def score_metric(metric: Metric, samples: Sequence[MetricSample]) -> MetricScore:
    """The metric's mean and per-image values, or its reason for having none.

    A metric is isolated from the trial and from the other metrics: any exception it raises
    (a bug in a plugin, a too-small image, a missing file) makes only this metric unavailable,
    with ``"ExceptionType: message"`` as the reason; the trial stays ``ok``. Only an interrupt
    (``KeyboardInterrupt``, not an ``Exception``) gets through.
    """
    try:
        reason = metric.unavailable_reason()
        if reason:
            return MetricScore(None, None, reason, setup=True)
        mean, per_image = metric.compute_set(samples)
        values = None if per_image is None else [float(v) for v in per_image]
        if values is not None and len(values) != len(samples):
            raise ValueError(f"compute_set returned {len(values)} per-image values for {len(samples)} images")
        return MetricScore(float(mean), values)
    except MetricUnavailableError as exc:
        return MetricScore(None, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - see docstring
        return MetricScore(None, None, f"{type(exc).__name__}: {exc}".strip().splitlines()[0])
