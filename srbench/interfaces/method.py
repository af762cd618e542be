"""Training strategies ("methods"): what differs between bicubic, SRGAN, AmbientGAN, ...

The core owns the one training loop (:class:`srbench.training.trainer.Trainer`): budget,
seeding, checkpoints, logging, divergence checks and progress. A method only supplies its
networks and optimizers, the state to save, and one :meth:`Method.train_step` that returns its
losses. A training-free method (bicubic) sets :attr:`Method.trainable` to ``False``.

Life cycle, driven by the core::

    method = MethodClass(options, context)
    method.setup(training_data)           # build networks/optimizers; may raise IncompatibleError
    [checkpoint restored here when resuming]
    for step in range(start, context.total_steps):
        losses = method.train_step(step, training_data)
    sr = method.super_resolve(lr)         # under torch.no_grad(), networks in eval mode
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import torch
from torch import nn

from ..options import NoOptions

if TYPE_CHECKING:
    from ..data.training_data import TrainingData
    from ..registry import ComponentsView, Registries
    from ..training.profiles import Profile
    from .degradation import Degradation
    from .networks import GeneratorSpec


@dataclass
class MethodContext:
    """What the core tells a method about the trial it runs in.

    :param scale: SR factor.
    :param degradation: the operator assumed known (same as ``TrainingData.degradation``).
    :param device: where to put networks and batches.
    :param profile: budget and size preset (``profile.network_size`` for factories).
    :param registries: to build shared components by name: generators, discriminators,
        adversarial losses and degradations only (a read-only
        :class:`~srbench.registry.ComponentsView`; a full ``Registries`` given here is replaced by
        its view). Datasets are not reachable from a method: see the access contract in
        docs/writing_a_plugin.md.
    :param seed: the trial's seed (the core has already seeded torch, numpy and random with it).
    :param channels: image channels the networks must handle (3: grayscale inputs are replicated).
    """

    scale: int
    degradation: "Degradation"
    device: torch.device
    profile: "Profile"
    registries: "ComponentsView | Registries"
    seed: int
    channels: int = 3
    amp: bool = False

    def __post_init__(self) -> None:
        from ..registry import ComponentsView

        self.registries = ComponentsView.of(self.registries)

    def autocast(self) -> "contextlib.AbstractContextManager[Any]":
        """bfloat16 autocast on CUDA when ``--amp`` is on, else a no-op (the core wraps every
        ``train_step`` and ``super_resolve`` in it; a method may use it for its own extra passes)."""
        enabled = self.amp and self.device.type == "cuda"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    @property
    def total_steps(self) -> int:
        """Training iterations of this trial (the profile's budget)."""
        return self.profile.iterations

    @property
    def batch_size(self) -> int:
        return self.profile.batch_size


class Method(ABC):
    """Base class of every training strategy.

    :param options: an instance of :attr:`Options` (parsed from ``--set``/config by the core).
    :param context: the trial's :class:`MethodContext`.
    """

    #: Option dataclass; every field is settable with ``--set NAME.FIELD=VALUE``.
    Options: ClassVar[type] = NoOptions
    #: False for methods without training (bicubic): the core skips the loop.
    trainable: ClassVar[bool] = True
    #: The method needs at least one paired (HR, LR) training image; at hr_fraction 0 the
    #: runner marks it ``incompatible`` instead of running it.
    requires_paired: ClassVar[bool] = False
    #: The method needs an unpaired HR pool (``--hr-source``).
    requires_hr_pool: ClassVar[bool] = False
    #: Option values that replace the declared defaults of :attr:`Options` when the run's profile has
    #: that name (``{"standard": {"adversarial_weight": 1e-4}}``); a ``--set`` value still wins. For a
    #: default chosen at one budget that does not hold at another; docs/methods.md names the validation
    #: run behind each. Trial specs record the resolved values, so results stay reproducible.
    profile_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    @classmethod
    def defaults_under(cls, profile: str) -> Mapping[str, Any]:
        """The option values :attr:`profile_defaults` sets under ``profile`` (empty when it sets none)."""
        return cls.profile_defaults.get(profile, {})
    #: Bump when a code change alters what the method computes without changing an option: trial
    #: ids include it (with the plugin's package version), so older results are not reused.
    revision: ClassVar[int] = 1
    #: Which row of a leaderboard table the others are compared with (paired differences): the
    #: row of the method with the highest priority present; ``None``: never chosen by default.
    #: ``--reference METHOD`` overrides it.
    leaderboard_reference_priority: ClassVar[int | None] = None
    #: The floor every method must beat: metrics' :class:`~srbench.interfaces.metric.Check` with
    #: ``beat_floor`` flag rows that do not beat this method's row.
    leaderboard_floor: ClassVar[bool] = False
    #: The option values that switch the method's distinctive term off (``{"adversarial_weight": 0.0}``):
    #: the leaderboard compares each row of the method with the row, in the same table, whose options
    #: are its own with these applied, so a term's effect is shown against its own ablation.
    ablation: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, options: Any, context: MethodContext) -> None:
        self.options = options if options is not None else self.Options()
        self.context = context

    @classmethod
    def check_options(cls, options: Any, context: MethodContext) -> None:
        """Refuse options this run cannot serve, before any trial of the run trains.

        The runner calls it once per method while planning, with the run's scale, degradation,
        profile and registries on the CPU (no training data yet). Raise
        :class:`srbench.errors.UsageError` (one line, exit status 2); the default accepts everything.
        """

    def setup(self, data: "TrainingData") -> None:
        """Build networks and optimizers for ``data``.

        :raises srbench.errors.IncompatibleError: when the regime cannot be handled (the trial is
            recorded as ``incompatible`` with the message).
        """

    def modules(self) -> Mapping[str, nn.Module]:
        """Networks to checkpoint, count parameters of, and switch between train/eval."""
        return {}

    def inference_modules(self) -> Mapping[str, nn.Module]:
        """Networks used by :meth:`super_resolve` (their parameters are the reported ``params``).

        Default: the module named ``"generator"`` if there is one, else every module.
        """
        mods = dict(self.modules())
        return {"generator": mods["generator"]} if "generator" in mods else mods

    def export_spec(self) -> "GeneratorSpec | None":
        """The registered generator that :meth:`super_resolve` is, for ``srbench export``; ``None``: not exportable.

        Return a spec only when ``super_resolve(lr)`` is exactly ``spec.build(...)(lr)`` with the
        weights of ``modules()[spec.module]`` (nothing before or after the network: no iterated
        passes, no resize). Export checks that on a random input and refuses, in one line, otherwise.
        Default: ``None`` (the method cannot be exported).
        """
        return None

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        """Optimizers (and anything with ``state_dict``/``load_state_dict``, e.g. schedulers) to checkpoint."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        """Method state beyond modules and optimizers (replay buffers, phase counters).

        Must contain only tensors, numbers, strings, lists, tuples and dicts: checkpoints are
        loaded with ``weights_only=True``.
        """
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

    def notes(self) -> list[str]:
        """One-line remarks for the result (e.g. "VGG19 weights absent: pixel content loss used").

        Written to ``result.json`` under ``notes`` and shown in the report; the trainer also says each one
        line when training starts or resumes (``srbench: warning: METHOD: NOTE``), so a method need not warn
        itself. Empty by default.
        """
        return []

    def train_step(self, step: int, data: "TrainingData") -> Mapping[str, float | torch.Tensor]:
        """One optimisation step; draws its batches from ``data``.

        :param step: 0-based iteration index, ``< context.total_steps``.
        :returns: named scalar losses (logged; NaN/inf stops the trial as diverged).
        """
        raise NotImplementedError(f"{type(self).__name__} is trainable but has no train_step")

    @abstractmethod
    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        """Upscale a batch ``(B, C, h, w)`` in ``[0, 1]`` to ``(B, C, h*scale, w*scale)``.

        Called under ``torch.no_grad()`` with modules in eval mode; the core clamps and rounds.
        """
