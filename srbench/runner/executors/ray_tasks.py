"""What runs on a Ray worker: plain functions that the Ray executor wraps with ``ray.remote``.

Each task loads the plugins the driver loaded (settings resolved on the driver, so a worker's
environment variables cannot change them), re-plans the grid from the same config, and runs
the one trial whose id it was given: trial ids are hashes of the spec, so a worker whose
srbench or plugins differ from the driver's does not find the trial and says so.
"""

from __future__ import annotations

import platform
import socket
from dataclasses import replace
from typing import Any

from ... import __version__
from ...config import RunConfig
from ...errors import SrbenchError
from ...plugin_manager import PluginLoadSettings, PluginSystem, load_plugins


def _load(settings: PluginLoadSettings) -> PluginSystem:
    return load_plugins(disable=settings.disable, autoload=settings.autoload, modules=settings.modules,
                        read_env=False)


def probe(settings: PluginLoadSettings) -> dict[str, Any]:
    """What this worker can load: versions and the status of every plugin, by name."""
    import ray

    system = _load(settings)
    return {"node_id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
            "srbench": __version__, "python": platform.python_version(),
            "plugins": {p.name: [p.status, p.error] for p in system.plugins}}


def run_trial(config: RunConfig, settings: PluginLoadSettings, trial_id: str, attempt: int) -> dict[str, Any]:
    """Train and score the trial ``trial_id`` of ``config``'s grid here; returns its record."""
    import ray
    import torch

    from ..runner import Runner

    context = ray.get_runtime_context()
    assigned = {k: float(v) for k, v in context.get_assigned_resources().items()}
    runner = Runner(replace(config, executor="local", ray_address=""), _load(settings), progress=False)
    # Ray reuses worker processes across tasks of different sizes: size torch's pool per task.
    torch.set_num_threads(max(1, int(assigned.get("CPU", 1))))
    trial = next((t for t in runner.plan() if t.trial_id == trial_id), None)
    if trial is None:
        raise SrbenchError(f"trial {trial_id} is not in the grid that Ray node {socket.gethostname()} planned: "
                           f"its srbench ({__version__}) or plugins differ from the driver's")
    extra = {"executor": {"name": "ray", "attempt": attempt, "host": socket.gethostname(),
                          "node_id": context.get_node_id(), "resources": assigned}}
    return runner.run_trial(trial, extra=extra)
