"""``lpips``: learned perceptual distance (Zhang et al. 2018), AlexNet trunk, version 0.1.

Per image, on RGB scaled to ``[-1, 1]`` (grayscale replicated to 3 channels), with ``scale``
pixels cropped per border like ``psnr_y``. Lower is better; 0 for identical images.

Two files are needed: the calibrated linear layers, shipped inside the ``lpips`` package
(``lpips/weights/v0.1/alex.pth``), and torchvision's AlexNet ImageNet weights, which the lpips
package would download. srbench builds the network with a random trunk (no download) and
loads the trunk itself from the file :mod:`.weights` finds; when any piece is missing the
metric is unavailable with the reason, instead of a score.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import torch

from srbench.errors import DataError, UsageError
from srbench.interfaces import Metric, MetricSample
from srbench.options import option
from srbench_builtins.metrics.protocol import check_pair, crop_border

from .common import DeviceChoice, file_stamp, import_problem, resolve_device, short_error
from .weights import lpips_linear_weights, lpips_trunk_weights

#: Smallest side AlexNet's five LPIPS stages accept: conv1 (11 px, stride 4) must leave >= 7 px
#: for the two 3 px / stride 2 max-pools that follow.
MIN_SIDE = 31


@dataclass(frozen=True)
class LpipsOptions:
    """Options of ``lpips``."""

    weights: str = option("", "AlexNet ImageNet state dict; default $SRBENCH_LPIPS_WEIGHTS, else the torch hub cache",
                          affects_results=False)
    device: DeviceChoice = option("auto", "where the network runs: auto (CUDA if available), cpu or cuda",
                                  affects_results=False)


def load_alexnet_trunk(trunk: torch.nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    """Copy torchvision AlexNet ``features.*`` tensors into lpips's trunk (``slice{k}.{index}.*``).

    :raises DataError: when ``state`` lacks a tensor the trunk needs or a shape differs.
    """
    mapped = {}
    for key, own in trunk.state_dict().items():
        _, index, name = key.split(".")
        theirs = state.get(f"features.{index}.{name}")
        if theirs is None or tuple(theirs.shape) != tuple(own.shape):
            raise DataError(f"{source} is not a torchvision AlexNet state dict: features.{index}.{name} "
                            f"is missing or not of shape {tuple(own.shape)}")
        mapped[key] = theirs
    trunk.load_state_dict(mapped)


def build_lpips(trunk_path: Path, linear_path: Path, device: str) -> torch.nn.Module:
    """LPIPS v0.1 AlexNet in eval mode on ``device``, from two local files.

    Cached per paths, device and the files' size and modification time (a replaced file is reloaded).
    """
    return _build_lpips_cached(trunk_path, linear_path, device, file_stamp(trunk_path), file_stamp(linear_path))


@lru_cache(maxsize=2)
def _build_lpips_cached(trunk_path: Path, linear_path: Path, device: str, *stamps: tuple[int, int]) -> torch.nn.Module:
    import lpips

    with warnings.catch_warnings():  # lpips calls torchvision's deprecated ``pretrained=`` argument
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, model_path=str(linear_path),
                            pnet_rand=True, verbose=False)
    load_alexnet_trunk(model.net, torch.load(trunk_path, map_location="cpu", weights_only=True), trunk_path)
    return model.to(device).eval().requires_grad_(False)


def _to_network_input(img: torch.Tensor) -> torch.Tensor:
    """``uint8`` ``(C, H, W)`` -> ``(1, 3, H, W)`` float in ``[-1, 1]``."""
    x = img.float().div(127.5).sub(1.0)[None]
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class Lpips(Metric):
    """LPIPS v0.1 (AlexNet) distance of SR to HR, ``scale``-pixel border cropped; lower is better."""

    Options: ClassVar[type] = LpipsOptions
    higher_is_better: ClassVar[bool] = False

    def _files(self) -> tuple[Path, Path, str | None]:
        trunk = lpips_trunk_weights(self.options.weights)
        linear = lpips_linear_weights()
        return trunk.path, linear.path, linear.missing_reason() or trunk.missing_reason()

    def unavailable_reason(self) -> str | None:
        problem = import_problem("lpips", "lpips")
        if problem:
            return problem
        trunk_path, linear_path, missing = self._files()
        if missing:
            return missing
        try:
            build_lpips(trunk_path, linear_path, str(resolve_device(self.options.device)))
        except Exception as exc:  # noqa: BLE001 - a corrupt file or an API change must not crash scoring
            return f"LPIPS could not be built from {trunk_path} and {linear_path}: {short_error(exc)}"
        return None

    def compute(self, sample: MetricSample) -> float:
        reason = self.unavailable_reason()
        if reason:
            raise UsageError(f"lpips is unavailable: {reason}")
        check_pair(sample, "lpips")
        trunk_path, linear_path, _ = self._files()
        device = resolve_device(self.options.device)
        model = build_lpips(trunk_path, linear_path, str(device))
        sr = crop_border(sample.sr, sample.scale, "lpips", sample.id, min_side=MIN_SIDE)
        hr = crop_border(sample.hr, sample.scale, "lpips", sample.id, min_side=MIN_SIDE)
        with torch.no_grad():
            distance = model(_to_network_input(sr).to(device), _to_network_input(hr).to(device))
        return float(distance.reshape(-1)[0])
