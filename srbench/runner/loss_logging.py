"""The run's ``log`` settings and the logging plugins' hooks (``srbench_log_settings``, ``srbench_log_losses``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import UsageError
from ..plugin_manager import PluginSystem
from ..training.trainer import LogCallback


def check_log_settings(settings: Mapping[str, Any], plugins: PluginSystem) -> None:
    """Let every logging plugin check ``settings``; a key that none accepts is a usage error.

    :raises UsageError: naming the key and the accepted ones (or a plugin's own one-line error).
    """
    accepted: dict[str, str] = {}
    for answer in plugins.hook.srbench_log_settings(settings=dict(settings)):
        accepted.update(answer or {})
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        listed = "; ".join(f"{k} ({doc})" for k, doc in sorted(accepted.items())) or "none (no logging plugin loaded)"
        raise UsageError(f"--set log.{unknown[0]}: no loaded plugin reads this setting; accepted: {listed}")


def loss_logger(plugins: PluginSystem, trial_id: str, trial_dir: Path | None,
                settings: Mapping[str, Any]) -> LogCallback:
    """The trainer's ``on_log`` callback: one ``srbench_log_losses`` call per loss-log step."""
    frozen = dict(settings)

    def on_log(step: int, losses: Mapping[str, float]) -> None:
        plugins.hook.srbench_log_losses(trial_id=trial_id, step=step, losses=dict(losses), trial_dir=trial_dir,
                                        settings=frozen)
    return on_log
