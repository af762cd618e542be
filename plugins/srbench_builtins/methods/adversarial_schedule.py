"""The G/D step schedule every GAN method follows, and the one options block that sets it.

The SRGAN report (Beroukhim & Ruel, 2019, III.1) lists stabilising tricks; they are options of
:class:`AdversarialOptions`, which every GAN method's ``Options`` includes (dataclass
inheritance: each field is ``--set METHOD.FIELD=VALUE``), so a trick reaches every method at once:

* ``pretrain_fraction``: content loss only (no adversarial term) for that share of the budget;
* ``critic_warmup``: the critic trains during that pre-training too, next to the generator;
* ``d_only_fraction``: then the critic alone (generator frozen, in eval mode) for that share;
* ``n_critic``: critic updates per generator update (``none`` = the objective's: wgan 5);
* ``adversarial_weight`` / ``ramp_fraction`` / ``ramp_shape``: the adversarial weight rises
  from 0 to its final value over that share of the joint phase;
* ``real_label``: one-sided label smoothing of the critic's real targets;
* ``replay_size`` / ``replay_fraction``: past fakes shown to the critic again
  (:class:`~.replay.ReplayBuffer`);
* ``lr_decay``: none, cosine or step decay of every optimizer over the budget.

The block has two halves because ``fewhr`` hands the critic's half to its adversarial term
(``--set fewhr.term_options=n_critic=2``): :class:`ScheduleOptions` is the owner's (phases,
ramp, learning rate), :class:`CriticOptions` the critic's (``n_critic``, labels, replay). The
other methods carry both. :class:`AdversarialSchedule` turns the first half into per-step
answers (phase, does the critic train, how many updates, which weight); it is a pure function of
the step, so a resumed trial needs no saved schedule state (the replay buffers and optimizers are
checkpointed by their owners).

Defaults differ between methods where their measurements did (docs/methods.md, "Shared
adversarial schedule"); a method that lacked a trick before this block keeps it off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import torch

from srbench.options import option

from .gan_common import Adversary, create_adversarial
from .replay import ReplayBuffer

if TYPE_CHECKING:
    from srbench.interfaces import MethodContext
from .schedules import LRDecay, PhasePlan, Ramp, RampShape, check_fraction, decay_learning_rates, steps_of

#: Phase names, in budget order (``d_only`` is empty unless ``d_only_fraction`` > 0).
PRETRAIN, D_ONLY, JOINT = "pretrain", "d_only", "joint"


@dataclass(frozen=True)
class ScheduleOptions:
    """The owner's half of the shared block: phases, adversarial-weight ramp, learning-rate decay."""

    lr_decay: LRDecay = option("none", "learning-rate decay of every optimizer over the budget: none, cosine, step "
                                       "(docs/methods.md, 'Learning-rate schedule')")
    pretrain_fraction: float = option(0.3, "share of the budget without the adversarial term (content or "
                                           "consistency losses only)")
    critic_warmup: bool = option(False, "train the critic during the pre-training too, so it is past chance level "
                                         "when the adversarial weight starts")
    d_only_fraction: float = option(0.0, "share of the budget, after the pre-training, spent training the critic "
                                         "alone (generator frozen; SRGAN report: less than an epoch)")
    adversarial_weight: float = option(1e-3, "final weight of the adversarial term (SRGAN: 1e-3)")
    ramp_fraction: float = option(0.5, "share of the joint phase over which the adversarial weight rises from 0")
    ramp_shape: RampShape = option("linear", "shape of the adversarial-weight ramp: linear or cosine")

    def __post_init__(self) -> None:
        for name in ("pretrain_fraction", "d_only_fraction", "ramp_fraction"):
            check_fraction(getattr(self, name), name)
        if self.pretrain_fraction + self.d_only_fraction > 1.0:
            raise ValueError(f"pretrain_fraction + d_only_fraction = "
                             f"{self.pretrain_fraction + self.d_only_fraction:g} exceeds the budget; expected <= 1")
        if not self.adversarial_weight >= 0:
            raise ValueError(f"invalid adversarial_weight {self.adversarial_weight!r}; expected a number >= 0")


@dataclass(frozen=True)
class CriticOptions:
    """The critic's half of the shared block: updates per generator step, label smoothing, replay."""

    n_critic: int | None = option(None, "critic updates per generator update; none = the objective's (wgan: 5)")
    real_label: float = option(0.9, "label of real images for the critic (one-sided label smoothing; 1 = off)")
    replay_size: int = option(64, "experience replay: past generated images kept for the critic (0 = off)")
    replay_fraction: float = option(0.5, "share of each fake batch shown to the critic drawn from the replay buffer")

    def __post_init__(self) -> None:
        check_fraction(self.replay_fraction, "replay_fraction")
        if not 0.0 < self.real_label <= 1.0:
            raise ValueError(f"invalid real_label {self.real_label!r}; expected a value in (0, 1]")
        if self.replay_size < 0:
            raise ValueError(f"invalid replay_size {self.replay_size!r}; expected 0 (off) or more images")
        if self.n_critic is not None and self.n_critic < 1:
            raise ValueError(f"invalid n_critic {self.n_critic!r}; expected a positive integer or none")

    def replay_buffer(self, seed: int) -> ReplayBuffer:
        """A replay buffer of ``replay_size`` images drawing from its own generator seeded ``seed``."""
        return ReplayBuffer(self.replay_size, seed=seed)


