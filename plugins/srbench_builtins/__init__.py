"""srbench's built-in plugins.

Each sub-module is one plugin, advertised in srbench's ``pyproject.toml`` under the ``srbench``
entry-point group and loaded exactly like a third-party plugin; the core never imports this
package by name.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("srbench")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"
