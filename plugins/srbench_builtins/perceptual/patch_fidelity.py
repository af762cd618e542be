"""FID and KID of a test set on aligned SR/HR patches, with torch-fidelity's feature extractors.

FID/KID compare *distributions* of network features and need many samples, while SR test
sets have 5-100 images. So every image is cut into non-overlapping ``patch_size`` x
``patch_size`` tiles at the same positions in SR and HR: Set5 (~300x300 px) still gives ~100
samples per side at 64 px. 64 px (16 LR pixels at x4) keeps edges and textures whole for the
Inception features, which see every input resized to 299 px, at a quarter of the forward
passes 32 px tiles would need. Values depend on the patch size and on the test set: compare
them only within one leaderboard.

torch-fidelity supplies the feature extractor by name (default its TF-compatible FID
Inception, 2048-d pool features) from its registry, so extractors registered with
``torch_fidelity.register_feature_extractor`` work too; srbench runs it on ``uint8`` patch
batches and computes the distances itself (:mod:`.distances`): KID needs the paired-sample
estimator for aligned patches, which torch-fidelity's ``calculate_metrics`` does not offer.
FID and KID come from one feature extraction, kept for the next call with the same patches
and options, so scoring ``fid`` and then ``kid`` on a test set runs the network once.
"""

from __future__ import annotations

from srbench.errors import MetricUnavailableError

import hashlib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from srbench.interfaces import MetricSample
from srbench.options import option
from srbench_builtins.metrics.protocol import check_pair

from .common import DeviceChoice, file_stamp, import_problem, resolve_device, short_error
from .distances import frechet_distance, paired_kid
from .weights import inception_weights

#: torch-fidelity's default (TF-compatible FID Inception) feature extractor.
DEFAULT_EXTRACTOR = "inception-v3-compat"


@dataclass(frozen=True)
class PatchFidelityOptions:
    """Options shared by ``fid`` and ``kid`` (one set of features serves both)."""

    patch_size: int = option(64, "side (HR px) of the aligned non-overlapping SR/HR patches compared")
    feature_extractor: str = option(DEFAULT_EXTRACTOR, "torch-fidelity feature extractor name")
    weights: str = option("", "feature extractor weights; default $SRBENCH_INCEPTION_WEIGHTS, else the torch hub "
                              "cache (Inception only)", affects_results=False)
    kid_subset_size: int = option(1000, "KID subset size; lowered to the number of patches when there are fewer")
    kid_subsets: int = option(100, "number of random KID subsets averaged")
    max_patches: int = option(0, "0 = every patch; else an evenly spaced subset of at most this many")
    batch_size: int = option(64, "patches per forward pass of the feature extractor", affects_results=False)
    device: DeviceChoice = option("auto", "where the feature extractor runs: auto (CUDA if available), cpu or cuda",
                                  affects_results=False)

    def __post_init__(self) -> None:
        for name in ("patch_size", "kid_subset_size", "kid_subsets", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"invalid {name} {getattr(self, name)!r}; expected an integer >= 1")
        if self.max_patches < 0:
            raise ValueError(f"invalid max_patches {self.max_patches!r}; expected 0 (all) or a positive integer")


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
        return None, (f"torch-fidelity has no feature extractor {name!r} (set {metric}.feature_extractor); "
                      f"known: {known}")
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


def load_extractor(name: str, weights: Path | None, device: str) -> tuple[torch.nn.Module, str, str]:
    """A torch-fidelity feature extractor in eval mode on ``device`` and its FID and KID feature names.

    Cached per name, weights file (path, size, modification time) and device.
    """
    return _load_extractor_cached(name, weights, device, file_stamp(weights))


