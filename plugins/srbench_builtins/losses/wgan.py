"""``wgan``: Wasserstein GAN with weight clipping (Arjovsky et al. 2017, Algorithm 1).

The critic maximises ``mean(D(real)) - mean(D(fake))``, an estimate of the Earth-Mover distance
when D is Lipschitz; clipping every parameter to ``[-c, c]`` after each critic step (c = 0.01)
keeps it so, crudely. The paper trains the critic 5 times per generator step with RMSProp,
lr 5e-5 (momentum-based optimizers were unstable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from srbench.interfaces import AdversarialLoss
from srbench.options import option

from .common import OptimizerSpec


@dataclass(frozen=True)
class WGANOptions:
    """Options of ``wgan``."""

    clip: float = option(0.01, "critic parameters are clipped to [-clip, clip] after each critic step")

    def __post_init__(self) -> None:
        if not self.clip > 0:
            raise ValueError(f"invalid clip {self.clip!r}; expected a positive number")


class WGANLoss(AdversarialLoss):
    """Wasserstein GAN with weight clipping: critic mean(fake) - mean(real), 5 critic steps, RMSProp."""

    Options = WGANOptions
    n_critic: ClassVar[int] = 5
    recommended_optimizer: ClassVar[OptimizerSpec] = ("rmsprop", {"lr": 5e-5})

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()

    def after_discriminator_step(self, discriminator: torch.nn.Module) -> None:
        """Clip every parameter of ``discriminator`` to ``[-clip, clip]`` in place."""
        with torch.no_grad():
            for parameter in discriminator.parameters():
                parameter.clamp_(-self.options.clip, self.options.clip)
