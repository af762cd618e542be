"""The unsupervised terms the few-HR methods share, and the interface ``fewhr`` composes them by.

``ambient``, ``pairwise`` and ``unsupervised`` are each *a generator trained with LR-consistency
plus one adversarial term*. The term (its critic, optimizer, state and losses) is an
:class:`UnpairedTerm`, so that ``fewhr`` can put the same term on its LR-only subset next to a
supervised loss on the paired subset (``--set fewhr.term=ambient``).

Lesson from a 3-minute CPU experiment (issue notes): a consistency loss computed on the raw,
unclamped output was exploited (stripes that matched the LR only before clipping; test lr_psnr
13 dB). :func:`consistency_loss` therefore clamps the output before degrading it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from srbench.ops import quantize

if TYPE_CHECKING:
    from srbench.data.training_data import TrainingData
    from srbench.interfaces import Degradation, MethodContext


def consistency_loss(sr: torch.Tensor, lr: torch.Tensor, degradation: "Degradation",
                     generator: torch.Generator | None = None, kind: str = "l1") -> torch.Tensor:
    """Distance between degrade(clamp(SR)) and the observed LR: does the output explain the input?

    Clamping first (with a straight-through gradient inside [0, 1]) means values outside the
    displayable range cannot be used to fit the LR.
    """
    measured = degradation(sr.clamp(0.0, 1.0), generator)
    return F.l1_loss(measured, lr) if kind == "l1" else F.mse_loss(measured, lr)


def stored_lr_of(images: torch.Tensor, degradation: "Degradation",
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``images`` degraded with fresh parameters and stored as 8-bit, as every LR the generator sees."""
    with torch.no_grad():
        return quantize(degradation(images, generator)).to(images.dtype).div_(255.0)


class UnpairedTerm(ABC):
    """An adversarial term on super-resolved LR-only images, with its own critic(s).

    Life cycle (driven by the method that owns it, inside the core's one loop)::

        term = TermClass(options, context, generator_fn)
        term.setup(data)
        ... each step:
        for _ in range(term.n_critic):                             # the owner's schedule decides when
            d_losses = term.critic_step(sr.detach(), lr, data, step)   # one update of the critic(s)
        g_loss = term.generator_loss(sr, lr, data, step)           # added to the generator's loss

    :param options: the term's option dataclass instance.
    :param context: the trial's method context (device, scale, degradation, registries, profile).
    :param generator_fn: the generator being trained (some terms run it, e.g. on HR for pairs).
    """

    #: Option dataclass of the term (its fields become options of the methods that use it).
    Options: ClassVar[type]
    #: The term needs an HR pool (``--hr-source``).
    requires_hr_pool: ClassVar[bool] = False

    @classmethod
    def check_generator(cls, options: Any, generator: nn.Module) -> None:
        """Refuse (``UsageError``) a generator this term cannot work with under ``options``; the default accepts all.

        Owners call it while the run is planned (``Method.check_options``) and at set-up.
        """

    def __init__(self, options: Any, context: "MethodContext", generator_fn: Callable[[torch.Tensor], torch.Tensor]):
        self.options = options
        self.context = context
        self.generator_fn = generator_fn

    @abstractmethod
    def setup(self, data: "TrainingData") -> None:
        """Build critic(s) and optimizer(s); raise IncompatibleError if the regime cannot serve the term."""

    @abstractmethod
    def modules(self) -> Mapping[str, nn.Module]:
        """Critic networks (checkpointed by the owning method under prefixed names)."""

    @abstractmethod
    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        """Critic optimizers."""

    @property
    def n_critic(self) -> int:
        """Critic updates per generator update (:meth:`critic_step` calls); the owner's schedule loops over them."""
        return 1

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        pass

    def notes(self) -> list[str]:
        """One-line remarks about the term's set-up (fallbacks, ignored settings); none by default."""
        return []

    def observe_paired(self, sr: torch.Tensor, hr: torch.Tensor) -> None:
        """Optional: this step's generator outputs ``sr`` (with graph) on paired LR, and their HR.

        Owners that already super-resolve paired inputs (``fewhr``) call it before
        :meth:`critic_step`, so a term that compares outputs with real HR (``pairwise``) can
        reuse them instead of running the generator again. The default ignores them.
        """

    @abstractmethod
    def critic_step(self, sr: torch.Tensor, lr: torch.Tensor, data: "TrainingData", step: int) -> dict[str, float]:
        """One update of the critic(s) on the detached outputs ``sr`` of LR inputs ``lr``; returns named losses."""

    @abstractmethod
    def generator_loss(self, sr: torch.Tensor, lr: torch.Tensor, data: "TrainingData", step: int) -> torch.Tensor:
        """The adversarial loss of the generator for outputs ``sr`` (with gradient)."""


#: name -> UnpairedTerm subclass; each term's module adds itself (``ambient``, ``pairwise``, ``unsupervised``).
TERMS: dict[str, type[UnpairedTerm]] = {}


def register_term(name: str) -> Callable[[type[UnpairedTerm]], type[UnpairedTerm]]:
    """Class decorator: make a term selectable by name (``fewhr``'s ``term`` option)."""
    def deco(cls: type[UnpairedTerm]) -> type[UnpairedTerm]:
        TERMS[name] = cls
        return cls
    return deco
