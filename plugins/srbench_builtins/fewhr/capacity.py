"""Equal capacity: a few-HR method's generator at the parameter count of another generator.

The few-HR methods do not all share one network: ``pairwise`` uses the proposal's iterative
encoder-decoder (``encdec_resize``, 472,387 parameters at x4 on the ``small`` preset), the others
``srresnet_resize`` (110,627). ``match_params=srresnet_resize`` builds the method's generator with
the ``features`` width whose parameter count is nearest that generator's (``encdec_resize`` at
``features=15``: 104,388, the nearest), so a comparison isolates the losses rather than the network. The
count is that of the generator as built for the trial (scale, channels, size preset); generators
without a ``features`` option cannot be matched.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch
from torch import nn

from srbench.errors import UsageError
from srbench_builtins.methods.gan_common import create_generator, generator_spec

if TYPE_CHECKING:
    from srbench.interfaces import GeneratorSpec, MethodContext

#: Widths searched for a match (the built-in presets use 32 and 64).
MAX_FEATURES = 512


def parameter_count(module: nn.Module) -> int:
    """Number of parameters of ``module`` (what results report as ``cost.params``)."""
    return sum(p.numel() for p in module.parameters())


def _count(context: MethodContext, name: str, options: dict[str, int] | None = None) -> int:
    """Parameter count of generator ``name`` as the trial would build it (built on the CPU, then dropped)."""
    cpu = dataclasses.replace(context, device=torch.device("cpu"))
    return parameter_count(create_generator(cpu, name, options=options))


def matched_features(context: MethodContext, name: str, match: str) -> tuple[int, int, int]:
    """The ``features`` width of generator ``name`` whose parameter count is nearest generator ``match``'s.

    :returns: ``(features, its parameter count, match's parameter count)``.
    :raises UsageError: when ``name``'s count does not depend on ``features``.
    :raises IncompatibleError: when either generator cannot run at the trial's scale.
    """
    target = _count(context, match)
    if _count(context, name, {"features": 1}) == _count(context, name, {"features": 2}):
        raise UsageError(f"match_params={match}: the parameter count of generator {name!r} does not change with "
                         "its features option, so it cannot be matched; use a generator with a features option, or "
                         "match_params= (empty) for the generator's own size")
    high = 2
    while high < MAX_FEATURES and _count(context, name, {"features": high}) < target:
        high *= 2  # a bracket first: building very wide networks to bisect would cost seconds
    low, high = high // 2, min(high, MAX_FEATURES)
    while low < high:  # the count grows with the width: smallest width reaching the target
        mid = (low + high) // 2
        if _count(context, name, {"features": mid}) < target:
            low = mid + 1
        else:
            high = mid
    candidates = [f for f in (low - 1, low) if f >= 1]
    counts = {f: _count(context, name, {"features": f}) for f in candidates}
    best = min(candidates, key=lambda f: abs(counts[f] - target))
    return best, counts[best], target


def matched_generator_spec(context: MethodContext, name: str, match: str, notes: list[str]) -> GeneratorSpec:
    """Generator ``name`` for the trial; with ``match`` (a generator name), at that generator's parameter count.

    A note records the width chosen and both counts. The spec is what the method builds and exports.
    """
    if not match or match == name:
        return generator_spec(context, name)
    features, count, target = matched_features(context, name, match)
    notes.append(f"match_params={match}: generator {name} at features={features} has {count:,} parameters; "
                 f"{match} has {target:,}")
    return generator_spec(context, name, options={"features": features})