@lru_cache(maxsize=2)
def _load_extractor_cached(name: str, weights: Path | None, device: str,
                           stamp: tuple[int, int]) -> tuple[torch.nn.Module, str, str]:
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    cls = FEATURE_EXTRACTORS_REGISTRY[name]
    fid_layer = cls.get_default_feature_layer_for_metric("fid")
    kid_layer = cls.get_default_feature_layer_for_metric("kid")
    layers = list(dict.fromkeys([fid_layer, kid_layer]))
    extractor = cls(name, layers, feature_extractor_weights_path=str(weights) if weights is not None else None,
                    verbose=False)
    return extractor.to(device).eval().requires_grad_(False), fid_layer, kid_layer


def extractor_problem(options: PatchFidelityOptions, metric: str) -> str | None:
    """Why the feature extractor cannot be used here (package, weights, loading), or ``None``."""
    problem = import_problem("torch_fidelity", "torch-fidelity")
    if problem:
        return problem
    weights, missing = feature_weights(options, metric)
    if missing:
        return missing
    try:
        load_extractor(options.feature_extractor, weights, str(resolve_device(options.device)))
    except Exception as exc:  # noqa: BLE001 - a corrupt file or an API change must not crash scoring
        source = f" from {weights}" if weights is not None else ""
        return f"feature extractor {options.feature_extractor!r} could not be built{source}: {short_error(exc)}"
    return None


def extract_features(extractor: torch.nn.Module, layers: list[str], patches: torch.Tensor, batch_size: int,
                     device: torch.device) -> dict[str, np.ndarray]:
    """Features of ``uint8`` ``(N, 3, p, p)`` patches, ``{layer: (N, D) float64}``."""
    chunks: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    with torch.no_grad():
        for start in range(0, patches.shape[0], batch_size):
            outputs = extractor(patches[start:start + batch_size].to(device))
            for layer, value in zip(extractor.get_requested_features_list(), outputs):
                if layer in chunks:
                    chunks[layer].append(value.detach().to("cpu", torch.float64).reshape(value.shape[0], -1).numpy())
    return {layer: np.concatenate(parts) for layer, parts in chunks.items()}


_last: tuple[str, dict[str, float]] | None = None


def _fingerprint(sr: torch.Tensor, hr: torch.Tensor, options: PatchFidelityOptions, weights: Path | None) -> str:
    digest = hashlib.sha256()
    for patches in (sr, hr):
        digest.update(repr(tuple(patches.shape)).encode())
        digest.update(patches.numpy().tobytes())
    settings = {f.name: getattr(options, f.name) for f in fields(options)}
    digest.update(repr((sorted(settings.items()), str(weights), file_stamp(weights))).encode())
    return digest.hexdigest()


def fidelity_scores(samples: Sequence[MetricSample], options: PatchFidelityOptions, metric: str) -> dict[str, float]:
    """``{"fid": ..., "kid": ...}`` of SR patches against HR patches (both ``nan``, with a warning,
    below 2 patches). Call only when :func:`extractor_problem` is ``None``."""
    global _last
    sr, hr = aligned_patches(samples, options.patch_size, options.max_patches, metric)
    count = int(sr.shape[0])
    if count < 2:  # covariances and KID's unbiased estimate need two samples per side
        raise MetricUnavailableError(f"{metric}: only {count} patch(es) of {options.patch_size} px fit in the test "
                                     f"images; FID/KID need at least 2: set {metric}.patch_size smaller")
    weights, _ = feature_weights(options, metric)
    key = _fingerprint(sr, hr, options, weights)
    if _last is not None and _last[0] == key:
        return dict(_last[1])
    device = resolve_device(options.device)
    extractor, fid_layer, kid_layer = load_extractor(options.feature_extractor, weights, str(device))
    layers = list(dict.fromkeys([fid_layer, kid_layer]))
    sr_features = extract_features(extractor, layers, sr, options.batch_size, device)
    hr_features = extract_features(extractor, layers, hr, options.batch_size, device)
    scores = {
        "fid": frechet_distance(sr_features[fid_layer], hr_features[fid_layer]),
        "kid": paired_kid(sr_features[kid_layer], hr_features[kid_layer], options.kid_subset_size, options.kid_subsets),
    }
    _last = (key, scores)
    return dict(scores)
