"""Where named datasets live: the data root(s).

``SRBENCH_DATA`` names one folder, or several separated by ``os.pathsep`` (``:`` on Linux and
macOS, ``;`` on Windows), searched in order; without it the root is a per-user cache folder
(``pooch.os_cache("srbench")``: ``~/.cache/srbench`` on Linux). ``srbench download`` writes to
the first root.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable naming the data root(s).
DATA_ENV = "SRBENCH_DATA"


def default_root() -> Path:
    """The per-user cache folder used when ``SRBENCH_DATA`` is unset."""
    import pooch

    return Path(pooch.os_cache("srbench"))


def data_roots() -> list[Path]:
    """The folders searched for named datasets, in order (see the module docstring)."""
    value = os.environ.get(DATA_ENV, "")
    roots = [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]
    return roots or [default_root()]


def describe_roots(roots: list[Path]) -> str:
    """``"/a"`` or ``"/a, /b"``, with where they come from, for one-line messages."""
    where = f"${DATA_ENV}" if os.environ.get(DATA_ENV, "").strip() else f"default; set ${DATA_ENV} to change it"
    return f"{', '.join(str(r) for r in roots)} ({where})"
