"""A method made of a generator, the LR-consistency loss and one :class:`UnpairedTerm`.

``unsupervised`` and ``ambient`` are both *generator + consistency + adversarial term*; they
differ only by the term. :class:`ConsistencyTermMethod` is that method once: it trains the
generator on LR batches from every training image (paired LR counts as LR, its HR is not
used) with::

    loss = consistency_weight * consistency_loss(G(lr), lr) + w(step) * term.generator_loss(G(lr))

where ``w`` is 0 during the consistency-only pre-training, then ramps to ``adversarial_weight``
(SRGAN report: pre-train with the content loss, then raise the adversarial weight gradually).
The phases, the ramp, the critic's updates per step and the learning-rate decay are the shared
:class:`~srbench_builtins.methods.adversarial_schedule.AdversarialSchedule` (options
:class:`~srbench_builtins.methods.adversarial_schedule.ScheduleOptions`). By default the term's critic
is updated at every step (``critic_warmup``, the report's D-only phase run alongside the
pre-training: the generator hardly moves then, and a critic that starts with the adversarial weight
sat at chance level for the whole 300-step ``quick`` budget); ``d_only_fraction`` adds a phase of
critic-only steps after the pre-training (off by default).

A concrete method declares ``Options`` as a dataclass that inherits both
:class:`TermMethodOptions` and the term's option dataclass (every field then settable with
``--set METHOD.FIELD=VALUE``), and ``Term``, the term class; :func:`term_options` extracts the
term's own options from the combined ones.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal, Mapping

import torch
from torch import nn

from srbench.errors import IncompatibleError
from srbench.interfaces import GeneratorSpec, Method, MethodContext
from srbench.options import option
from srbench.training.profiles import PROFILES
from srbench_builtins.methods.gan_common import build_generator, create_generator
from srbench_builtins.methods.adversarial_schedule import D_ONLY, AdversarialSchedule, ScheduleOptions

from .capacity import matched_generator_spec, matched_features
from .crops import LRImageCropper
from .unpaired_terms import TERMS, UnpairedTerm, consistency_loss

#: Iterations of the ``quick`` profile: the budget the adversarial weights' defaults were measured at.
TUNED_ITERATIONS = PROFILES["quick"].iterations


def long_budget_note(method: str, weight: float, steps: int) -> str | None:
    """A warning when a default adversarial weight meets a budget well beyond the one it was chosen at.

    On an H100 (``default``, x4, hr_fraction 0.05, 2-3 seeds, cosine schedule) the weight that
    sharpened without stripes fell as the budget grew: ambient 3e-3 at 300 steps, 3e-4 at 1500,
    1e-4 at 3000 (docs/methods.md, "Longer budgets"). ``None`` up to twice the chosen budget.
    """
    if steps <= 2 * TUNED_ITERATIONS:
        return None
    return (f"{method}: adversarial_weight {weight:g} is the default chosen at {TUNED_ITERATIONS} steps (quick "
            f"profile) and this trial runs {steps}; longer training needed smaller weights (on a GPU, ambient's "
            f"3e-3, clean at 300 steps, striped every seed at 1500; 3e-4, clean at 1500, striped at 3000) "
            f"(docs/methods.md, 'Longer budgets'): choose one with --set {method}.adversarial_weight=...")


def option_default(options_cls: type, name: str) -> Any:
    """The declared default of field ``name`` of an options dataclass."""
    return next(f.default for f in fields(options_cls) if f.name == name)


def default_in_force(method_cls: type[Method], name: str, profile: str) -> Any:
    """The default of option ``name`` under ``profile``: the method's profile default, else the declared one."""
    return method_cls.defaults_under(profile).get(name, option_default(method_cls.Options, name))


def term_options(term_options_cls: type, options: Any) -> Any:
    """An instance of ``term_options_cls`` with the values of the same-named fields of ``options``."""
    return term_options_cls(**{f.name: getattr(options, f.name) for f in fields(term_options_cls)})


