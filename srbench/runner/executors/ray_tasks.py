"""What runs on a Ray worker: plain functions that the Ray executor wraps with ``ray.remote``.

Each task loads the plugins the driver loaded (settings resolved on the driver, so a worker's
environment variables cannot change them), rebuilds the one trial whose spec it was given
under the same config (its method alone is planned, not the grid) and runs it: trial ids are
hashes of the spec, so a worker whose srbench or plugins plan another id says so.
"""

from __future__ import annotations

import os
import platform
import socket
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ... import __version__
from ...config import RunConfig
from ...errors import SrbenchError
from ...plugin_manager import PluginLoadSettings, PluginSystem, load_plugins

if TYPE_CHECKING:
    from ...result_record import TrialResult


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


def run_trial(config: RunConfig, settings: PluginLoadSettings, spec: dict[str, Any], attempt: int) -> dict[str, Any]:
    """Train and score the trial of ``spec`` (a ``TrialSpec.to_dict()``) here; returns its record as a dict."""
    import ray
    import torch

    context = ray.get_runtime_context()
    assigned = {k: float(v) for k, v in context.get_assigned_resources().items()}
    # Ray reuses worker processes across tasks of different sizes: size torch's pool per task.
    torch.set_num_threads(max(1, int(assigned.get("CPU", 1))))
    executor = {"name": "ray", "attempt": attempt, "host": socket.gethostname(), "node_id": context.get_node_id(),
                "resources": assigned, "niceness": os.nice(0)}  # 15 under Ray's default: see import_ray
    return run_spec(config, settings, spec, executor).to_dict()


def run_spec(config: RunConfig, settings: PluginLoadSettings, spec: dict[str, Any],
             executor: dict[str, Any]) -> "TrialResult":
    """The part of :func:`run_trial` that needs no Ray: a runner of ``config`` rebuilds the one
    trial of ``spec`` (its method alone is planned, not the grid) and runs it.

    :raises SrbenchError: when this worker's srbench or plugins plan another trial for ``spec``.
    """
    from ..runner import Runner

    runner = Runner(replace(config, executor="local", ray_address="", trials_per_gpu=1), _load(settings), progress=False)
    try:
        trial = runner.planned_trial(spec)
    except SrbenchError as exc:
        raise SrbenchError(f"Ray node {socket.gethostname()}: {exc}") from None
    return runner.run_trial(trial, executor=executor)
