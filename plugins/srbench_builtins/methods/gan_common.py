"""Adversarial training pieces shared by the GAN methods (srgan and the few-HR methods).

* :func:`create_adversarial` builds the discriminator, the GAN objective and the critic's
  optimizer from registry names, applying the options every method exposes (one-sided label
  smoothing, spectral norm, batch norm, learning rate);
* :func:`discriminator_step` is one critic update (penalty and ``after_discriminator_step``
  included), :func:`generator_adversarial_loss` the generator's adversarial term;
* :func:`create_generator_optimizer` follows the objective's recommended optimizer;
* :func:`critic_crop_size` is the side of the random crops a discriminator sees (``critic_crop``, validated
  by :func:`check_critic_crop`).

Methods stay in charge of *what* is real and fake (paired HR, an HR pool, degraded SR, ...);
these helpers only know about discriminators and losses.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import torch
from torch import nn

from srbench.errors import UsageError
from srbench.interfaces import AdversarialLoss, GeneratorSpec
from srbench.options import parse_options
from srbench_builtins.losses.common import create_optimizer

if TYPE_CHECKING:
    from srbench.interfaces import MethodContext


def set_requires_grad(modules: nn.Module | Iterable[nn.Module], flag: bool) -> None:
    """Switch gradient tracking of every parameter of ``modules`` on or off."""
    for module in [modules] if isinstance(modules, nn.Module) else modules:
        for parameter in module.parameters():
            parameter.requires_grad_(flag)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Temporarily stop ``module``'s parameters from collecting gradients (each keeps its own flag after).

    Used for the discriminator during a generator step: gradients still flow *through* it to the
    generator, but none is accumulated in (or computed for) its weights.
    """
    flags = [p.requires_grad for p in module.parameters()]
    set_requires_grad(module, False)
    try:
        yield module
    finally:
        for parameter, flag in zip(module.parameters(), flags):
            parameter.requires_grad_(flag)


def _has_option(options_cls: Any, name: str) -> bool:
    return is_dataclass(options_cls) and any(f.name == name for f in fields(options_cls))


def create_adversarial_loss(context: "MethodContext", name: str, real_label: float = 1.0,
                            notes: list[str] | None = None) -> AdversarialLoss:
    """The GAN objective registered as ``name``, with one-sided label smoothing when it has labels.

    :param real_label: target of real images in D's loss (0.9 = one-sided smoothing); losses
        without labels (wgan, hinge, relativistic) ignore it, and a note says so when it is not 1.
    :param notes: list that receives one-line notes about ignored settings.
    """
    cls = context.registries.adversarial_losses.get(name).factory
    values: dict[str, Any] = {}
    if _has_option(cls.Options, "real_label"):
        values["real_label"] = real_label
    elif real_label != 1.0 and notes is not None:
        notes.append(f"real_label {real_label:g} ignored: adversarial loss {name!r} has no labels")
    return cls(parse_options(cls.Options, values, f"options of adversarial loss {name!r}"))


def _factory_options(factory: Any) -> Any:
    return getattr(factory, "Options", None)


def create_discriminator(context: "MethodContext", name: str, *, spectral_norm: bool = False,
                         batch_norm: bool | None = None, notes: list[str] | None = None) -> nn.Module:
    """The discriminator registered as ``name`` at the profile's size, on the trial's device.

    :param spectral_norm: pass ``spectral_norm=True`` (only sent when on, so a third-party
        factory without the option works with it off).
    :param batch_norm: pass ``batch_norm`` when not ``None`` and the factory declares the option;
        otherwise a note says it was ignored.
    """
    entry = context.registries.discriminators.get(name)
    options: dict[str, Any] = {}
    if spectral_norm:
        options["spectral_norm"] = True
    if batch_norm is not None:
        if _has_option(_factory_options(entry.factory), "batch_norm"):
            options["batch_norm"] = batch_norm
        elif notes is not None:
            notes.append(f"batch_norm={batch_norm} ignored: discriminator {name!r} has no batch_norm option")
    net = context.registries.discriminators.create(name, channels=context.channels,
                                                   size=context.profile.network_size, **options)
    return net.to(context.device)


def create_generator(context: "MethodContext", name: str, scale: int | None = None, *,
                     spectral_norm: bool = False, options: dict[str, Any] | None = None) -> nn.Module:
    """The generator registered as ``name`` for ``scale`` (default: the trial's), on the trial's device.

    :param options: factory options (``{"features": 16}``), added to ``spectral_norm``.

    :raises srbench.errors.IncompatibleError: when the generator cannot produce that scale
        (the factory's ``ValueError``), so the trial is recorded as ``incompatible``.
    """
    return build_generator(context, generator_spec(context, name, scale, spectral_norm=spectral_norm,
                                                   options=options))


def build_generator(context: "MethodContext", spec: GeneratorSpec) -> nn.Module:
    """The network ``spec`` describes, on the trial's device.

    :raises srbench.errors.IncompatibleError: when the generator cannot produce that scale
        (the factory's ``ValueError``), so the trial is recorded as ``incompatible``.
    """
    from srbench.errors import IncompatibleError

    try:
        net = spec.build(context.registries)
    except ValueError as exc:
        raise IncompatibleError(f"generator {spec.name!r} cannot run at x{spec.scale}: {exc}") from None
    return net.to(context.device)


