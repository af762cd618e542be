"""The report's image grids: per test image, LR, each row's SR (lowest seed), HR, each row's G(HR),
and a zoom on the window where the outputs differ most, enlarged without interpolation.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..result_record import TrialResult
from ..results import STATUS_OK, TRIALS_DIR
from .board_rows import method_labels

#: Width (px) the report shows every image at (figure img in the page's CSS).
SHOWN_SIDE = 160
#: The zoom window's side as a fraction of the saved crop's (96 px crops: 24 px windows, shown x7).
ZOOM_FRACTION = 0.25


def _png_tag(data: bytes, caption: str) -> str:
    b64 = base64.b64encode(data).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _img_tag(path: Path, caption: str) -> str:
    return _png_tag(path.read_bytes(), caption) if path.exists() else ""


def _luma(img: Any) -> np.ndarray:
    a = np.asarray(img.convert("RGB"), dtype=np.float64)
    return a @ np.array([0.299, 0.587, 0.114])  # BT.601 weights, as the metrics' luma


def zoom_window(images: Sequence[np.ndarray], side: int, step: int = 1) -> tuple[int, int]:
    """Top-left corner (on multiples of ``step``) of the ``side`` x ``side`` window where the
    images differ most: the largest sum over the window of the per-pixel variance across them."""
    var = np.stack(images).var(axis=0)
    c = np.pad(var.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = c[side:, side:] - c[:-side, side:] - c[side:, :-side] + c[:-side, :-side]  # sums[top, left]
    grid = sums[::step, ::step]
    top, left = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return int(top) * step, int(left) * step


def _enlarged(img: Any, box: tuple[int, int, int, int]) -> bytes:
    from PIL import Image

    crop = img.crop(box)
    factor = max(1, math.ceil(SHOWN_SIDE / max(crop.size)))
    buf = io.BytesIO()
    crop.resize((crop.width * factor, crop.height * factor), Image.Resampling.NEAREST).save(buf, format="PNG")
    return buf.getvalue()


def _zoom_row(lr_path: Path, hr_path: Path, srs: list[tuple[str, Path]]) -> str:
    """LR, every SR and HR cropped to the window where the SRs and HR differ most, enlarged."""
    from PIL import Image

    if not hr_path.exists():
        return ""
    hr = Image.open(hr_path)
    outputs = [(label, Image.open(p)) for label, p in srs if p.exists()]
    outputs = [(label, im) for label, im in outputs if im.size == hr.size]
    if not outputs:
        return ""
    lr = Image.open(lr_path) if lr_path.exists() else None
    scale = max(1, round(hr.width / lr.width)) if lr is not None and lr.width else 1
    side = max(scale, int(min(hr.size) * ZOOM_FRACTION) // scale * scale)
    top, left = zoom_window([_luma(hr)] + [_luma(im) for _, im in outputs], side, scale)
    box = (left, top, left + side, top + side)
    where = f"x {left}-{left + side - 1}, y {top}-{top + side - 1}"
    tags = []
    if lr is not None:
        tags.append(_png_tag(_enlarged(lr, tuple(v // scale for v in box)), f"LR ({where})"))  # type: ignore[arg-type]
    tags += [_png_tag(_enlarged(im, box), label) for label, im in outputs]
    tags.append(_png_tag(_enlarged(hr, box), "HR"))
    return (f'<div class="zoom"><p class="note">Zoom where the outputs differ most from each other and from HR '
            f"({side} px window at {where}, enlarged without interpolation):</p>{''.join(tags)}</div>")


def image_grid(out: Path, results: Sequence[TrialResult]) -> str:
    """Per test image: LR, each row's SR (lowest seed, each fraction), HR, a zoom, then each row's G(HR)."""
    labels = method_labels(results)
    ok = sorted((r for r in results if r.status == STATUS_OK),
                key=lambda r: (r.spec["hr_fraction"], labels.get(r.trial_id, ""), r.spec["seed"]))
    seen: set[tuple[str, float]] = set()
    chosen = []
    for r in ok:  # one trial per (row, fraction): the lowest seed
        key = (labels.get(r.trial_id, r.method), r.spec["hr_fraction"])
        if key not in seen:
            seen.add(key)
            chosen.append((f"{key[0]} (f={key[1]:g})", r))
    parts = []
    for test_dir in sorted((out / "samples").glob("*")):
        for hr_path in sorted(test_dir.glob("*.hr.png")):
            stem = hr_path.name[: -len(".hr.png")]
            srs = [(caption, out / TRIALS_DIR / r.trial_id / "samples" / test_dir.name / f"{stem}.sr.png")
                   for caption, r in chosen]
            row = [_img_tag(test_dir / f"{stem}.lr.png", "LR"), *(_img_tag(p, c) for c, p in srs),
                   _img_tag(hr_path, "HR")]
            ultra = [_img_tag(p.with_name(f"{stem}.ultra.png"), f"G(HR) {c}") for c, p in srs]
            parts.append(f"<h3>{html.escape(test_dir.name)} / {html.escape(stem)}</h3><div>{''.join(row)}</div>"
                         f"{_zoom_row(test_dir / f'{stem}.lr.png', hr_path, srs)}"
                         f"<div>{''.join(u for u in ultra if u)}</div>")
    return "".join(parts) if parts else "<p>No image samples were saved.</p>"
