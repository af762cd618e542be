"""``cyclesr``: CycleGAN (Zhu et al., ICCV 2017) as unpaired super-resolution.

Two generators: ``G`` (LR -> HR, the SR network that is evaluated) and ``F`` (HR -> LR, a small
strided-conv :class:`~.downscaler.Downscaler`); two discriminators: ``D_hr`` tells ``G(LR)`` from
HR-pool patches, ``D_lr`` tells ``F(HR)`` from real LR patches. Trained on the LR of every
training image and on the HR pool, never on pairs. Losses of the generators::

    cycle_weight    * (|F(G(lr)) - lr| + |G(F(hr)) - hr|)                       cycle consistency (L1)
  + identity_weight * (|degrade(clamp(G(lr))) - lr| + |F(hr) - degrade(hr)|)    identity, via the measurement
  + w(step)         * (adv(D_hr, G(lr)) + adv(D_lr, F(hr)))                     adversarial

CycleGAN's identity loss (``G(y) ~ y`` for ``y`` already in the target domain) cannot be written
when the domains differ in size; through the known measurement it becomes: ``G``'s output must
degrade back to its input (the consistency loss), and ``F`` must act like the degradation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from srbench.errors import IncompatibleError
from srbench.interfaces import GeneratorSpec, Method
from srbench.options import option
from srbench_builtins.methods.gan_common import Adversary, create_adversarial, create_generator, \
    discriminator_step, generator_adversarial_loss, generator_spec
from srbench_builtins.methods.adversarial_schedule import D_ONLY, AdversarialOptions, AdversarialSchedule

from .downscaler import Downscaler
from .unpaired_terms import consistency_loss

Map = Callable[[torch.Tensor], torch.Tensor]


def cycle_loss(forward: Map, backward: Map, x: torch.Tensor, *, forward_output: torch.Tensor | None = None,
               kind: Literal["l1", "mse"] = "l1") -> torch.Tensor:
    """Cycle-consistency ``distance(backward(forward(x)), x)`` (CycleGAN: L1).

    :param forward_output: ``forward(x)`` when the caller already has it (saves a pass).
    """
    y = forward(x) if forward_output is None else forward_output
    reconstruction = backward(y)
    return F.l1_loss(reconstruction, x) if kind == "l1" else F.mse_loss(reconstruction, x)


@dataclass(frozen=True)
class CycleSROptions(AdversarialOptions):
    """Options of the ``cyclesr`` method (the shared adversarial options apply to both discriminators)."""

    generator: str = option("srresnet", "LR -> HR generator network (srbench list generators)")
    downscaler_features: int = option(32, "width of the HR -> LR network's hidden convs")
    discriminator_hr: str = option("srgan", "HR-domain discriminator (SR outputs vs HR pool)")
    discriminator_lr: str = option("srgan", "LR-domain discriminator (F(HR) vs real LR); srgan takes any size")
    adversarial_loss: str = option("nonsaturating", "GAN objective of both discriminators")
    lr_g: float = option(5e-4, "Adam learning rate of both generators")
    lr_d: float | None = option(None, "discriminator learning rate; none = the objective's recommended one")
    cycle_weight: float = option(1.0, "weight of the two cycle-consistency losses")
    identity_weight: float = option(1.0, "weight of the identity losses through the measurement")
    spectral_norm_d: bool = option(True, "spectral normalisation in both discriminators")
    n_critic: int | None = option(1, "updates of each discriminator per generator update; none = the objective's "
                                     "(wgan: 5)")
    replay_size: int = option(50, "image pool per discriminator (CycleGAN: 50 past fakes; 0 = off)")

    def __post_init__(self) -> None:
        AdversarialOptions.__post_init__(self)
        for name in ("cycle_weight", "identity_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"invalid {name} {getattr(self, name)!r}; expected a number >= 0")
        if not self.lr_g > 0:
            raise ValueError(f"invalid lr_g {self.lr_g!r}; expected a positive number")
        if self.downscaler_features < 1:
            raise ValueError(f"invalid downscaler_features {self.downscaler_features}; expected a positive integer")


class CycleSRMethod(Method):
    """CycleGAN for unpaired SR; see the module docstring for the losses.

    Choices CycleGAN leaves open for SR: the backward generator is a small strided conv net
    starting as bicubic downscaling; identity losses go through the known degradation; the
    adversarial weights follow SRGAN's scale (1e-3, ramped after a 30% pre-training with the
    cycle and identity losses only) because CycleGAN's weight of 1 next to a cycle weight of 10
    produced artefacts in SR at CPU budgets; both discriminators see whole patches (``srgan``
    pools to one logit, so 6-12 px LR patches work), each with a CycleGAN image pool (replay).
    The schedule and the discriminators' tricks are the shared
    :class:`~srbench_builtins.methods.adversarial_schedule.AdversarialOptions`; the two warm-ups
    (``critic_warmup``, ``d_only_fraction``) and ``n_critic`` > 1 came with it and are off by default.
    With a good ``F`` the cycle ``G(F(hr)) ~ hr`` is supervised training on synthesised pairs,
    which is where this method gets its HR-side signal.
    """

    Options = CycleSROptions
    requires_paired = False
    requires_hr_pool = True

    def setup(self, data: Any) -> None:
        opts, ctx = self.options, self.context
        if data.hr_pool is None or len(data.hr_pool) == 0:
            raise IncompatibleError("cyclesr needs an HR pool of unpaired HR images; this trial has none (use "
                                    "--hr-source folder:PATH or another dataset)")
        self.trial_notes: list[str] = []
        self.generator = create_generator(ctx, opts.generator)
        self.downscaler = Downscaler(ctx.scale, ctx.channels, opts.downscaler_features).to(ctx.device)
        self.optimizer_g = torch.optim.Adam(list(self.generator.parameters()) + list(self.downscaler.parameters()),
                                            lr=opts.lr_g, betas=(0.9, 0.999))
        self.adversary_hr: Adversary = self._adversary(opts.discriminator_hr)
        self.adversary_lr: Adversary = self._adversary(opts.discriminator_lr)
        self.replay_hr = opts.replay_buffer(ctx.seed)
        self.replay_lr = opts.replay_buffer(ctx.seed + 1)
        self.schedule = AdversarialSchedule(opts, ctx.total_steps)

    def _adversary(self, discriminator: str) -> Adversary:
        opts = self.options
        return create_adversarial(self.context, discriminator=discriminator, loss=opts.adversarial_loss,
                                  real_label=opts.real_label, lr=opts.lr_d, spectral_norm=opts.spectral_norm_d,
                                  n_critic=opts.n_critic, notes=self.trial_notes)

    # -- what the core checkpoints -----------------------------------------------------------
    def modules(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator, "downscaler": self.downscaler,
                "discriminator_hr": self.adversary_hr.discriminator,
                "discriminator_lr": self.adversary_lr.discriminator}

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return {"g": self.optimizer_g, "d_hr": self.adversary_hr.optimizer, "d_lr": self.adversary_lr.optimizer}

    def extra_state(self) -> dict[str, Any]:
        return {"replay_hr": self.replay_hr.state_dict(), "replay_lr": self.replay_lr.state_dict(),
                "notes": list(self.trial_notes)}

    def notes(self) -> list[str]:
        """Settings the discriminators' factories ignored, for the result record."""
        return list(self.trial_notes)

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.replay_hr.load_state_dict(state["replay_hr"])
        self.replay_lr.load_state_dict(state["replay_lr"])

    # -- training ---------------------------------------------------------------------------
    def _measured(self, hr: torch.Tensor) -> torch.Tensor:
        """The trial's degradation of ``hr`` (fresh parameters), clamped like stored LR: F's identity target."""
        with torch.no_grad():
            return self.context.degradation(hr).clamp_(0.0, 1.0)

    def _critic_updates(self, step: int, lr: torch.Tensor, hr: torch.Tensor, sr: torch.Tensor,
                        lr_hat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The schedule's updates of both discriminators at ``step`` (each through its replay pool)."""
        losses: dict[str, torch.Tensor] = {}
        fraction = self.options.replay_fraction
        for _ in range(self.schedule.critic_updates(step, self.adversary_hr.n_critic)):
            d_hr = discriminator_step(self.adversary_hr, hr, self.replay_hr.mix(sr, fraction))
            d_lr = discriminator_step(self.adversary_lr, lr, self.replay_lr.mix(lr_hat, fraction))
            losses.update({f"{k}_hr": v for k, v in d_hr.items()})
            losses.update({f"{k}_lr": v for k, v in d_lr.items()})
        return losses

    def train_step(self, step: int, data: Any) -> Mapping[str, float | torch.Tensor]:
        opts, ctx, schedule = self.options, self.context, self.schedule
        schedule.decay_learning_rates(self.optimizers().values(), step)
        lr = data.all_lr(ctx.batch_size, ctx.device)
        hr = data.hr_pool.batch(ctx.batch_size, ctx.device)
        if schedule.phase(step) == D_ONLY:
            self.generator.eval()  # both generators frozen: not even their batch-norm statistics move
            self.downscaler.eval()
            try:
                with torch.no_grad():
                    sr, lr_hat = self.generator(lr), self.downscaler(hr)
            finally:
                self.generator.train()
                self.downscaler.train()
            return self._critic_updates(step, lr, hr, sr, lr_hat)
        sr = self.generator(lr)
        lr_hat = self.downscaler(hr)
        losses: dict[str, float | torch.Tensor] = dict(self._critic_updates(step, lr, hr, sr, lr_hat))

        cycle_lr = cycle_loss(self.generator, self.downscaler, lr, forward_output=sr)
        cycle_hr = cycle_loss(self.downscaler, self.generator, hr, forward_output=lr_hat)
        identity_g = consistency_loss(sr, lr, ctx.degradation)
        identity_f = F.l1_loss(lr_hat, self._measured(hr))
        total = opts.cycle_weight * (cycle_lr + cycle_hr) + opts.identity_weight * (identity_g + identity_f)
        if schedule.adversarial(step):
            weight = schedule.weight(step)
            adversarial = (generator_adversarial_loss(self.adversary_hr, hr, sr)
                           + generator_adversarial_loss(self.adversary_lr, lr, lr_hat))
            total = total + weight * adversarial
            losses.update({"adversarial": adversarial.detach(), "adversarial_weight": weight})
        self.optimizer_g.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer_g.step()
        losses.update({"cycle_lr": cycle_lr.detach(), "cycle_hr": cycle_hr.detach(),
                       "identity_g": identity_g.detach(), "identity_f": identity_f.detach(), "g_loss": total.detach()})
        return losses

    def export_spec(self) -> GeneratorSpec:
        return generator_spec(self.context, self.options.generator)  # super_resolve is the generator alone

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        return self.generator(lr)


__all__ = ["CycleSRMethod", "CycleSROptions", "cycle_loss"]
