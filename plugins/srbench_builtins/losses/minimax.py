"""``minimax``: the original GAN objective with its saturating generator loss (Goodfellow et al. 2014).

D maximises ``log D(x) + log(1 - D(G(z)))`` (minimises the binary cross-entropy with labels
``real_label`` / 0); G minimises ``log(1 - D(G(z)))``, whose gradient vanishes when D confidently
rejects the fakes, hence ``nonsaturating``. Kept as the textbook baseline.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from srbench.interfaces import AdversarialLoss

from .common import SRGAN_ADAM, LabelSmoothingOptions, OptimizerSpec, bce_with_target


class MinimaxLoss(AdversarialLoss):
    """Original GAN minimax objective; G minimises log(1 - D(G(z))) (saturating)."""

    Options = LabelSmoothingOptions
    recommended_optimizer: ClassVar[OptimizerSpec] = SRGAN_ADAM

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return bce_with_target(real_logits, self.options.real_label) + bce_with_target(fake_logits, 0.0)

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # log(1 - sigmoid(f)) = -softplus(f), computed stably from the logits.
        return -F.softplus(fake_logits).mean()