def prefixed(prefix: str, items: Mapping[str, Any]) -> dict[str, Any]:
    """``{prefix + "." + name: item}``: a term's modules/optimizers under the owner's checkpoint names."""
    return {f"{prefix}.{name}": item for name, item in items.items()}


def check_generator_options(context: MethodContext, generator: str, match: str, term: type[UnpairedTerm] | None,
                            options: Any) -> None:
    """The checks of ``check_options`` shared by the few-HR methods: ``match_params`` can be met and ``term``
    accepts the generator. A generator that cannot run at the scale is left to each trial (``incompatible``)."""
    try:
        if match:
            matched_features(context, generator, match)
        if term is not None:
            term.check_generator(options, create_generator(context, generator))
    except IncompatibleError:
        return


@dataclass(frozen=True)
class TermMethodOptions(ScheduleOptions):
    """Options of the generator side of a :class:`ConsistencyTermMethod`, with the shared schedule
    (:class:`~srbench_builtins.methods.adversarial_schedule.ScheduleOptions`)."""

    generator: str = option("srresnet_resize", "generator network (srbench list generators); srresnet_resize: "
                                               "SRResNet with resize-convolution upsampling, which gives stripes "
                                               "of the upsampling period no free ride past the consistency loss")
    match_params: str = option("", "a generator whose parameter count this method's generator matches, through "
                                   "its features width (e.g. srresnet_resize: compare at equal capacity); empty = "
                                   "the generator's own preset")
    lr_g: float = option(5e-4, "generator Adam learning rate (srresnet's at the quick profile, constant)")
    consistency_weight: float = option(1.0, "weight of the LR-consistency loss |degrade(clamp(G(LR))) - LR|")
    consistency_kind: Literal["l1", "mse"] = option("l1", "distance of the consistency loss")
    adversarial_weight: float = option(3e-4, "final weight of the adversarial term (SRGAN: 1e-3, which striped "
                                             "one unsupervised run in 15 on the quick sweep)")
    critic_warmup: bool = option(True, "update the critic during the pre-training too, so it is past chance level "
                                       "when the adversarial weight starts (SRGAN report: a D-only phase)")
    lr_crop: int = option(0, "side (LR px) of the generator's training inputs; 0 = the stored LR patches (patch / "
                             "scale: 12 px on quick), larger = crops of the whole LR images")

    def __post_init__(self) -> None:
        ScheduleOptions.__post_init__(self)
        if not self.lr_g > 0:
            raise ValueError(f"invalid lr_g {self.lr_g!r}; expected a positive number")
        if not self.consistency_weight >= 0:
            raise ValueError(f"invalid consistency_weight {self.consistency_weight!r}; expected a number >= 0")
        if self.lr_crop < 0:
            raise ValueError(f"invalid lr_crop {self.lr_crop!r}; expected 0 (the stored LR patches) or a side in LR px")


