"""Step schedules shared by the training methods: budget phases, weight ramps, learning-rate decay.

Everything is a pure function of the step index, so a resumed trial recomputes the same values
without saving them:

* :class:`PhasePlan` cuts a budget of ``total_steps`` into named consecutive phases given as
  fractions (SRGAN report: content-only pre-training, then discriminator-only, then joint);
* :class:`Ramp` raises a weight from 0 to its final value over a window of steps (the report's
  "gradual increase of the adversarial weight", and progressive growing's fade-in alpha);
* :func:`lr_factor` / :func:`set_lr_factor` apply the optional learning-rate decay of a method's
  optimizers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

import torch

from srbench.errors import UsageError

#: Shape of a ramp from 0 to 1: straight line, or half a cosine (flat at both ends).
RampShape = Literal["linear", "cosine"]
#: Learning-rate decay over the budget: none, cosine to 0, or x0.1 at half the budget (SRGAN).
LRDecay = Literal["none", "cosine", "step"]


def check_fraction(value: float, name: str, *, below_one: bool = False) -> float:
    """Validate a share of a budget; raises :class:`ValueError` (options' ``__post_init__`` turn it
    into a one-line :class:`~srbench.errors.UsageError`).

    :param below_one: require ``value < 1`` instead of ``value <= 1``.
    """
    upper_ok = value < 1.0 if below_one else value <= 1.0
    if not (0.0 <= value and upper_ok) or math.isnan(value):
        accepted = "[0, 1)" if below_one else "[0, 1]"
        raise ValueError(f"invalid {name} {value!r}; expected a fraction in {accepted}")
    return value


def steps_of(fraction: float, total_steps: int) -> int:
    """``round(fraction * total_steps)``, the step count of a share of the budget."""
    return int(round(fraction * total_steps))


def ramp_value(progress: float, shape: RampShape = "linear") -> float:
    """Position ``progress`` (clipped to ``[0, 1]``) mapped through the ramp shape; 0 -> 0, 1 -> 1."""
    t = min(1.0, max(0.0, progress))
    if shape == "linear":
        return t
    if shape == "cosine":
        return 0.5 * (1.0 - math.cos(math.pi * t))
    raise UsageError(f"invalid ramp shape {shape!r}; accepted: linear, cosine")


@dataclass(frozen=True)
class Ramp:
    """A weight that is 0 before ``start``, rises to ``final`` over ``length`` steps, then stays.

    ``value(start) == 0`` and ``value(start + length) == final``; ``length == 0`` jumps to
    ``final`` at ``start``.

    :param start: first step of the ramp.
    :param length: steps from 0 to ``final``.
    :param final: value reached at ``start + length``.
    :param shape: ``linear`` or ``cosine``.
    """

    start: int
    length: int
    final: float = 1.0
    shape: RampShape = "linear"

    def value(self, step: int) -> float:
        """The weight at ``step``."""
        if step < self.start:
            return 0.0
        if self.length <= 0:
            return self.final
        return self.final * ramp_value((step - self.start) / self.length, self.shape)


@dataclass(frozen=True)
class Phase:
    """Steps ``[start, end)`` of one named phase."""

    name: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def __contains__(self, step: object) -> bool:
        return isinstance(step, int) and self.start <= step < self.end


class PhasePlan:
    """Consecutive named phases that cover ``total_steps``.

    ``PhasePlan(300, [("pretrain", 0.3), ("d_only", 0.05)], rest="joint")`` gives pretrain
    0-89, d_only 90-104 and joint 105-299. Each share is rounded to whole steps; the phase
    named ``rest`` takes what is left (possibly nothing on a tiny budget).

    :param total_steps: the budget.
    :param shares: ``(name, fraction of the budget)`` in order.
    :param rest: name of the last phase.
    :raises UsageError: when the shares add up to more than the budget.
    """

    def __init__(self, total_steps: int, shares: Sequence[tuple[str, float]], rest: str) -> None:
        if sum(f for _, f in shares) > 1.0 + 1e-9:
            raise UsageError(f"phase shares {dict(shares)} add up to more than the whole budget")
        self.total_steps = int(total_steps)
        phases: list[Phase] = []
        start = 0
        for name, fraction in shares:
            end = min(self.total_steps, start + steps_of(fraction, self.total_steps))
            phases.append(Phase(name, start, end))
            start = end
        phases.append(Phase(rest, start, self.total_steps))
        self.phases: tuple[Phase, ...] = tuple(phases)

    def __getitem__(self, name: str) -> Phase:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    def name_at(self, step: int) -> str:
        """Name of the phase holding ``step`` (steps past the budget belong to the last phase)."""
        for phase in self.phases:
            if step < phase.end:
                return phase.name
        return self.phases[-1].name

    def describe(self) -> str:
        """``pretrain 0-89, d_only 90-104, joint 105-299`` (empty phases omitted)."""
        return ", ".join(f"{p.name} {p.start}-{p.end - 1}" for p in self.phases if p.length > 0)


def lr_factor(decay: LRDecay, step: int, total_steps: int) -> float:
    """Multiplier of the base learning rate at ``step`` of a ``total_steps`` budget.

    ``none``: 1. ``cosine``: ``0.5 * (1 + cos(pi * step / total))``, from 1 to ~0 (SGDR without
    restarts). ``step``: 1, then 0.1 from half the budget (SRGAN: 1e-4 then 1e-5).
    """
    total = max(1, int(total_steps))
    if decay == "none":
        return 1.0
    if decay == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    if decay == "step":
        return 0.1 if step >= total // 2 else 1.0
    raise UsageError(f"invalid lr decay {decay!r}; accepted: none, cosine, step")


def decay_learning_rates(optimizers: Iterable[torch.optim.Optimizer], decay: LRDecay, step: int,
                         total_steps: int) -> None:
    """Set every optimizer's rate to its base rate times :func:`lr_factor` at ``step``."""
    factor = lr_factor(decay, step, total_steps)
    for optimizer in optimizers:
        set_lr_factor(optimizer, factor)


def set_lr_factor(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Set every group's learning rate to ``factor`` times its base rate.

    The base rate is remembered in the group as ``base_lr`` on the first call; it is saved and
    restored with ``optimizer.state_dict()``, and the rate is a pure function of the step, so no
    scheduler state is needed for exact resumption.
    """
    for group in optimizer.param_groups:
        base = group.setdefault("base_lr", group["lr"])
        group["lr"] = base * factor
