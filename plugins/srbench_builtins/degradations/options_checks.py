"""Validation helpers for degradation option dataclasses.

They raise ``ValueError``, which :func:`srbench.options.parse_options` turns into a one-line
``UsageError`` naming the component and option.
"""

from __future__ import annotations


def check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    """Require ``low <= value[0] <= value[1] <= high``."""
    if len(value) != 2 or not (low <= value[0] <= value[1] <= high):
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {value!r}")


def check_probability(name: str, value: float) -> None:
    """Require ``0 <= value <= 1``."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
