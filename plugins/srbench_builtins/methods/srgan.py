"""``srgan``: SRGAN (Ledig et al. 2017) on the paired subset, with every extension of the SRGAN report.

The generator minimises ``content + w * adversarial``; the discriminator tells HR patches from
generated ones. The report (Beroukhim & Ruel, 2019, section III.1) adds the tricks below, each
behind an option of :class:`SRGANOptions` (``--set srgan.OPTION=VALUE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import torch
from torch import nn

from srbench.errors import IncompatibleError, UsageError
from srbench.interfaces import GeneratorSpec, Method
from srbench.ops import imresize, random_crops
from srbench.options import option

from .gan_common import (
    Adversary,
    create_generator,
    check_critic_crop,
    create_generator_optimizer,
    critic_crop_size,
    discriminator_step,
    generator_adversarial_loss,
    generator_spec,
)
from .perceptual import VGGFeatureLoss, pixel_loss, vgg19_layer_names, vgg19_missing_reason, vgg19_weights_path
from .adversarial_schedule import D_ONLY, PRETRAIN, AdversarialOptions, AdversarialSchedule, DiscriminatorOptions
from .schedules import LRDecay, Ramp, check_fraction, steps_of
#: The only scale progressive growing handles: one x2 stage, then a second one.
PROGRESSIVE_SCALE = 4


@dataclass(frozen=True)
class SRGANOptions(AdversarialOptions, DiscriminatorOptions):
    """Options of the ``srgan`` method (see :class:`SRGANMethod` for the reasoning behind the defaults)."""

    generator: str = option("srresnet_resize", "generator network (srbench list generators): srresnet_resize "
                                               "(srresnet's), srresnet (the paper's pixel shuffle), ...; progressive "
                                               "needs one with grow() (either srresnet)")
    content_loss: Literal["mse", "l1", "vgg"] = option(
        "mse", "content loss of the joint phase: pixel mse/l1, or vgg (VGG19 features, SRGAN's VGG54)")
    pixel_loss: Literal["mse", "l1"] = option(
        "mse", "pixel loss of the pre-training when content_loss=vgg (report: MSE), and the fallback when the "
               "VGG19 weights are missing")
    vgg_layer: str = option("conv5_4", "VGG19 layer of the vgg content loss; conv = before its ReLU (report)")
    vgg_weights: str = option("", "VGG19 ImageNet state dict; empty = TORCH_HOME hub cache "
                                  "(hub/checkpoints/vgg19-dcbb9e9d.pth), never downloaded")
    lr_g: float = option(5e-4, "generator learning rate (optimizer type from the adversarial loss: Adam for "
                               "nonsaturating)")
    lr_decay: LRDecay = option("cosine", "learning-rate decay of G and D over the budget: none, cosine, step "
                                         "(srgan keeps cosine: docs/methods.md, 'Learning-rate schedule')")
    d_only_fraction: float = option(0.05, "share of the budget, after the pre-training, spent training D alone "
                                          "(report: less than an epoch)")
    adversarial_weight: float = option(3e-4, "final weight of the adversarial term (SRGAN: 1e-3, which striped the "
                                             "output on sr291/val at the standard profile, where the "
                                             "default is 5e-4; docs/methods.md)")
    critic_crop: int = option(-1, "side (HR px) of the random crops D sees, drawn independently for real and "
                                  "fake images; -1 = whole patches, 0 = the patch side minus the scale. 24 px of "
                                  "standard's 48-px patches: a step 55% as long, but striped at 5e-4 "
                                  "(docs/methods.md)", neutral=-1)
    spectral_norm_g: bool = option(False, "spectral normalisation in the generator (report: on)")
    batch_norm_d: bool | None = option(None, "batch norm in D when it has the option; none = its default, "
                                             "off for wgan-gp")
    progressive: bool = option(False, "train x2 first, then grow the generator to x4 (x4 only; a generator "
                                      "with grow())")
    progressive_switch: float = option(0.5, "share of the budget trained at x2 before growing")
    freeze_reused: bool = option(False, "after growing, train only the new x2 stage (report: faster)")
    fade_in_fraction: float = option(0.2, "share of the x4 stage over which the new stage fades in (alpha 0 -> 1)")
    lr_on_the_fly: bool = option(False, "recompute each LR batch from its HR with the trial's degradation, in "
                                        "float (not quantised to uint8)")
    clamp_lr: bool = option(True, "clamp LR made on the fly back into [0, 1] (report: bicubic overshoots)")

    def __post_init__(self) -> None:
        AdversarialOptions.__post_init__(self)
        DiscriminatorOptions.__post_init__(self)
        check_fraction(self.fade_in_fraction, "fade_in_fraction")
        check_fraction(self.progressive_switch, "progressive_switch", below_one=True)
        if not self.lr_g > 0:
            raise ValueError(f"invalid lr_g {self.lr_g!r}; expected a positive number")
        check_critic_crop(self.critic_crop)
        if self.vgg_layer not in vgg19_layer_names():
            raise ValueError(f"unknown vgg_layer {self.vgg_layer!r}; accepted: conv1_1 ... conv5_4, relu1_1 ... "
                             f"relu5_4, pool1 ... pool5")


class SRGANMethod(Method):
    """SRGAN on the paired subset, with the SRGAN report's extensions; needs paired HR.

    Budget phases (report: "initialise G with MSE only for one epoch ... then train D alone for a
    few iterations, less than an epoch, so it does not overfit G's current state"):

    1. ``pretrain_fraction`` of the steps: content loss only, D untouched;
    2. ``d_only_fraction``: D only (G frozen, in eval mode), so the joint phase does not start
       against a random D;
    3. joint training: ``n_critic`` D updates (the loss's: WGAN 5) then one G update on
       ``content + w * adversarial``, ``w`` rising from 0 to ``adversarial_weight`` (SRGAN: 1e-3)
       over ``ramp_fraction`` of the joint phase (report: raising it gradually guarantees results at
       least as good as the content loss alone).

    Phases, ramp, ``n_critic``, label smoothing, replay and learning-rate decay are the options every
    GAN method shares (:class:`~.adversarial_schedule.AdversarialOptions`, run by
    :class:`~.adversarial_schedule.AdversarialSchedule`); ``critic_warmup`` (D also trained during
    the pre-training) is off here, the D-only phase does that job.

    Other tricks: one-sided label smoothing (``real_label`` 0.9: D is never sure, which stabilises
    training); experience replay (``replay_size`` past fakes, ``replay_fraction`` of each fake
    batch, so D does not overfit G's current state); spectral normalisation (``spectral_norm_g``,
    ``spectral_norm_d``); progressive growing x2 -> x4 (``progressive``: the x2 stage trains on
    HR downscaled by 2, then the generator grows, reusing ~90% of its weights, optionally frozen,
    with the new stage faded in); a VGG19 content loss on pre-activation features
    (``content_loss=vgg``, ``vgg_layer=conv5_4``); LR recomputed in float and clamped
    (``lr_on_the_fly``, ``clamp_lr``). Deterministic cuDNN is the runner's ``--deterministic``.

    Defaults: the report's tricks that help stability are on (label 0.9, replay 64 images / half
    the fake batch, spectral norm in D, 30% pre-training, 5% D-only, ramp over half the joint
    phase). Spectral norm in G is off: it caps the generator's gain and costs PSNR in short CPU
    budgets. Progressive growing is off (x4 only). The pixel content loss is mse, G's learning
    rate 5e-4 and the generator ``srresnet_resize``, as ``srresnet``'s defaults; unlike srresnet
    (constant rate since a1a2b2c) srgan keeps the cosine decay: at hr_fraction 1 a constant
    rate gave 29.05 ± 0.61 dB against 29.15 ± 0.02 (3 seeds; docs/methods.md, "Learning-rate
    schedule"), so the two differ by the adversarial part and the schedule. With the paper's pixel
    shuffle the adversarial term striped the output on every seed at hr_fraction 0.05
    (periodic_ratio 3.1-7.4, quick profile, 3 seeds); with resize-convolution 0.13-0.47, and
    PSNR-Y higher on each seed (28.87 against 28.80 dB; at hr_fraction 1, 29.15 against 29.04).
    ``content_loss=vgg`` needs VGG19 weights on disk; without them the method uses
    ``pixel_loss`` and records a note (``extra_state()["notes"]``, said when training starts).
    """

    Options = SRGANOptions
    ablation = {"adversarial_weight": 0.0}  # its own schedule and network, content loss only
    # 3e-4 acts on one seed in three at `standard` (sr291/val), 4e-4 on two, 5e-4 on all three:
    # swd -0.082 ± 0.014 against srresnet at -1.29 dB (docs/methods.md, "Defaults chosen")
    profile_defaults = {"standard": {"adversarial_weight": 5e-4}}
    requires_paired = True

    @classmethod
    def check_options(cls, options: Any, context: Any) -> None:
        """Refuse a ``critic_crop`` larger than what D is shown (the x2 stage's targets are half the patch)."""
        patch = context.profile.patch_size
        side = patch // 2 if options.progressive else patch
        if options.critic_crop > side:
            stage = f"the x2 stage's {side}-px targets (half the {patch}-px patch)" if options.progressive \
                else f"the {patch}-px training patches"
            raise UsageError(f"--set srgan.critic_crop={options.critic_crop} is larger than {stage}; expected "
                             f"at most {side}, or 0 (auto) or -1 (whole)")

    # -- setup ------------------------------------------------------------------------------
    def setup(self, data: Any) -> None:
        opts: SRGANOptions = self.options
        ctx = self.context
        self.trial_notes: list[str] = []
        self.schedule = AdversarialSchedule(opts, ctx.total_steps)
        self.phase = self.schedule.phase(0)

        self.generator_x2: nn.Module | None = None
        self.grown = False
        if opts.progressive:
            self._setup_progressive()
        else:
            self.generator = create_generator(ctx, opts.generator, spectral_norm=opts.spectral_norm_g)

        self.adversary: Adversary = opts.create_adversary(ctx, self.trial_notes, batch_norm=opts.batch_norm_d)
        self.optimizer_g = create_generator_optimizer(self.generator.parameters(), self.adversary.loss, opts.lr_g)
        self.optimizer_g_x2 = (create_generator_optimizer(self.generator_x2.parameters(), self.adversary.loss,
                                                          opts.lr_g)
                               if self.generator_x2 is not None else None)
        self.replay = opts.replay_buffer(ctx.seed)
        self._setup_content_losses()

    def _setup_progressive(self) -> None:
        opts, ctx = self.options, self.context
        if ctx.scale != PROGRESSIVE_SCALE:
            raise IncompatibleError(f"srgan progressive growing goes x2 -> x4; it cannot run at x{ctx.scale} "
                                    f"(use --scale 4 or --set srgan.progressive=false)")
        self.generator_x2 = create_generator(ctx, opts.generator, 2, spectral_norm=opts.spectral_norm_g)
        if not callable(getattr(self.generator_x2, "grow", None)):
            raise IncompatibleError(f"srgan progressive growing needs a generator with grow() (srresnet); "
                                    f"{opts.generator!r} has none")
        # The x4 network is built (grown) now so the modules and optimizers checkpointed are the same
        # at every step; its reused layers receive the x2 weights when the x4 stage starts.
        self.generator = create_generator(ctx, opts.generator, 2, spectral_norm=opts.spectral_norm_g)
        self.generator.grow(alpha=1.0)
        self.new_parameter_names = set(self.generator.state_dict()) - set(self.generator_x2.state_dict())
        self.switch_step = steps_of(opts.progressive_switch, ctx.total_steps)
        self.fade_in = Ramp(self.switch_step, steps_of(opts.fade_in_fraction, ctx.total_steps - self.switch_step))

    def _setup_content_losses(self) -> None:
        opts = self.options
        pixel_name = opts.content_loss if opts.content_loss != "vgg" else opts.pixel_loss
        self.pretrain_loss = pixel_loss(pixel_name)
        self.content_loss: nn.Module | Any = self.pretrain_loss
        self.content_loss_name = pixel_name
        if opts.content_loss == "vgg":
            missing = vgg19_missing_reason(opts.vgg_weights)
            if missing is None:
                self.content_loss = VGGFeatureLoss(vgg19_weights_path(opts.vgg_weights),
                                                   opts.vgg_layer).to(self.context.device)
                self.content_loss_name = f"vgg_{opts.vgg_layer}"
            else:
                self.trial_notes.append(f"content_loss vgg fell back to the {pixel_name} pixel loss: {missing}")

    def notes(self) -> list[str]:
        """One-line notes about this trial's set-up (fallbacks, ignored settings) for its result record."""
        return list(self.trial_notes)

    # -- what the core checkpoints -----------------------------------------------------------
    def modules(self) -> Mapping[str, nn.Module]:
        mods: dict[str, nn.Module] = {"generator": self.generator, "discriminator": self.adversary.discriminator}
        if self.generator_x2 is not None:
            mods["generator_x2"] = self.generator_x2
        return mods

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        opts: dict[str, torch.optim.Optimizer] = {"g": self.optimizer_g, "d": self.adversary.optimizer}
        if self.optimizer_g_x2 is not None:
            opts["g_x2"] = self.optimizer_g_x2
        return opts

    def extra_state(self) -> dict[str, Any]:
        return {"phase": self.phase, "grown": self.grown, "replay": self.replay.state_dict(),
                "notes": list(self.trial_notes)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.phase = str(state["phase"])
        self.grown = bool(state["grown"])
        self.replay.load_state_dict(state["replay"])

    # -- training ---------------------------------------------------------------------------
    def draw_batch(self, data: Any, stage_scale: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A paired ``(lr, target)`` batch for the current stage.

        With ``lr_on_the_fly`` the LR is recomputed from the HR with the trial's degradation in
        float (random parameters from torch's global, checkpointed RNG), clamped to ``[0, 1]``
        when ``clamp_lr``. At the x2 stage of progressive growing the target is the HR downscaled
        by 2 (MATLAB bicubic), clamped to ``[0, 1]``.

        :param stage_scale: the scale the generator produces now (default: the trial's).
        """
        ctx, opts = self.context, self.options
        lr, hr = data.paired.batch(ctx.batch_size, ctx.device)
        if opts.lr_on_the_fly:
            with torch.no_grad():
                lr = ctx.degradation(hr)
            if opts.clamp_lr:
                lr = lr.clamp(0.0, 1.0)
        scale = ctx.scale if stage_scale is None else stage_scale
        if scale != ctx.scale:
            with torch.no_grad():
                hr = imresize(hr, scale=scale / ctx.scale).clamp_(0.0, 1.0)
        return lr, hr

    def _stage(self, step: int) -> tuple[nn.Module, torch.optim.Optimizer, int]:
        """The generator trained at ``step``, its optimizer and its scale (progressive growing)."""
        if self.generator_x2 is None:
            return self.generator, self.optimizer_g, self.context.scale
        if step < self.switch_step:
            return self.generator_x2, self.optimizer_g_x2, PROGRESSIVE_SCALE // 2  # type: ignore[return-value]
        if not self.grown:
            self._grow()
        self.generator.alpha = self.fade_in.value(step)
        if self.options.freeze_reused:
            for name, parameter in self.generator.named_parameters():
                parameter.requires_grad_(name in self.new_parameter_names)
        return self.generator, self.optimizer_g, self.context.scale

    def _grow(self) -> None:
        """Start the x4 stage: the x4 network takes every x2 weight; only its new stage keeps its init."""
        result = self.generator.load_state_dict(self.generator_x2.state_dict(), strict=False)  # type: ignore[union-attr]
        if result.unexpected_keys or set(result.missing_keys) != self.new_parameter_names:
            raise RuntimeError(f"progressive growing: the x4 generator does not extend the x2 one "
                               f"(missing {sorted(result.missing_keys)[:3]}, unexpected {result.unexpected_keys[:3]})")
        self.replay.clear()  # stored fakes are x2-sized
        self.grown = True

    def _generator_step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def _critic_updates(self, data: Any, generator: nn.Module, scale: int,
                        keep_last_graph: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """``n_critic`` D updates, each on a fresh batch; returns the last stats, fake and target.

        The last fake keeps its graph when ``keep_last_graph`` (the G update reuses it).
        """
        stats: dict[str, torch.Tensor] = {}
        fake = target = torch.empty(0)
        for i in range(self.adversary.n_critic):
            lr, target = self.draw_batch(data, scale)
            if keep_last_graph and i == self.adversary.n_critic - 1:
                fake = generator(lr)
            else:
                with torch.no_grad():
                    fake = generator(lr)
            shown = self.replay.mix(self.critic_view(fake), self.options.replay_fraction)
            stats = discriminator_step(self.adversary, self.critic_view(target), shown)
        return stats, fake, target

    def critic_view(self, images: torch.Tensor) -> torch.Tensor:
        """What D sees of a batch: random ``critic_crop`` crops, one position per image (the whole batch at -1)."""
        side = min(images.shape[-2:])
        return random_crops(images, critic_crop_size(self.options.critic_crop, side, self.context.scale))

    def train_step(self, step: int, data: Any) -> Mapping[str, float | torch.Tensor]:
        schedule = self.schedule
        schedule.decay_learning_rates(self.optimizers().values(), step)
        generator, optimizer_g, scale = self._stage(step)
        self.phase = schedule.phase(step)
        extra: dict[str, float] = {"alpha": float(self.generator.alpha)} if self.grown else {}

        if self.phase == PRETRAIN:
            stats: dict[str, torch.Tensor] = {}
            if schedule.trains_critic(step):  # critic_warmup: D learns next to the content-only G
                stats, _, _ = self._critic_updates(data, generator, scale, keep_last_graph=False)
            lr, target = self.draw_batch(data, scale)
            loss = self.pretrain_loss(generator(lr), target)
            self._generator_step(optimizer_g, loss)
            return {"content": loss.detach(), **stats, **extra}

        if self.phase == D_ONLY:
            generator.eval()  # G is frozen: not even its batch-norm statistics move
            try:
                stats, _, _ = self._critic_updates(data, generator, scale, keep_last_graph=False)
            finally:
                generator.train()
            return {**stats, **extra}

        stats, fake, target = self._critic_updates(data, generator, scale, keep_last_graph=True)
        weight = schedule.weight(step)
        content = self.content_loss(fake, target)
        adversarial = generator_adversarial_loss(self.adversary, self.critic_view(target), self.critic_view(fake))
        total = content + weight * adversarial
        self._generator_step(optimizer_g, total)
        return {"content": content.detach(), "adversarial": adversarial.detach(), "adversarial_weight": weight,
                "g_loss": total.detach(), **stats, **extra}

    # -- inference --------------------------------------------------------------------------
    def export_spec(self) -> GeneratorSpec | None:
        # A progressive generator is grown (x2 -> x4) after it is built: no factory call rebuilds it.
        if self.options.progressive:
            return None
        return generator_spec(self.context, self.options.generator, spectral_norm=self.options.spectral_norm_g)

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        if self.generator_x2 is not None:
            self.generator.alpha = 1.0  # the fade-in ends within the budget (fade_in_fraction <= 1)
        return self.generator(lr)


__all__ = ["SRGANMethod", "SRGANOptions"]
