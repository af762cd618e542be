"""Opening a dataset from what the user typed: ``NAME`` or ``NAME:ARGUMENT``."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..interfaces.dataset import Dataset


def parse_dataset_spec(spec: str) -> tuple[str, str | None]:
    """Split ``NAME:ARGUMENT`` at the **first** colon (``folder:C:\\data`` keeps ``C:\\data``).

    :returns: ``(name, argument)``; the argument is ``None`` without a colon.
    :raises UsageError: for an empty name.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"dataset {spec!r}: expected NAME or NAME:ARGUMENT (e.g. default, folder:/data/Set5)")
    name, colon, argument = spec.strip().partition(":")
    if not name:
        raise UsageError(f"dataset {spec!r}: missing name before ':'; expected NAME or NAME:ARGUMENT")
    return name, (argument if colon else None)


def open_dataset(spec: str, registries: Any) -> Dataset:
    """Create the dataset ``spec`` names through the datasets registry.

    :param spec: ``NAME`` or ``NAME:ARGUMENT`` (``default``, ``synthetic:8x64``, ``folder:/data/Set5``).
    :param registries: a :class:`~srbench.registry.Registries` (or the datasets registry itself).
    :raises UnknownComponentError: for an unknown name, listing the registered ones.
    """
    name, argument = parse_dataset_spec(spec)
    registry = getattr(registries, "datasets", registries)
    dataset = registry.create(name, argument)
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset factory {name!r} returned {type(dataset).__name__}, not a Dataset")
    if not dataset.name:
        dataset.name = spec.strip()
    return dataset