def generator_spec(context: "MethodContext", name: str, scale: int | None = None, *,
                   spectral_norm: bool = False, options: dict[str, Any] | None = None) -> GeneratorSpec:
    """What :func:`create_generator` builds, as a spec (a method's :meth:`~srbench.interfaces.Method.export_spec`).

    :param options: factory options (``{"features": 16}``), added to ``spectral_norm`` (only sent when on, so a
        third-party factory without the option works with it off).
    """
    factory_options: dict[str, Any] = {"spectral_norm": True} if spectral_norm else {}
    factory_options.update(options or {})
    return GeneratorSpec(name, context.scale if scale is None else scale, channels=context.channels,
                         size=context.profile.network_size, options=factory_options)


def create_generator_optimizer(parameters: Iterable[nn.Parameter], loss: AdversarialLoss,
                               lr: float | None = None) -> torch.optim.Optimizer:
    """The optimizer ``loss`` recommends (Adam 1e-4 for SRGAN's), with ``lr`` replacing its rate if given."""
    spec = getattr(loss, "recommended_optimizer", ("adam", {"lr": 1e-4}))
    return create_optimizer(parameters, spec, **({"lr": lr} if lr is not None else {}))


@dataclass
class Adversary:
    """A discriminator with its objective and optimizer.

    :param discriminator: maps images to logits.
    :param loss: the GAN objective.
    :param optimizer: the discriminator's optimizer.
    :param n_critic: discriminator updates per generator update.
    """

    discriminator: nn.Module
    loss: AdversarialLoss
    optimizer: torch.optim.Optimizer
    n_critic: int


def create_adversarial(context: "MethodContext", *, discriminator: str, loss: str, real_label: float = 1.0,
                       lr: float | None = None, spectral_norm: bool = False, batch_norm: bool | None = None,
                       n_critic: int | None = None, notes: list[str] | None = None) -> Adversary:
    """Build an :class:`Adversary` from registry names.

    :param lr: discriminator learning rate; ``None`` keeps the loss's recommended one.
    :param batch_norm: ``None`` keeps the discriminator's default, except that objectives with a
        per-sample gradient penalty (``wgan-gp``) get ``batch_norm=False`` (batch norm mixes the
        samples the penalty treats one by one) when the discriminator has the option.
    :param n_critic: critic steps per generator step; ``None`` takes the loss's ``n_critic``.
    """
    objective = create_adversarial_loss(context, loss, real_label, notes)
    if batch_norm is None and type(objective).penalty is not AdversarialLoss.penalty:
        entry = context.registries.discriminators.get(discriminator)
        if _has_option(_factory_options(entry.factory), "batch_norm"):
            batch_norm = False
            if notes is not None:
                notes.append(f"discriminator batch norm turned off: {loss!r} has a per-sample gradient penalty")
    net = create_discriminator(context, discriminator, spectral_norm=spectral_norm, batch_norm=batch_norm,
                               notes=notes)
    spec = getattr(objective, "recommended_optimizer", ("adam", {"lr": 1e-4}))
    optimizer = create_optimizer(net.parameters(), spec, **({"lr": lr} if lr is not None else {}))
    critic_steps = int(objective.n_critic if n_critic is None else n_critic)
    if critic_steps < 1:
        raise UsageError(f"invalid n_critic {critic_steps}; expected a positive integer")
    return Adversary(net, objective, optimizer, critic_steps)


def discriminator_step(adversary: Adversary, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """One critic update: D's loss on ``real`` vs ``fake`` (detached) plus the loss's penalty.

    Calls ``loss.after_discriminator_step`` (WGAN clipping) after the optimizer step.

    :returns: detached scalars ``d_loss`` (penalty included), ``d_penalty``, ``d_real`` and
        ``d_fake`` (mean logits).
    """
    d, loss = adversary.discriminator, adversary.loss
    fake = fake.detach()
    real_logits = d(real)
    fake_logits = d(fake)
    penalty = loss.penalty(d, real, fake)
    total = loss.discriminator_loss(real_logits, fake_logits) + penalty
    adversary.optimizer.zero_grad(set_to_none=True)
    total.backward()
    adversary.optimizer.step()
    loss.after_discriminator_step(d)
    return {"d_loss": total.detach(), "d_penalty": penalty.detach(),
            "d_real": real_logits.detach().mean(), "d_fake": fake_logits.detach().mean()}


def generator_adversarial_loss(adversary: Adversary, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial term for ``fake`` (keeps its graph); D's weights get no gradient.

    ``real`` logits are computed without a graph: only relativistic objectives use them, and
    D(real) does not depend on the generator.
    """
    d = adversary.discriminator
    with frozen(d):
        with torch.no_grad():
            real_logits = d(real)
        fake_logits = d(fake)
    return adversary.loss.generator_loss(real_logits, fake_logits)


def check_critic_crop(value: int) -> None:
    """Validate a ``critic_crop`` option (for an options ``__post_init__``).

    :raises ValueError: below -1.
    """
    if value < -1:
        raise ValueError(f"invalid critic_crop {value}; expected -1 (whole), 0 (auto) or a side in px")


def critic_crop_size(requested: int, side: int, scale: int) -> int:
    """The crop side D sees for patches of ``side`` px: ``requested``, or the automatic choice.

    ``0`` gives ``side - scale`` (at least half the patch); ``-1`` the whole patch.
    :raises UsageError: when ``requested`` is larger than the patch.
    """
    if requested == -1:
        return side
    if requested == 0:
        return max(side - scale, (side + 1) // 2)
    if requested > side:
        raise UsageError(f"critic_crop {requested} px is larger than the {side}-px training patches; "
                         f"expected at most {side} (or 0 = auto, -1 = whole)")
    return requested
