"""``wgan-gp``: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1).

Replaces weight clipping with ``lambda * (||grad_x D(x_hat)|| - 1)^2`` on random interpolates
``x_hat = eps * real + (1 - eps) * fake``, ``eps ~ U[0, 1]`` per sample; lambda = 10, 5 critic
steps per generator step, Adam lr 1e-4, betas (0, 0.9). The penalty is per sample, so the critic
must not use batch norm (build discriminators with ``batch_norm=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import torch

from srbench.errors import UsageError
from srbench.interfaces import AdversarialLoss
from srbench.options import option

from .common import OptimizerSpec

#: Added under the square root of the gradient norm: its derivative stays finite at a zero gradient.
NORM_EPS = 1e-12


@dataclass(frozen=True)
class WGANGPOptions:
    """Options of ``wgan-gp``."""

    gp_weight: float = option(10.0, "lambda, weight of the gradient penalty")

    def __post_init__(self) -> None:
        if self.gp_weight < 0:
            raise ValueError(f"invalid gp_weight {self.gp_weight!r}; expected a number >= 0")


class WGANGPLoss(AdversarialLoss):
    """WGAN with gradient penalty (lambda 10) on random interpolates; 5 critic steps, Adam (0, 0.9)."""

    Options = WGANGPOptions
    n_critic: ClassVar[int] = 5
    recommended_optimizer: ClassVar[OptimizerSpec] = ("adam", {"lr": 1e-4, "betas": (0.0, 0.9)})

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()

    def penalty(self, critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                fake: torch.Tensor) -> torch.Tensor:
        """``gp_weight * mean((||grad D(x_hat)||_2 - 1)^2)``, differentiable w.r.t. the critic's parameters.

        A patch critic's value for a sample is the mean of its logits, as in the critic loss.
        """
        if real.shape != fake.shape:
            raise UsageError(f"wgan-gp penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} batches "
                             f"must have the same shape")
        batch = real.shape[0]
        eps = torch.rand((batch,) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
        interpolates = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
        per_sample = critic(interpolates).reshape(batch, -1).mean(dim=1)
        (grad,) = torch.autograd.grad(per_sample.sum(), interpolates, create_graph=True)
        norm = (grad.reshape(batch, -1).pow(2).sum(dim=1) + NORM_EPS).sqrt()
        return self.options.gp_weight * (norm - 1).pow(2).mean()
