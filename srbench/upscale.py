"""Upscale image files with an exported generator (``srbench upscale``)."""

from __future__ import annotations

import sys
from pathlib import Path

from .data.images import IMAGE_EXTENSIONS, list_image_files, load_image
from .errors import UsageError
from .export import ExportedGenerator
from .runner.evaluate import save_png


def upscale_paths(model: ExportedGenerator, src: str | Path, dst: str | Path, *, progress: bool = True) -> list[Path]:
    """Upscale one image file, or every image under a folder, to PNG files; returns the files written.

    A file goes to ``dst`` (or ``dst/<stem>.png`` when ``dst`` is a folder or has no extension); a folder's images keep
    their relative paths under ``dst``, as PNG (lossless: the uint8 output exactly).
    :raises UsageError: for a missing input or a folder without images.
    :raises DataError: for an unreadable image (the files already written stay).
    """
    from tqdm.auto import tqdm

    src, dst = Path(src), Path(dst)
    if src.is_file():
        if src.suffix.lower() not in IMAGE_EXTENSIONS:
            raise UsageError(f"IN {src}: not an image file; accepted: {', '.join(sorted(IMAGE_EXTENSIONS))}")
        if dst.is_dir() or not dst.suffix:
            target = dst / f"{src.stem}.png"
        elif dst.suffix.lower() in IMAGE_EXTENSIONS:
            target = dst
        else:
            raise UsageError(f"OUT {dst}: not an image file name or a folder; accepted extensions: "
                             f"{', '.join(sorted(IMAGE_EXTENSIONS))} (.png keeps the output exactly)")
        jobs = [(src, target)]
    elif src.is_dir():
        files = list_image_files(src)
        if not files:
            raise UsageError(f"IN {src}: a folder with no image files ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        if dst.is_file():
            raise UsageError(f"OUT {dst}: a file; a folder IN needs a folder OUT")
        jobs = [(f, (dst / f.relative_to(src)).with_suffix(".png")) for f in files]
    else:
        raise UsageError(f"IN {src}: no such file or folder")
    written = []
    for path, target in tqdm(jobs, desc="upscale", unit="image", file=sys.stderr, disable=not progress or len(jobs) < 2):
        sr = model.upscale(load_image(path).pixels)
        target.parent.mkdir(parents=True, exist_ok=True)
        save_png(sr, target)
        written.append(target)
    return written
