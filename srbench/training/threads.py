"""Keep torch's intra-op threads within the CPUs this process may actually use.

torch sizes its pool from the machine's cores; in a container or under ``taskset`` that can
exceed what the process is allowed, and oversubscribed threads spin and wait on each other
(2 allowed cores running 16 threads was several times slower here).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch


def available_cpus() -> int:
    """CPUs usable by this process: the affinity mask, capped by a cgroup v2 CPU quota if any."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def limit_torch_threads() -> int:
    """Lower torch's thread count to :func:`available_cpus` if it is above; returns the count in use."""
    n = available_cpus()
    if torch.get_num_threads() > n:
        torch.set_num_threads(n)
    return torch.get_num_threads()
