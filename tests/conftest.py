"""Shared fixtures: importable fake plugins, isolation from the user's plugin settings.

``tests/`` is put on ``sys.path`` so the fake plugins in ``tests/plugins/`` import as
``plugins.NAME`` (``load_plugins(modules=["plugins.good_extra"])``). ``tests/plugins`` is a regular
package, so it wins over the repository's ``plugins/`` folder, which has no ``__init__.py`` and
is only a namespace portion. Do not use ``tests.plugins.NAME``: torch-fidelity installs a
top-level ``tests`` package into site-packages, which shadows this folder (it has no
``__init__.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

from srbench.plugin_manager import AUTOLOAD_ENV, PLUGINS_ENV, PluginSystem, load_plugins, set_plugin_system

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture(autouse=True)
def _isolated_plugin_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ignore the caller's SRBENCH_PLUGINS / autoload settings and reset the process-wide system."""
    monkeypatch.delenv(PLUGINS_ENV, raising=False)
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
    set_plugin_system(None)
    yield
    set_plugin_system(None)


@pytest.fixture
def plugin_system() -> PluginSystem:
    """A fresh plugin system with the default settings: every installed entry point (built-ins)."""
    return load_plugins()


@pytest.fixture
def testdata_dir() -> Path:
    """The shared test images (``SRBENCH_TESTDATA`` or ``../shared/testdata``); skips when absent."""
    path = Path(os.environ.get("SRBENCH_TESTDATA") or REPO_ROOT.parent / "shared" / "testdata")
    if not path.is_dir():
        pytest.skip(f"shared test data not found at {path} (set SRBENCH_TESTDATA to its folder)")
    return path


@pytest.fixture
def metrics_data_dir() -> Path:
    """Published metric data (NIQE's pristine model; ``SRBENCH_METRICS_DATA`` or ``../shared/metrics``);
    skips when absent."""
    path = Path(os.environ.get("SRBENCH_METRICS_DATA") or REPO_ROOT.parent / "shared" / "metrics")
    if not path.is_dir():
        pytest.skip(f"shared metric data not found at {path} (set SRBENCH_METRICS_DATA to its folder)")
    return path


# One torch thread in tests: the tiny tensors here gain nothing from a second thread, and on a busy
# 2-core machine OpenMP spin-waits made a 0.28 s training step take 2 s.
import torch as _torch  # noqa: E402

_torch.set_num_threads(1)
