"""``nonsaturating``: the GAN objective with G maximising ``log D(G(z))`` (Goodfellow et al. 2014, Sec. 3).

Same fixed point as ``minimax`` but strong gradients early, when D rejects the fakes; the
loss SRGAN uses. ``real_label`` < 1 smooths the real labels of the D loss only.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from srbench.interfaces import AdversarialLoss

from .common import SRGAN_ADAM, LabelSmoothingOptions, OptimizerSpec, bce_with_target


class NonSaturatingLoss(AdversarialLoss):
    """Non-saturating GAN loss (SRGAN's): G minimises -log D(G(z))."""

    Options = LabelSmoothingOptions
    recommended_optimizer: ClassVar[OptimizerSpec] = SRGAN_ADAM

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return bce_with_target(real_logits, self.options.real_label) + bce_with_target(fake_logits, 0.0)

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return bce_with_target(fake_logits, 1.0)