@dataclass(frozen=True)
class DiscriminatorOptions(CriticOptions):
    """:class:`CriticOptions` for a critic that is a registered discriminator trained with a GAN objective
    (``srgan``, and the ``ambient`` and ``unsupervised`` terms)."""

    discriminator: str = option("srgan", "discriminator network (srbench list discriminators)")
    adversarial_loss: str = option("nonsaturating", "GAN objective (srbench list adversarial_losses)")
    lr_d: float | None = option(None, "discriminator learning rate; none = the objective's recommended one (1e-4 "
                                      "for nonsaturating)")
    spectral_norm_d: bool = option(True, "spectral normalisation in the discriminator (SRGAN report)")

    def __post_init__(self) -> None:
        CriticOptions.__post_init__(self)
        if self.lr_d is not None and not self.lr_d > 0:
            raise ValueError(f"invalid lr_d {self.lr_d!r}; expected a positive number or none")

    def create_adversary(self, context: "MethodContext", notes: list[str] | None = None, *,
                         batch_norm: bool | None = None) -> Adversary:
        """The discriminator, objective and optimizer these options describe, with ``real_label`` and ``n_critic``.

        :param context: the trial's context (a copy with more ``channels`` for a conditioned critic).
        :param batch_norm: see :func:`~.gan_common.create_adversarial`.
        """
        return create_adversarial(context, discriminator=self.discriminator, loss=self.adversarial_loss,
                                  real_label=self.real_label, lr=self.lr_d, spectral_norm=self.spectral_norm_d,
                                  batch_norm=batch_norm, n_critic=self.n_critic, notes=notes)


@dataclass(frozen=True)
class AdversarialOptions(ScheduleOptions, CriticOptions):
    """The whole shared block: what every GAN method's ``Options`` includes (see the module docstring)."""

    def __post_init__(self) -> None:
        ScheduleOptions.__post_init__(self)
        CriticOptions.__post_init__(self)


class AdversarialSchedule:
    """Per-step answers of the G/D schedule set by :class:`ScheduleOptions` over ``total_steps``.

    Phases: ``pretrain`` (no adversarial term; the critic trains only with ``critic_warmup``),
    ``d_only`` (critic only), ``joint`` (critic then generator, adversarial weight on its ramp).

    :param options: any options dataclass with the :class:`ScheduleOptions` fields.
    :param total_steps: the trial's budget.
    """

    def __init__(self, options: ScheduleOptions, total_steps: int) -> None:
        self.options = options
        self.total_steps = int(total_steps)
        self.phases = PhasePlan(self.total_steps, [(PRETRAIN, options.pretrain_fraction),
                                                   (D_ONLY, options.d_only_fraction)], rest=JOINT)
        joint = self.phases[JOINT]
        self.ramp = Ramp(joint.start, steps_of(options.ramp_fraction, joint.length), options.adversarial_weight,
                         options.ramp_shape)

    def phase(self, step: int) -> str:
        """``pretrain``, ``d_only`` or ``joint``."""
        return self.phases.name_at(step)

    def trains_generator(self, step: int) -> bool:
        """The generator is updated at ``step`` (every phase but ``d_only``)."""
        return self.phase(step) != D_ONLY

    def adversarial(self, step: int) -> bool:
        """The generator's loss holds the adversarial term at ``step`` (the joint phase)."""
        return self.phase(step) == JOINT

    def trains_critic(self, step: int) -> bool:
        """The critic is updated at ``step``: ``d_only`` and ``joint``, and ``pretrain`` with ``critic_warmup``."""
        return self.phase(step) != PRETRAIN or bool(self.options.critic_warmup)

    def critic_updates(self, step: int, n_critic: int) -> int:
        """Critic updates at ``step``: ``n_critic`` when it trains, else 0."""
        return int(n_critic) if self.trains_critic(step) else 0

    def weight(self, step: int) -> float:
        """The adversarial weight at ``step`` (0 before the joint phase)."""
        return self.ramp.value(step)

    def decay_learning_rates(self, optimizers: Iterable[torch.optim.Optimizer], step: int) -> None:
        """Set every optimizer's rate for ``step`` (``lr_decay``; a pure function of the step)."""
        decay_learning_rates(optimizers, self.options.lr_decay, step, self.total_steps)


__all__ = ["AdversarialOptions", "AdversarialSchedule", "CriticOptions", "D_ONLY", "DiscriminatorOptions", "JOINT",
           "PRETRAIN", "ScheduleOptions"]
