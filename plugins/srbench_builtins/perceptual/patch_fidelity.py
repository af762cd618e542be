"""FID and KID of a test set, computed by torch-fidelity on aligned SR/HR patches.

FID/KID compare *distributions* of network features and need many samples, while SR test
sets have 5-100 images. So every image is cut into non-overlapping ``patch_size`` x
``patch_size`` tiles at the same positions in SR and HR: Set5 (~300x300 px) still gives ~100
samples per side at 64 px. 64 px (16 LR pixels at x4) keeps edges and textures whole for the
Inception features, which see every input resized to 299 px, at a quarter of the forward
passes 32 px tiles would need. Values depend on the patch size and on the test set: compare
them only within one leaderboard.

torch-fidelity receives the patches as datasets of ``uint8`` ``(3, p, p)`` tensors. FID and
KID are computed together in one call and the result is kept for the next call with the same
patches and options, so scoring ``fid`` and ``kid`` on one test set extracts features once.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

import torch

from srbench.errors import DataError
from srbench.interfaces import MetricSample
from srbench.options import option
from srbench_builtins.metrics.protocol import check_pair

from .common import DeviceChoice, import_problem, resolve_device
from .weights import inception_weights

#: torch-fidelity's default (TF-compatible FID Inception) feature extractor.
DEFAULT_EXTRACTOR = "inception-v3-compat"


@dataclass(frozen=True)
class PatchFidelityOptions:
    """Options shared by ``fid`` and ``kid`` (one set of features serves both)."""

    patch_size: int = option(64, "side (HR px) of the aligned non-overlapping SR/HR patches compared")
    feature_extractor: str = option(DEFAULT_EXTRACTOR, "torch-fidelity feature extractor name")
    weights: str = option("", "feature extractor weights; default $SRBENCH_INCEPTION_WEIGHTS, else the torch hub "
                              "cache (Inception only)")
    kid_subset_size: int = option(1000, "KID subset size; lowered to the number of patches when there are fewer")
    kid_subsets: int = option(100, "number of random KID subsets averaged")
    max_patches: int = option(0, "0 = every patch; else an evenly spaced subset of at most this many")
    batch_size: int = option(64, "patches per forward pass of the feature extractor")
    device: DeviceChoice = option("auto", "where the feature extractor runs: auto (CUDA if available), cpu or cuda")

    def __post_init__(self) -> None:
        for name in ("patch_size", "kid_subset_size", "kid_subsets", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"invalid {name} {getattr(self, name)!r}; expected an integer >= 1")
        if self.max_patches < 0:
            raise ValueError(f"invalid max_patches {self.max_patches!r}; expected 0 (all) or a positive integer")


class PatchDataset(torch.utils.data.Dataset):
    """A stack of ``uint8`` ``(N, 3, p, p)`` patches as the Dataset torch-fidelity reads."""

    def __init__(self, patches: torch.Tensor) -> None:
        self.patches = patches

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.patches[index]


def _tiles(img: torch.Tensor, size: int) -> torch.Tensor:
    """Non-overlapping ``size`` tiles of a ``(C, H, W)`` image from its top-left corner, as ``(N, 3, size, size)``."""
    rgb = img.expand(3, -1, -1) if img.shape[0] == 1 else img
    tiles = rgb.unfold(1, size, size).unfold(2, size, size)  # (3, rows, cols, size, size)
    return tiles.permute(1, 2, 0, 3, 4).reshape(-1, 3, size, size)


def aligned_patches(samples: Sequence[MetricSample], size: int, max_patches: int = 0,
                    metric: str = "fid") -> tuple[torch.Tensor, torch.Tensor]:
    """SR and HR patches at the same positions of every image, ``uint8`` ``(N, 3, size, size)`` each.

    Images smaller than ``size`` contribute none. With ``max_patches > 0`` an evenly spaced
    subset is kept (deterministic, so every method is scored on the same positions).
    """
    sr_parts, hr_parts = [], []
    for sample in samples:
        check_pair(sample, metric)
        sr_parts.append(_tiles(sample.sr, size))
        hr_parts.append(_tiles(sample.hr, size))
    empty = torch.zeros(0, 3, size, size, dtype=torch.uint8)
    sr = torch.cat(sr_parts) if sr_parts else empty
    hr = torch.cat(hr_parts) if hr_parts else empty
    if 0 < max_patches < sr.shape[0]:
        keep = torch.linspace(0, sr.shape[0] - 1, max_patches).round().long()
        sr, hr = sr[keep], hr[keep]
    return sr.contiguous(), hr.contiguous()


def feature_weights(options: PatchFidelityOptions, metric: str) -> tuple[Path | None, str | None]:
    """The weights file to pass to the feature extractor, or the reason it is missing.

    ``None`` path with no reason: a third-party extractor that finds its own weights.
    """
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    name = options.feature_extractor
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        known = ", ".join(sorted(FEATURE_EXTRACTORS_REGISTRY))
        return None, f"torch-fidelity has no feature extractor {name!r} (set {metric}.feature_extractor); known: {known}"
    if name == DEFAULT_EXTRACTOR:
        found = inception_weights(options.weights, f"{metric}.weights")
        return found.path, found.missing_reason()
    if options.weights:
        path = Path(options.weights).expanduser()
        return path, None if path.is_file() else f"{metric}.weights: file {path} does not exist"
    if FEATURE_EXTRACTORS_REGISTRY[name].__module__.startswith("torch_fidelity."):
        return None, (f"torch-fidelity's feature extractor {name!r} would download its weights; "
                      f"set {metric}.weights=PATH to a local copy")
    return None, None


def unavailable_reason(options: PatchFidelityOptions, metric: str) -> str | None:
    """Why FID/KID cannot be computed here (package or weights missing), or ``None``."""
    problem = import_problem("torch_fidelity", "torch-fidelity")
    if problem:
        return problem
    return feature_weights(options, metric)[1]


_last: tuple[str, dict[str, float]] | None = None


def _fingerprint(sr: torch.Tensor, hr: torch.Tensor, options: PatchFidelityOptions, weights: Path | None) -> str:
    digest = hashlib.sha256()
    for patches in (sr, hr):
        digest.update(repr(tuple(patches.shape)).encode())
        digest.update(patches.numpy().tobytes())
    settings = {f.name: getattr(options, f.name) for f in fields(options)}
    digest.update(repr((sorted(settings.items()), str(weights))).encode())
    return digest.hexdigest()


def fidelity_scores(samples: Sequence[MetricSample], options: PatchFidelityOptions, metric: str) -> dict[str, float]:
    """``{"fid": ..., "kid": ...}`` of SR patches against HR patches (both ``nan``, with a warning,
    below 2 patches). Call only when :func:`unavailable_reason` is ``None``."""
    global _last
    sr, hr = aligned_patches(samples, options.patch_size, options.max_patches, metric)
    count = int(sr.shape[0])
    if count < 2:  # covariances and KID's unbiased estimate need two samples per side
        warnings.warn(f"{metric}: only {count} patch(es) of {options.patch_size} px fit in the test images; "
                      f"FID/KID need at least 2, set {metric}.patch_size smaller; the score is nan", stacklevel=3)
        return {"fid": math.nan, "kid": math.nan}
    weights, _ = feature_weights(options, metric)
    key = _fingerprint(sr, hr, options, weights)
    if _last is not None and _last[0] == key:
        return dict(_last[1])

    import torch_fidelity

    device = resolve_device(options.device)
    raw = torch_fidelity.calculate_metrics(
        input1=PatchDataset(sr), input2=PatchDataset(hr), fid=True, kid=True,
        feature_extractor=options.feature_extractor,
        feature_extractor_weights_path=str(weights) if weights is not None else None,
        kid_subset_size=min(options.kid_subset_size, count), kid_subsets=options.kid_subsets,
        batch_size=options.batch_size, cuda=device.type == "cuda",
        cache=False, verbose=False, save_cpu_ram=True,  # save_cpu_ram: no DataLoader worker processes
    )
    scores = {"fid": float(raw[torch_fidelity.KEY_METRIC_FID]), "kid": float(raw[torch_fidelity.KEY_METRIC_KID_MEAN])}
    _last = (key, scores)
    return dict(scores)
