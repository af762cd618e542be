"""srbench: a plugin-based benchmark harness for GAN super-resolution with few or no HR images."""

from importlib import metadata as _metadata

#: The name on PyPI (``pip install srbench-gan``); the import package and the command are ``srbench``.
DISTRIBUTION = "srbench-gan"

try:
    __version__ = _metadata.version(DISTRIBUTION)
except _metadata.PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

from .hookspecs import hookimpl  # noqa: E402  (the one import a plugin needs)

__all__ = ["DISTRIBUTION", "__version__", "hookimpl"]
