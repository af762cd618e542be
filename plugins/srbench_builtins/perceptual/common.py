"""Small helpers shared by the perceptual metrics: device choice and optional-import diagnosis."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Literal

import torch

#: What the ``device`` option of a perceptual metric accepts.
DeviceChoice = Literal["auto", "cpu", "cuda"]


def resolve_device(choice: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu`` / ``cuda`` as given."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def import_problem(module: str, pip_name: str) -> str | None:
    """``None`` when ``module`` imports, else one line with the error and the install command.

    Any exception counts (a broken install raises more than ImportError), so a bad optional
    package only makes its metrics unavailable.
    """
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - see docstring
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return f"python package {module!r} cannot be imported ({detail}); install it with: pip install {pip_name}"
    return None


def short_error(exc: BaseException) -> str:
    """First line of ``TypeName: message``, for one-line reasons."""
    return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]


def file_stamp(path: Path | None) -> tuple[int, int]:
    """``(modification time ns, size)`` of a file, ``(0, 0)`` for ``None``: a cache key part that
    changes when the file is replaced."""
    if path is None:
        return (0, 0)
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size
