"""Reading image files into :class:`~srbench.interfaces.Image` (``uint8`` ``(C, H, W)``).

Every file becomes RGB (3 channels) or grayscale (1 channel), 8 bits per channel:

* ``RGB`` is kept; ``CMYK``, ``YCbCr``, ``LAB``, ``HSV`` are converted to RGB.
* Grayscale ``L`` and ``1`` stay 1 channel. 16-bit grayscale (``I;16*``) is scaled by 255/65535
  (``round(v / 257)``); 32-bit integer ``I`` is treated as 16-bit when its maximum exceeds 255
  (that is how Pillow opens 16-bit PNGs on some versions), else as 8-bit; float ``F`` is read as
  ``[0, 1]`` when its maximum is at most 1, else as ``[0, 255]``, clipped.
* Transparency (``RGBA``, ``LA``, ``PA``, palette with a transparent colour) is composited over
  **white**: transparent areas of web images and logos are background, and the colour stored
  under a fully transparent pixel is arbitrary (often black or garbage), so dropping alpha
  would invent edges that are not in the picture.
* Palette images (``P``) become grayscale when every palette entry is gray, else RGB.
* EXIF orientation is applied (camera JPEGs), and only the first frame of a multi-frame file is read.

A file that cannot be decoded raises :class:`~srbench.errors.DataError` naming it and the reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import DataError
from ..interfaces.dataset import Image

if TYPE_CHECKING:
    from PIL import Image as PILImage

#: Extensions :func:`list_image_files` picks up (lower case; matching ignores case).
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})

# 16-bit -> 8-bit: 65535 / 255 = 257 exactly, so v / 257 maps 0..65535 onto 0..255.
_SIXTEEN_TO_EIGHT = 257.0


def list_image_files(folder: str | Path) -> list[Path]:
    """Image files under ``folder``, recursively, sorted by relative path.

    Files and folders whose name starts with ``.`` (``.DS_Store``, ``.ipynb_checkpoints``,
    macOS ``._x.png`` forks) are skipped.
    """
    root = Path(folder)
    found: list[Path] = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def image_id_for(path: str | Path, root: str | Path | None = None) -> str:
    """The id of an image file: its stem, or its path relative to ``root`` without extension
    (``"sub/img"``, POSIX separators) for files in nested folders."""
    path = Path(path)
    if root is None:
        return path.stem
    rel = path.relative_to(root)
    return rel.with_suffix("").as_posix()


def load_image(path: str | Path, image_id: str | None = None) -> Image:
    """Read one image file.

    :param path: a PNG, JPEG, BMP, TIFF or WebP file (anything Pillow decodes).
    :param image_id: the id to give it; defaults to the file stem.
    :raises DataError: when the file is missing, unreadable or corrupt (one line naming it).
    """
    path = Path(path)
    pixels = _decode(path)
    return Image(image_id if image_id is not None else path.stem, pixels)


def _decode(path: Path) -> torch.Tensor:
    from PIL import Image as PILImage
    from PIL import ImageOps

    try:
        with warnings.catch_warnings():
            # DecompressionBombWarning etc. must not print in the middle of a progress bar.
            warnings.simplefilter("ignore")
            with PILImage.open(path) as img:
                img.seek(0)
                img.load()
                img = ImageOps.exif_transpose(img) or img
                array = _to_array(img)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"cannot read image {path}: file not found") from None
    except (OSError, SyntaxError, ValueError, TypeError, EOFError, MemoryError,
            PILImage.DecompressionBombError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read image {path}: {reason}") from None
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"cannot read image {path}: it has no pixels ({array.shape[1]}x{array.shape[0]})")
    # A writable copy: PIL's buffers are read-only and torch warns about those.
    return torch.from_numpy(np.array(array.transpose(2, 0, 1), dtype=np.uint8, order="C", copy=True))


def _to_array(img: "PILImage.Image") -> np.ndarray:
    """``uint8`` ``(H, W)`` or ``(H, W, 3)`` array following the rules in the module docstring."""
    mode = img.mode
    if mode == "P":
        if "transparency" in img.info:
            return _to_array(img.convert("RGBA"))
        return np.asarray(img.convert("L" if _gray_palette(img) else "RGB"), dtype=np.uint8)
    if mode == "PA":
        return _to_array(img.convert("RGBA"))
    if mode in ("RGBA", "RGBa", "LA", "La"):
        return _over_white(img)
    if mode == "RGB":
        return np.asarray(img, dtype=np.uint8)
    if mode == "L":
        return np.asarray(img, dtype=np.uint8)
    if mode == "1":
        return np.asarray(img.convert("L"), dtype=np.uint8)
    if mode.startswith("I;16"):
        return _scale_16bit(np.asarray(img).astype(np.float64))
    if mode == "I":
        values = np.asarray(img).astype(np.float64)
        if values.size and values.max() > 255:
            return _scale_16bit(values)
        return np.clip(values, 0, 255).astype(np.uint8)
    if mode == "F":
        values = np.asarray(img).astype(np.float64)
        values = np.nan_to_num(values, nan=0.0)
        if values.size and values.max() <= 1.0:
            values = values * 255.0
        return np.floor(np.clip(values, 0, 255) + 0.5).astype(np.uint8)
    # CMYK, YCbCr, LAB, HSV and anything else Pillow can convert.
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _gray_palette(img: "PILImage.Image") -> bool:
    palette = img.getpalette() or []
    used = sorted({int(v) for v in np.unique(np.asarray(img))})
    triples = [palette[3 * i: 3 * i + 3] for i in used if 3 * i + 2 < len(palette)]
    return bool(triples) and all(t[0] == t[1] == t[2] for t in triples)


def _scale_16bit(values: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(values, 0, 65535) / _SIXTEEN_TO_EIGHT + 0.5).astype(np.uint8)


def _over_white(img: "PILImage.Image") -> np.ndarray:
    gray = img.mode in ("LA", "La")
    rgba = np.asarray(img.convert("LA" if gray else "RGBA"), dtype=np.float64)
    colour, alpha = rgba[..., :-1], rgba[..., -1:] / 255.0
    out = colour * alpha + 255.0 * (1.0 - alpha)
    out = np.floor(out + 0.5).astype(np.uint8)
    return out[..., 0] if gray else out
