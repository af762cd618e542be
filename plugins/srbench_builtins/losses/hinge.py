"""``hinge``: hinge GAN loss (Lim & Ye 2017; used by SN-GAN and SAGAN).

D minimises ``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))``: logits beyond the margin stop
contributing, so D cannot grow them without bound; G minimises ``-mean(D(fake))``. SAGAN's
generator optimizer: Adam lr 1e-4, betas (0, 0.9).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from srbench.interfaces import AdversarialLoss

from .common import OptimizerSpec


class HingeLoss(AdversarialLoss):
    """Hinge loss: D relu(1 - real) + relu(1 + fake), G -mean(fake)."""

    recommended_optimizer: ClassVar[OptimizerSpec] = ("adam", {"lr": 1e-4, "betas": (0.0, 0.9)})

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()
