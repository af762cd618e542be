"""From dataset images to what methods train on (:class:`TrainingData`) and are scored on.

Training data (:func:`build_training_data`):

1. split the training images by ``hr_fraction`` (:func:`~srbench.data.split.split_by_hr_fraction`);
2. grayscale images are replicated to 3 channels (networks are RGB); each HR image is cropped
   to a multiple of the scale (modcrop);
3. LR = quantised ``degradation.apply(hr)``, its random parameters drawn from a generator
   seeded by ``(seed, image id)``, so an image's LR is the same in every trial of that seed;
4. paired images give ``profile.patches_per_image`` aligned patch pairs (HR patch at
   coordinates that are multiples of the scale, LR patch at those coordinates / scale);
   LR-only images give LR patches and their HR is **dropped** there and then: nothing in
   the returned object references it; their ids are replaced by opaque ones
   (:func:`opaque_lr_only_id`), the split manifest alone keeps the real ones;
5. the HR pool is the paired HR patches (``hr_source="paired"``), nothing (``"none"``) or
   patches of other HR images (a list, e.g. another dataset's train split).

Test images (:func:`build_test_set`) never enter :class:`TrainingData`.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import DataError, UsageError
from ..interfaces.dataset import Image
from ..interfaces.degradation import Degradation
from ..ops.imresize import modcrop, quantize
from ..results import write_bytes_atomic
from ..training.profiles import Profile
from .split import SplitManifest, split_by_hr_fraction
from .training_data import HRPool, LROnlySet, PairedSet, PatchSet, TrainingData

#: Bump when the layout of cached files or the way patches are drawn changes (2: opaque LR-only
#: ids, no HR in the file).
CACHE_FORMAT = 2
HR_SOURCES = ("paired", "none")


# -- small helpers -----------------------------------------------------------------------------

def derive_seed(seed: int, *parts: str) -> int:
    """A 63-bit seed from the trial seed and labels (``derive_seed(0, "lr", "img1")``)."""
    text = "\0".join(["srbench", str(seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _generator(seed: int, *parts: str) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *parts))


def opaque_lr_only_id(index: int) -> str:
    """What a method sees as the id of the ``index``-th LR-only image (input order): ``"lr-only-00007"``."""
    return f"lr-only-{index:05d}"


def _to_rgb(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.expand(3, -1, -1) if pixels.shape[0] == 1 else pixels


def degrade_image(hr: torch.Tensor, degradation: Degradation, seed: int, image_id: str) -> torch.Tensor:
    """The stored LR of one image: ``uint8`` ``(C, H/s, W/s)`` from ``uint8`` HR ``(C, H, W)``.

    Parameters are drawn from a generator seeded by ``(seed, image_id)``.
    """
    generator = _generator(seed, "lr", image_id)
    params = degradation.sample_params(1, generator)
    with torch.no_grad():
        lr = degradation.apply(hr[None].float().div(255.0), params)
    expected = (1, hr.shape[0], *degradation.lr_size(hr.shape[1], hr.shape[2]))
    if tuple(lr.shape) != expected:
        raise RuntimeError(f"degradation {degradation.describe()} returned shape {tuple(lr.shape)} for HR "
                           f"{tuple(hr.shape)}; expected {expected}")
    return quantize(lr)[0].contiguous()


def _content_hash(images: Sequence[Image]) -> str:
    h = hashlib.sha256()
    for img in images:
        h.update(f"{img.id}\0{tuple(img.pixels.shape)}\0".encode())
        h.update(img.pixels.contiguous().numpy().tobytes())
    return h.hexdigest()


def _options_repr(options: Any) -> Any:
    if is_dataclass(options) and not isinstance(options, type):
        return {f.name: repr(getattr(options, f.name)) for f in fields(options)}
    return repr(options)


# -- checks ---------------------------------------------------------------------------------------

def _check_profile(profile: Profile, scale: int) -> tuple[int, int]:
    p, n = profile.patch_size, profile.patches_per_image
    if p <= 0 or p % scale:
        raise UsageError(f"profile patch_size {p} is not a positive multiple of scale {scale}; "
                         f"set --set profile.patch_size={max(scale, p - p % scale) if p > 0 else 12 * scale}")
    if n < 1:
        raise UsageError(f"profile patches_per_image {n}: expected an integer >= 1")
    return p, n


def _check_fits(img: Image, patch: int, scale: int, what: str) -> None:
    # patch is a multiple of scale, so an image at least patch wide still is after modcrop.
    if img.height < patch or img.width < patch:
        raise DataError(f"{what} {img.id!r} is {img.width}x{img.height} px, smaller than the {patch}-px "
                        f"training patch; use a smaller patch (--set profile.patch_size=N, a multiple of "
                        f"{scale}) or remove the image")


def _unique_ids(images: Sequence[Image], what: str) -> None:
    seen: set[str] = set()
    for img in images:
        if img.id in seen:
            raise DataError(f"{what} id {img.id!r} appears more than once; image ids must be unique")
        seen.add(img.id)


# -- patch extraction -----------------------------------------------------------------------------

def _crop_positions(lr_h: int, lr_w: int, lr_patch: int, count: int, gen: torch.Generator) -> torch.Tensor:
    """``(count, 2)`` top-left LR coordinates of patches of side ``lr_patch``."""
    ys = torch.randint(0, lr_h - lr_patch + 1, (count,), generator=gen)
    xs = torch.randint(0, lr_w - lr_patch + 1, (count,), generator=gen)
    return torch.stack([ys, xs], dim=1)


def _crop(img: torch.Tensor, positions: torch.Tensor, size: int, step: int) -> torch.Tensor:
    """Stacked copies (never views) of ``size``-px crops at ``positions * step``."""
    return torch.stack([img[:, y * step: y * step + size, x * step: x * step + size]
                        for y, x in positions.tolist()]).contiguous()


def _stack(patches: list[torch.Tensor], channels: int, size: int) -> torch.Tensor:
    if not patches:
        return torch.empty((0, channels, size, size), dtype=torch.uint8)
    return torch.cat(patches).contiguous()


@dataclass
class _Extracted:
    """Plain tensors of one subset (what the cache stores)."""

    tensors: dict[str, torch.Tensor]
    ids: list[str]
    images: dict[str, list[torch.Tensor]]

    def to_dict(self) -> dict[str, Any]:
        """What the cache stores: LR only. HR patches are crops, cheap to re-derive from the images
        the trial may see; storing them would put one split's paired HR, which is another split's
        hidden HR, in a file any later trial could open."""
        return {"tensors": {k: v for k, v in self.tensors.items() if k != "hr"}, "ids": self.ids,
                "images": {k: v for k, v in self.images.items() if k != "hr"}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "_Extracted":
        return cls(dict(d["tensors"]), list(d["ids"]), {k: list(v) for k, v in d["images"].items()})


def _hr_of(img: Image, scale: int) -> torch.Tensor:
    """RGB, modcropped, contiguous copy of an image's pixels (never a view of the dataset's)."""
    return modcrop(_to_rgb(img.pixels), scale).clone(memory_format=torch.contiguous_format)


def _train_positions(hr: torch.Tensor, degradation: Degradation, seed: int, image_id: str, patch: int,
                     per_image: int) -> torch.Tensor:
    """LR top-left corners of a training image's patches (a pure function of seed, id and size)."""
    lr_h, lr_w = degradation.lr_size(hr.shape[1], hr.shape[2])
    return _crop_positions(lr_h, lr_w, patch // degradation.scale, per_image, _generator(seed, "crop", image_id))


def _paired_hr(images: Sequence[Image], manifest: SplitManifest, degradation: Degradation, seed: int, patch: int,
               per_image: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """HR patches and whole HR images of the paired subset, aligned with its LR patches."""
    s = degradation.scale
    paired_ids = set(manifest.paired_ids)
    patches, whole = [], []
    for img in images:
        if img.id in paired_ids:
            hr = _hr_of(img, s)
            patches.append(_crop(hr, _train_positions(hr, degradation, seed, img.id, patch, per_image), patch, s))
            whole.append(hr)
    return _stack(patches, 3, patch), whole


def _extract_train(images: Sequence[Image], manifest: SplitManifest, degradation: Degradation, seed: int,
                   patch: int, per_image: int,
                   paired_degradation: Degradation | None = None) -> tuple[_Extracted, _Extracted]:
    """LR patches and images of both subsets (HR is added to the paired one by :func:`_paired_hr`); the paired
    LR is made by ``paired_degradation`` when given."""
    s = degradation.scale
    lp = patch // s
    paired_ids = set(manifest.paired_ids)
    p_lr: list[torch.Tensor] = []
    p_lr_img: list[torch.Tensor] = []
    u_lr: list[torch.Tensor] = []
    u_lr_img: list[torch.Tensor] = []
    p_ids: list[str] = []
    u_ids: list[str] = []
    for img in images:
        _check_fits(img, patch, s, "training image")
        hr = _hr_of(img, s)
        paired_image = img.id in paired_ids
        lr = degrade_image(hr, paired_degradation if paired_image and paired_degradation else degradation, seed,
                           img.id)
        pos = _train_positions(hr, degradation, seed, img.id, patch, per_image)
        if paired_image:
            p_lr.append(_crop(lr, pos, lp, 1))
            p_ids += [img.id] * per_image
            p_lr_img.append(lr)
        else:
            # LR-only: the HR made the LR and goes no further, and the id is replaced by an opaque
            # one, so no method can look the image up elsewhere (the manifest keeps the real ids).
            u_lr.append(_crop(lr, pos, lp, 1))
            u_ids += [opaque_lr_only_id(len(u_lr_img))] * per_image
            u_lr_img.append(lr)
        del hr
    paired = _Extracted({"lr": _stack(p_lr, 3, lp)}, p_ids, {"lr": p_lr_img})
    lr_only = _Extracted({"lr": _stack(u_lr, 3, lp)}, u_ids, {"lr": u_lr_img})
    return paired, lr_only


def _extract_hr_pool(images: Sequence[Image], scale: int, seed: int, patch: int, per_image: int) -> _Extracted:
    _unique_ids(images, "HR source image")
    patches, ids, whole = [], [], []
    for img in images:
        _check_fits(img, patch, scale, "HR source image")
        hr = _hr_of(img, scale)
        pos = _crop_positions(hr.shape[1] // scale, hr.shape[2] // scale, patch // scale, per_image,
                              _generator(seed, "hr-pool-crop", img.id))
        patches.append(_crop(hr, pos, patch, scale))
        ids += [img.id] * per_image
        whole.append(hr)
    return _Extracted({"hr": _stack(patches, 3, patch)}, ids, {"hr": whole})


# -- cache ----------------------------------------------------------------------------------------

def _degradation_key(degradation: Degradation) -> dict[str, Any]:
    return {"degradation": f"{type(degradation).__module__}.{type(degradation).__qualname__}",
            "degradation_options": _options_repr(degradation.options)}


def _cache_key(images: Sequence[Image], degradation: Degradation, profile: Profile, hr_fraction: float,
               seed: int, hr_source: "str | Sequence[Image]", paired_degradation: Degradation | None) -> str:
    source: Any = hr_source if isinstance(hr_source, str) else {
        "ids": [i.id for i in hr_source], "sizes": [list(i.pixels.shape) for i in hr_source],
        "content": _content_hash(hr_source)}
    key = {
        "format": CACHE_FORMAT,
        "ids": [i.id for i in images],
        "sizes": [list(i.pixels.shape) for i in images],
        "content": _content_hash(images),
        **_degradation_key(degradation),
        "scale": degradation.scale,
        "patch_size": profile.patch_size,
        "patches_per_image": profile.patches_per_image,
        "hr_fraction": hr_fraction,
        "seed": seed,
        "hr_source": source,
    }
    if paired_degradation is not None:  # absent otherwise, so caches made before it stay valid
        key["paired_degradation"] = _degradation_key(paired_degradation)
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _load_cache(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a truncated or foreign file is rebuilt, never trusted
        return None
    if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT:
        return None
    return payload


def _save_cache(path: Path, payload: dict[str, Any]) -> None:
    # In memory first: torch.save to a full disk raises RuntimeError, a plain write OSError(ENOSPC).
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getbuffer())


# -- public entry points --------------------------------------------------------------------------

def build_training_data(
    train_images: list[Image],
    *,
    degradation: Degradation,
    hr_fraction: float,
    seed: int,
    profile: Profile,
    hr_source: "str | list[Image]" = "paired",
    cache_dir: Path | None = None,
    paired_degradation: Degradation | None = None,
) -> tuple[TrainingData, SplitManifest]:
    """Build what a method trains on, following the few-HR access contract.

    :param train_images: the training split of a dataset (unique ids).
    :param degradation: the HR-to-LR operator (its ``scale`` is the SR factor).
    :param hr_fraction: fraction of images that keep their HR, in ``[0, 1]``.
    :param seed: the trial seed; the split, the LR parameters, the crops and the batch
        generators all derive from it.
    :param profile: ``patch_size`` (HR side, a multiple of the scale) and ``patches_per_image``.
    :param hr_source: ``"paired"`` (HR pool = the paired HR patches, drawn independently;
        ``None`` when nothing is paired), ``"none"`` (no pool) or a list of HR images.
    :param cache_dir: when given, extracted tensors are saved there and reused.
    :param paired_degradation: the operator that makes the paired images' LR, when it is not ``degradation``
        (a domain gap between the paired and the LR-only images); same scale.
    :returns: the training data and the split manifest.
    :raises UsageError: for a bad fraction, hr_source, patch size or paired_degradation scale.
    :raises DataError: for duplicate ids or an image smaller than a patch.
    """
    if isinstance(hr_source, str) and hr_source not in HR_SOURCES:
        raise UsageError(f"--hr-source {hr_source!r}: expected paired, none or a dataset name")
    scale = degradation.scale
    if paired_degradation is not None and paired_degradation.scale != scale:
        raise UsageError(f"paired degradation {paired_degradation.describe()}: scale {paired_degradation.scale}, "
                         f"expected the degradation's {scale}")
    patch, per_image = _check_profile(profile, scale)
    _unique_ids(train_images, "training image")
    manifest = split_by_hr_fraction([i.id for i in train_images], hr_fraction, seed)

    payload: dict[str, Any] | None = None
    cache_path: Path | None = None
    if cache_dir is not None:
        key = _cache_key(train_images, degradation, profile, manifest.hr_fraction, seed, hr_source,
                         paired_degradation)
        cache_path = Path(cache_dir) / f"train-{key[:32]}.pt"
        payload = _load_cache(cache_path)
    if payload is not None:
        paired, lr_only = _Extracted.from_dict(payload["paired"]), _Extracted.from_dict(payload["lr_only"])
    else:
        paired, lr_only = _extract_train(train_images, manifest, degradation, seed, patch, per_image,
                                         paired_degradation)
        if cache_path is not None:
            _save_cache(cache_path, {"format": CACHE_FORMAT, "paired": paired.to_dict(), "lr_only": lr_only.to_dict()})
    # HR is never cached (see _Extracted.to_dict): crops of the images this split may show.
    paired.tensors["hr"], paired.images["hr"] = _paired_hr(train_images, manifest, degradation, seed, patch, per_image)
    pool = None if isinstance(hr_source, str) else _extract_hr_pool(hr_source, scale, seed, patch, per_image)

    if hr_source == "paired" and paired.ids:
        # The same HR patches, drawn by their own generator: unpaired from any LR batch.
        pool = _Extracted({"hr": paired.tensors["hr"]}, list(paired.ids), {"hr": list(paired.images["hr"])})

    def make(cls: type[PatchSet], ex: _Extracted, name: str) -> Any:
        return cls(ex.tensors, ex.ids, ex.images, generator=_generator(seed, "batches", name))

    data = TrainingData(
        paired=make(PairedSet, paired, "paired"),
        lr_only=make(LROnlySet, lr_only, "lr_only"),
        hr_pool=None if pool is None else make(HRPool, pool, "hr_pool"),
        scale=scale,
        degradation=degradation,
        paired_degradation=paired_degradation,
    )
    return data, manifest


@dataclass(frozen=True)
class TestImage:
    """One scored image.

    :param id: the dataset's image id.
    :param hr: ``uint8`` ``(C, H, W)``, H and W multiples of the scale (native channel count).
    :param lr: ``uint8`` ``(C, H/s, W/s)``, the degradation of ``hr``.
    :param grayscale: True for 1-channel images.
    """

    __test__ = False  # not a pytest test class despite the name

    id: str
    hr: torch.Tensor
    lr: torch.Tensor
    grayscale: bool


def build_test_set(images: list[Image], *, degradation: Degradation, seed: int, max_side: int = 0) -> list[TestImage]:
    """HR/LR pairs to score methods on.

    :param images: a dataset's test (or all) split.
    :param seed: seeds each image's degradation parameters with ``(seed, id)``.
    :param max_side: when > 0, centre-crop each HR image to at most this side (rounded down to a
        multiple of the scale), to bound evaluation time.
    :raises DataError: for an image smaller than the scale.
    """
    s = degradation.scale
    if max_side < 0:
        raise UsageError(f"eval max side {max_side}: expected 0 (whole images) or a positive number of pixels")
    if 0 < max_side < s:
        raise UsageError(f"eval max side {max_side} is smaller than the scale {s}; use 0 or at least {s}")
    out = []
    for img in images:
        if img.height < s or img.width < s:
            raise DataError(f"test image {img.id!r} is {img.width}x{img.height} px, smaller than the scale {s}")
        hr = modcrop(img.pixels, s)
        if max_side > 0:
            limit = max_side - max_side % s
            h, w = min(hr.shape[1], limit), min(hr.shape[2], limit)
            top, left = (hr.shape[1] - h) // 2, (hr.shape[2] - w) // 2
            hr = hr[:, top: top + h, left: left + w]
        hr = hr.contiguous().clone()
        lr = degrade_image(hr, degradation, seed, img.id)
        out.append(TestImage(img.id, hr, lr, hr.shape[0] == 1))
    return out
