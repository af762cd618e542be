"""``crossscale``: internal (cross-scale) learning in the manner of ZSSR (Shocher et al., CVPR 2018).

No HR is used at all. The LR training images serve as targets for their own further-degraded
copies: an LR crop ``y`` is degraded again with the trial's degradation to ``d(y)`` ("LR of LR",
``scale`` times smaller), and the generator learns ``d(y) -> y``, trusting that the relation
between scales repeats one level up (natural-image self-similarity across scales). A
consistency loss on real LR inputs (``degrade(clamp(G(LR))) ~ LR``) is added. No adversarial
term: this is the no-HR reference every few-HR method must beat.

**Patch sizes.** The stored LR patches are ``patch / scale`` px (12 px at x4 for the ``quick``
profile); their LR-of-LR would be 3 px, too small to learn from. So crops are taken from the
*whole* LR images (``TrainingData.paired.images["lr"]`` and ``lr_only.images["lr"]``; paired LR
counts as LR, its HR is not used) at ``crop_size`` LR px, by default the profile's HR patch side
(48 px at x4 -> 12-px LR-of-LR inputs, the input size of the paired methods). The crop is
rounded down to a multiple of the scale and to the smallest LR image; a trial whose LR images
are smaller than the scale is ``incompatible``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import torch
from torch import nn

from srbench.errors import IncompatibleError
from srbench.interfaces import GeneratorSpec, Method
from srbench.ops import quantize
from srbench.options import option
from srbench_builtins.methods.gan_common import create_generator, generator_spec
from srbench_builtins.methods.perceptual import pixel_loss
from srbench_builtins.methods.schedules import LRDecay, decay_learning_rates

from .crops import LRImageCropper
from .unpaired_terms import consistency_loss


@dataclass(frozen=True)
class CrossScaleOptions:
    """Options of the ``crossscale`` method."""

    generator: str = option("srresnet_resize", "generator network (srbench list generators); the same as the "
                                               "consistency-trained few-HR methods', so a comparison with them "
                                               "measures their losses, not their networks")
    lr: float = option(5e-4, "Adam learning rate (srresnet's at the quick profile, constant)")
    lr_decay: LRDecay = option("none", "learning-rate decay over the budget: none, cosine, step "
                                       "(docs/methods.md, 'Learning-rate schedule')")
    loss: Literal["l1", "mse"] = option("l1", "pixel loss between G(LR of LR) and the LR crop (ZSSR: l1)")
    crop_size: int = option(0, "side of the LR crops (LR px) that are degraded again into inputs; 0 = the "
                               "profile's HR patch side (x4: 48 px crops -> 12 px inputs)")
    consistency_weight: float = option(1.0, "weight of the consistency loss on real LR inputs (0 = ZSSR alone)")
    quantize_inputs: bool = option(True, "round the LR-of-LR to 8 bits, like the stored LR that test inputs are")

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"invalid lr {self.lr!r}; expected a positive number")
        if self.crop_size < 0:
            raise ValueError(f"invalid crop_size {self.crop_size}; expected 0 (auto) or a side in LR px")
        if not self.consistency_weight >= 0:
            raise ValueError(f"invalid consistency_weight {self.consistency_weight!r}; expected a number >= 0")


class CrossScaleMethod(Method):
    """ZSSR-style internal learning on the LR images, plus LR-consistency; no HR, no adversary.

    Each step: ``B`` LR crops ``y`` (random image weighted by area, random position, random
    flip/rotation), inputs ``x = quantise(clamp(degrade(y)))`` with fresh degradation parameters
    (ZSSR also draws its kernel per example when it is random), loss ``|G(x) - y|`` plus
    ``consistency_weight * |degrade(clamp(G(lr))) - lr|`` on a batch of stored LR patches. The
    LR-of-LR is quantised because test inputs are 8-bit images. Unlike ZSSR, one generator is
    trained for the whole dataset rather than one per test image (the benchmark trains before
    it sees test images), without ZSSR's gradual "scale ladder" or its back-projection.
    """

    Options = CrossScaleOptions
    requires_paired = False
    requires_hr_pool = False
    #: The leaderboard's default reference (above bicubic's 1): the no-HR method at the same budget,
    #: so each paired difference says what HR (or an adversarial prior) bought.
    leaderboard_reference_priority = 2

    def setup(self, data: Any) -> None:
        opts, ctx = self.options, self.context
        self.cropper = LRImageCropper.from_training_data(data)
        scale = ctx.scale
        crop = min(opts.crop_size or ctx.profile.patch_size, self.cropper.max_size)
        crop -= crop % scale
        if crop < scale:
            raise IncompatibleError(f"crossscale needs LR images of at least {scale} px to degrade again by "
                                    f"x{scale}; the smallest is {self.cropper.max_size} px")
        self.crop_size = crop
        self.generator = create_generator(ctx, opts.generator)
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=opts.lr, betas=(0.9, 0.999))
        self.loss_fn = pixel_loss(opts.loss)

    def modules(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator}

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return {"g": self.optimizer}

    def extra_state(self) -> dict[str, Any]:
        return {"crop_size": self.crop_size}

    def lr_of_lr(self, lr: torch.Tensor) -> torch.Tensor:
        """``lr`` degraded once more by the trial's degradation (fresh parameters), clamped (and quantised)."""
        degradation = self.context.degradation
        with torch.no_grad():
            out = degradation(lr).clamp_(0.0, 1.0)
            if self.options.quantize_inputs:
                out = quantize(out).float().div_(255.0)
        return out

    def train_step(self, step: int, data: Any) -> Mapping[str, float | torch.Tensor]:
        opts, ctx = self.options, self.context
        decay_learning_rates([self.optimizer], opts.lr_decay, step, ctx.total_steps)
        targets = self.cropper.batch(ctx.batch_size, self.crop_size, ctx.device)
        internal = self.loss_fn(self.generator(self.lr_of_lr(targets)), targets)
        total = internal
        losses: dict[str, float | torch.Tensor] = {"internal": internal.detach()}
        if opts.consistency_weight > 0:
            lr = data.all_lr(ctx.batch_size, ctx.device)
            consistency = consistency_loss(self.generator(lr), lr, ctx.degradation)
            total = total + opts.consistency_weight * consistency
            losses["consistency"] = consistency.detach()
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        return losses

    def export_spec(self) -> GeneratorSpec:
        return generator_spec(self.context, self.options.generator)  # super_resolve is the generator alone

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        return self.generator(lr)


__all__ = ["CrossScaleMethod", "CrossScaleOptions"]
