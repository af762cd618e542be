"""Where a result was made: srbench's source revision and the machine, so a record names them itself.

A committed record (leaderboard/runs/) outlives the machine and the checkout that made it; the package
version alone (0.1.0 for every commit so far) does not say which code trained it.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

#: the checkout this package was imported from, when it was installed editable from a git clone
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def source_revision() -> str:
    """The git commit of the srbench checkout in use (``"faba260"``, ``"faba260+dirty"`` with uncommitted changes
    to tracked files), or ``""`` for an installed wheel or where git is missing."""
    if not (_SOURCE_ROOT / ".git").exists():
        return ""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=_SOURCE_ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=_SOURCE_ROOT,
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{head}+dirty" if changed else head


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` says; ``""`` when neither does)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor()


def machine(device: str = "cpu") -> dict[str, Any]:
    """The machine a trial ran on: CPU count, architecture and model, the vector instruction set PyTorch's CPU
    kernels dispatch on (``cpu_capability``: AVX2 and AVX512 kernels sum in other orders, so a GAN trained on
    either can end elsewhere), and the accelerator's name on CUDA."""
    import torch  # imported here: the module stays importable without torch for source_revision()

    info: dict[str, Any] = {"cpus": os.cpu_count(), "arch": platform.machine(), "system": platform.system(),
                            "cpu_model": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["accelerator"] = torch.cuda.get_device_name(torch.device(device))
    return info
