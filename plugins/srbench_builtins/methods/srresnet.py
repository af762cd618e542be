"""``srresnet``: a generator trained with a pixel loss on the paired subset only.

SRGAN's "SRResNet" baseline (Ledig et al. 2017): no discriminator, no perceptual term. At
``--hr-fraction 1`` it is the supervised oracle the few-HR methods are measured against; at
smaller fractions it shows what the paired images alone give. Needs at least one paired image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import torch
from torch import nn

from srbench.interfaces import GeneratorSpec, Method
from srbench.options import option

from .gan_common import create_generator, generator_spec
from .perceptual import pixel_loss
from .schedules import LRDecay, decay_learning_rates


@dataclass(frozen=True)
class SRResNetMethodOptions:
    """Options of the ``srresnet`` method."""

    generator: str = option("srresnet_resize", "generator network (srbench list generators): srresnet_resize "
                                               "(resize-convolution upsampling), srresnet (the paper's pixel "
                                               "shuffle), rrdb, ...")
    loss: Literal["mse", "l1"] = option("mse", "pixel loss: mse (SRGAN's SRResNet; optimises PSNR directly) or l1")
    lr: float = option(5e-4, "Adam learning rate (SRGAN: 1e-4 over 1e6 steps; higher for CPU budgets)")
    lr_decay: LRDecay = option("none", "learning-rate decay over the budget: none, cosine (to 0) or step "
                                       "(x0.1 at half, SRGAN); none, like the few-HR methods it is compared with "
                                       "(docs/methods.md, 'Learning-rate schedule')")

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"invalid lr {self.lr!r}; expected a positive number")


class SRResNetMethod(Method):
    """Generator + pixel loss on the paired subset (SRGAN's SRResNet); the supervised oracle at hr-fraction 1.

    Adam with betas (0.9, 0.999) as SRGAN. Defaults measured on the CPU ``quick`` profile (default
    dataset, x4, 300 steps, 3 seeds, PSNR-Y of the whole test photos): MSE and L1 end within
    0.05 dB of each other (28.71 vs 28.68 dB at lr 5e-4), so the loss is SRGAN's MSE, which is
    the PSNR objective itself; a learning rate of 5e-4, since SRGAN's 1e-4 is meant for ~10^6
    steps, held constant (a cosine decay stopped the few-HR methods it is compared with before
    they converged in 300 steps; docs/methods.md, "Learning-rate schedule"). The generator is ``srresnet_resize`` (resize-convolution stages) rather
    than the paper's pixel shuffle: at 1% HR the pixel-shuffle network left a checkerboard on one
    seed of three (periodic_ratio 1.9), and the resize network scored 28.77 against 28.71 dB
    there; ``--set srresnet.generator=srresnet`` gives the paper's.
    """

    Options = SRResNetMethodOptions
    requires_paired = True

    def setup(self, data: Any) -> None:
        opts: SRResNetMethodOptions = self.options
        self.generator = create_generator(self.context, opts.generator)
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=opts.lr, betas=(0.9, 0.999))
        self.loss_fn = pixel_loss(opts.loss)

    def modules(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator}

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return {"g": self.optimizer}

    def train_step(self, step: int, data: Any) -> Mapping[str, float | torch.Tensor]:
        decay_learning_rates([self.optimizer], self.options.lr_decay, step, self.context.total_steps)
        lr, hr = data.paired.batch(self.context.batch_size, self.context.device)
        loss = self.loss_fn(self.generator(lr), hr)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {self.options.loss: loss.detach()}

    def export_spec(self) -> GeneratorSpec:
        return generator_spec(self.context, self.options.generator)  # super_resolve is the generator alone

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        return self.generator(lr)
