"""srbench: a plugin-based benchmark harness for GAN super-resolution with few or no HR images."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("srbench")
except _metadata.PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

from .hookspecs import hookimpl  # noqa: E402  (the one import a plugin needs)

__all__ = ["__version__", "hookimpl"]
