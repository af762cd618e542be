"""``relativistic``: relativistic average GAN (Jolicoeur-Martineau 2018), as in ESRGAN (Sec. 3.2).

D estimates whether a real image is more realistic than the average fake (and a fake less
realistic than the average real): ``D_Ra(a, b) = sigmoid(C(a) - mean(C(b)))``. Both players use both
batches: D minimises ``BCE(real - mean(fake), 1) + BCE(fake - mean(real), 0)`` and G the same with
labels swapped, so G also gets gradients through the real term. Each loss is the average of
its two terms, as in ESRGAN's code; ESRGAN's optimizer is Adam lr 1e-4, betas (0.9, 0.999).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from srbench.interfaces import AdversarialLoss

from .common import SRGAN_ADAM, OptimizerSpec, bce_with_target


class RelativisticAverageLoss(AdversarialLoss):
    """Relativistic average GAN (ESRGAN): each side judged against the other's mean logit."""

    recommended_optimizer: ClassVar[OptimizerSpec] = SRGAN_ADAM

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (bce_with_target(real_logits - fake_logits.mean(), 1.0)
                      + bce_with_target(fake_logits - real_logits.mean(), 0.0))

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # D(real) does not depend on G: detach it so the G step leaves no gradient in D.
        real_logits = real_logits.detach()
        return 0.5 * (bce_with_target(real_logits - fake_logits.mean(), 0.0)
                      + bce_with_target(fake_logits - real_logits.mean(), 1.0))
