"""Hook specifications: the whole extension surface of srbench.

A plugin is a module (or object) with functions named like the hooks below, decorated with
:data:`hookimpl`, and advertised in its package metadata under the ``srbench`` entry-point
group. srbench's own built-ins (``srbench_builtins``) are loaded the very same way.

Every ``srbench_register_*`` hook receives the typed registry of one kind of component and
calls ``registry.register(name, factory, doc)``. Each plugin's hook runs in isolation: when one
raises, that plugin is marked broken (``srbench list`` shows the error) and the others load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import pluggy

if TYPE_CHECKING:
    import torch

    from .registry import Registry

PROJECT_NAME = "srbench"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorator for plugin implementations: ``@hookimpl def srbench_register_methods(methods): ...``
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------
# Training strategies
# -------------------------------------------------------------------------------------------


@hookspec
def srbench_register_methods(methods: "Registry") -> None:
    """Register training strategies (subclasses of :class:`srbench.interfaces.Method`).

    :param methods: registry of method classes; ``methods.register("mymethod", MyMethod)``.
        The name is what users pass to ``--methods``; the class's ``Options`` dataclass defines
        what ``--set mymethod.OPTION=VALUE`` accepts.
    """


# -------------------------------------------------------------------------------------------
# Networks and objectives
# -------------------------------------------------------------------------------------------


@hookspec
def srbench_register_generators(generators: "Registry") -> None:
    """Register generator factories (:class:`srbench.interfaces.GeneratorFactory`).

    :param generators: registry of callables ``(scale, channels=3, size="small", **options) -> nn.Module``.
    """


@hookspec
def srbench_register_discriminators(discriminators: "Registry") -> None:
    """Register discriminator factories (:class:`srbench.interfaces.DiscriminatorFactory`).

    :param discriminators: registry of callables ``(channels=3, size="small", **options) -> nn.Module``
        returning raw logits.
    """


@hookspec
def srbench_register_adversarial_losses(adversarial_losses: "Registry") -> None:
    """Register GAN objectives (subclasses of :class:`srbench.interfaces.AdversarialLoss`).

    :param adversarial_losses: registry of loss classes.
    """


# -------------------------------------------------------------------------------------------
# Data
# -------------------------------------------------------------------------------------------


@hookspec
def srbench_register_degradations(degradations: "Registry") -> None:
    """Register HR-to-LR operators (subclasses of :class:`srbench.interfaces.Degradation`).

    :param degradations: registry of degradation classes, built as ``cls(scale, options)``.
    """


@hookspec
def srbench_register_datasets(datasets: "Registry") -> None:
    """Register datasets.

    :param datasets: registry of callables ``(argument: str | None) -> Dataset``; users write
        ``NAME`` or ``NAME:ARGUMENT`` (``folder:/data/Set14``).
    """


# -------------------------------------------------------------------------------------------
# Scoring
# -------------------------------------------------------------------------------------------


@hookspec
def srbench_register_metrics(metrics: "Registry") -> None:
    """Register metrics (subclasses of :class:`srbench.interfaces.Metric`).

    :param metrics: registry of metric classes, built as ``cls(options)``.
    """


# -------------------------------------------------------------------------------------------
# Run-time behaviour
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def srbench_resolve_device(requested: str) -> "torch.device | None":
    """Turn ``--device`` into a :class:`torch.device`. The first non-``None`` answer wins.

    The built-in implementation (``trylast``) maps ``auto`` to CUDA when available, else CPU;
    a plugin can answer first to add e.g. ``mps`` or pick a GPU by free memory.

    :param requested: the value of ``--device`` (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ...).
    """


@hookspec
def srbench_trial_finished(result: "dict[str, Any]", trial_dir: Path) -> None:
    """Called after each trial's ``result.json`` is written (ok, failed, diverged or incompatible).

    :param result: the result record as written to disk.
    :param trial_dir: the trial's folder (checkpoints, loss log, result).
    """


# -------------------------------------------------------------------------------------------
# Logging
# -------------------------------------------------------------------------------------------


@hookspec
def srbench_log_settings(settings: "Mapping[str, Any]") -> "dict[str, str] | None":
    """Check the ``--set log.KEY=VALUE`` settings this plugin reads; return those keys with a one-line doc each.

    Called once when a run starts, with every ``log`` setting (raw strings from the command line,
    TOML values from a file). Raise :class:`~srbench.errors.UsageError` for a bad value (or a
    missing package it needs) so the run stops before training; a key that no plugin returns is
    a usage error too.

    :param settings: the run's ``log`` table (``RunConfig.log``).
    """


@hookspec
def srbench_log_losses(trial_id: str, step: int, losses: "Mapping[str, float]", trial_dir: "Path | None",
                       settings: "Mapping[str, Any]") -> None:
    """Called at each loss-log step of training (``profile.log_every`` steps and the last one), with
    the row written to ``losses.jsonl``.

    :param trial_id: the trial being trained (also its folder's name).
    :param step: steps completed (1-based: the losses are those of step ``step - 1``).
    :param losses: name -> value of each loss the method returned at that step (finite floats).
    :param trial_dir: the trial's folder, or ``None`` when it keeps nothing on disk.
    :param settings: the run's ``log`` table (``--set log.KEY=VALUE``); a plugin logs nothing
        unless its keys are there.
    """


#: The registration hooks and the registry kind each one fills, in documentation order.
REGISTRATION_HOOKS: dict[str, str] = {
    "srbench_register_methods": "methods",
    "srbench_register_generators": "generators",
    "srbench_register_discriminators": "discriminators",
    "srbench_register_adversarial_losses": "adversarial_losses",
    "srbench_register_degradations": "degradations",
    "srbench_register_datasets": "datasets",
    "srbench_register_metrics": "metrics",
}