class ConsistencyTermMethod(Method):
    """Generator + LR-consistency + one unpaired adversarial term; see the module docstring."""

    #: The adversarial term's class (its ``Options`` fields are part of this method's ``Options``).
    Term: ClassVar[type[UnpairedTerm]]

    @classmethod
    def check_options(cls, options: Any, context: MethodContext) -> None:
        """Refuse before training a ``match_params`` that cannot be met or a generator the term cannot use."""
        check_generator_options(context, options.generator, options.match_params, cls.Term,
                                term_options(cls.Term.Options, options))

    def setup(self, data: Any) -> None:
        opts, ctx = self.options, self.context
        self.setup_notes: list[str] = []
        self.generator_spec = matched_generator_spec(ctx, opts.generator, opts.match_params, self.setup_notes)
        self.generator = build_generator(ctx, self.generator_spec)
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=opts.lr_g, betas=(0.9, 0.999))
        self.input_cropper: LRImageCropper | None = None
        self.lr_crop = opts.lr_crop
        if opts.lr_crop:
            self.input_cropper = LRImageCropper.from_training_data(data)
            smallest = self.input_cropper.max_size
            if opts.lr_crop > smallest:
                if opts.lr_crop != default_in_force(type(self), "lr_crop", ctx.profile.name):  # the user's explicit choice: refuse
                    raise IncompatibleError(f"lr_crop {opts.lr_crop} does not fit the smallest LR training image "
                                            f"({smallest} px); use 0 to {smallest}")
                self.lr_crop = smallest  # the method's default shrinks to fit small datasets
                self.setup_notes.append(f"lr_crop {opts.lr_crop} (the default) exceeds the smallest LR training "
                                         f"image; trained on {smallest}-px crops")
        self.term = self.Term(term_options(self.Term.Options, opts), ctx, self.generator)
        self.term.setup(data)
        self.schedule = AdversarialSchedule(opts, ctx.total_steps)
        # a weight the profile itself sets was chosen at that profile's budget: no warning
        chosen_here = "adversarial_weight" in self.defaults_under(ctx.profile.name)
        if (self.term.modules() and not chosen_here
                and opts.adversarial_weight == option_default(type(opts), "adversarial_weight")):
            name = next((n for n, cls in TERMS.items() if cls is self.Term), type(self).__name__)
            note = long_budget_note(name, opts.adversarial_weight, ctx.total_steps)
            if note:
                self.setup_notes.append(note)

    # -- what the core checkpoints -----------------------------------------------------------
    def modules(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator, **prefixed("term", self.term.modules())}

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return {"g": self.optimizer_g, **prefixed("term", self.term.optimizers())}

    def extra_state(self) -> dict[str, Any]:
        return {"term": self.term.extra_state()}

    def notes(self) -> list[str]:
        """The term's notes (ignored settings, fallbacks), then the setup's (a shrunk default ``lr_crop``, a long
        budget at the default adversarial weight)."""
        return list(self.term.notes()) + self.setup_notes

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.term.load_extra_state(state.get("term", {}))

    # -- training ---------------------------------------------------------------------------
    def train_step(self, step: int, data: Any) -> Mapping[str, float | torch.Tensor]:
        opts, ctx = self.options, self.context
        schedule = self.schedule
        schedule.decay_learning_rates(self.optimizers().values(), step)
        lr = (self.input_cropper.batch(ctx.batch_size, self.lr_crop, ctx.device) if self.input_cropper is not None
              else data.all_lr(ctx.batch_size, ctx.device))
        # A term without a critic (ambient's "consistency" ablation) adds nothing: no adversarial key, and its
        # D-only steps train the generator as the pre-training does.
        has_critic = bool(self.term.modules())
        losses: dict[str, float | torch.Tensor] = {}
        if has_critic and schedule.phase(step) == D_ONLY:
            self.generator.eval()  # G is frozen: not even its batch-norm statistics move
            try:
                with torch.no_grad():
                    sr = self.generator(lr)
            finally:
                self.generator.train()
            for _ in range(schedule.critic_updates(step, self.term.n_critic)):
                losses.update(self.term.critic_step(sr, lr, data, step))
            return losses
        sr = self.generator(lr)
        consistency = consistency_loss(sr, lr, ctx.degradation, kind=opts.consistency_kind)
        total = opts.consistency_weight * consistency
        if has_critic:
            for _ in range(schedule.critic_updates(step, self.term.n_critic)):
                losses.update(self.term.critic_step(sr.detach(), lr, data, step))
        if has_critic and schedule.adversarial(step):
            weight = schedule.weight(step)
            adversarial = self.term.generator_loss(sr, lr, data, step)
            total = total + weight * adversarial
            losses.update({"adversarial": adversarial.detach(), "adversarial_weight": weight})
        self.optimizer_g.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer_g.step()
        losses.update({"consistency": consistency.detach(), "g_loss": total.detach()})
        return losses

    def export_spec(self) -> GeneratorSpec:
        return self.generator_spec  # super_resolve is the generator alone

    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        return self.generator(lr)
