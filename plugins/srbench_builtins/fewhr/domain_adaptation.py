"""Domain-adversarial alignment of generator features (Ganin et al. 2016, gradient reversal).

``fewhr`` can align the generator's intermediate features on its two kinds of input: the
paired subset (source domain: the supervised loss fits the generator to it) and the LR-only
subset (target domain). A small domain classifier reads the features pooled over space; its
input passes through a gradient-reversal layer, so one backward pass trains the classifier to
tell the domains apart and the generator to make them indistinguishable (DANN).

ADDA (Tzeng et al., CVPR 2017) is the other option, in two phases of the same loop: source
pre-training (the generator learns from the paired subset as usual), then, at the phase
boundary, the generator's weights are copied into a frozen *source encoder*; from then on the
domain classifier learns to tell the frozen encoder's features of paired LR (source) from the
live generator's features of LR-only images (target), and the generator (the target encoder,
initialised from the source one as in the paper) is trained with the inverted-label GAN loss
``BCE(D(target), source)`` (:func:`adda_classifier_loss`, :func:`adda_encoder_loss`).

Features are read with a forward hook on a named submodule of the generator
(:class:`FeatureHook`). The hook only records while armed (:meth:`FeatureHook.capture`), so
the extra generator calls an adversarial term makes (e.g. on HR pairs) never pollute the
domain batches; with weight-sharing generators that run a submodule several times per
forward (``encdec`` at x4 runs its block twice) only the *first* call is kept: the features
computed from the input LR itself.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from srbench.errors import UsageError
from srbench_builtins.methods.gan_common import frozen


def default_feature_module(generator: nn.Module) -> str:
    """The submodule whose output is aligned, for the built-in generators.

    ``srresnet`` / ``rrdb``: ``body_tail`` (the end of the residual trunk, before upsampling);
    ``encdec``: the deepest encoder level of the first block (the bottleneck).

    :raises UsageError: for another generator (set ``feature_module`` explicitly).
    """
    names = dict(generator.named_modules())
    if "body_tail" in names:
        return "body_tail"
    encoder = names.get("blocks.0.encoder")
    if isinstance(encoder, nn.ModuleList) and len(encoder):
        return f"blocks.0.encoder.{len(encoder) - 1}"
    raise UsageError(f"domain adaptation reads generator features: no default feature module for generator "
                     f"{type(generator).__name__}; set feature_module to "
                     f"one of its submodules, e.g. {', '.join(list(names)[1:4])}")


class FeatureHook:
    """Records the output of ``generator.<name>`` during :meth:`capture` blocks.

    :raises UsageError: when the generator has no submodule called ``name``.
    """

    def __init__(self, generator: nn.Module, name: str) -> None:
        modules = dict(generator.named_modules())
        if not name or name not in modules:
            sample = ", ".join(n for n in list(modules)[1:6])
            raise UsageError(f"invalid feature_module {name!r}: the generator has no such submodule; e.g. {sample}")
        self.name = name
        self._armed = False
        self._captured: torch.Tensor | None = None
        self._handle = modules[name].register_forward_hook(self._record)

    def _record(self, module: nn.Module, inputs: Any, output: Any) -> None:
        if self._armed and self._captured is None:
            self._captured = output[0] if isinstance(output, (tuple, list)) else output

    @contextlib.contextmanager
    def capture(self) -> Iterator["FeatureHook"]:
        """Arm the hook; :attr:`features` holds the first output recorded inside the block."""
        self._captured = None
        self._armed = True
        try:
            yield self
        finally:
            self._armed = False

    @property
    def features(self) -> torch.Tensor:
        """The features recorded by the last :meth:`capture` block (with their graph).

        :raises RuntimeError: when the submodule did not run inside that block.
        """
        if self._captured is None:
            raise RuntimeError(f"feature module {self.name!r} did not run during the capture")
        return self._captured

    def remove(self) -> None:
        self._handle.remove()


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, coefficient: float) -> torch.Tensor:  # type: ignore[override]
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.coefficient * grad, None


def reverse_gradient(x: torch.Tensor, coefficient: float) -> torch.Tensor:
    """Identity forward; the backward multiplies the gradient by ``-coefficient``."""
    return _GradientReversal.apply(x, float(coefficient))


def ganin_coefficient(progress: float, gamma: float = 10.0) -> float:
    """DANN's schedule ``2 / (1 + exp(-gamma p)) - 1``: 0 at the start, ~1 from ~half the budget."""
    p = min(1.0, max(0.0, progress))
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def pool_features(features: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, 2C)``: per-channel mean and standard deviation over space."""
    flat = features.flatten(2).float()
    std = flat.var(dim=2, unbiased=False).add(1e-8).sqrt()
    return torch.cat([flat.mean(dim=2), std], dim=1)


class DomainClassifier(nn.Module):
    """MLP on pooled features -> one logit (1 = LR-only domain)."""

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * channels, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(pool_features(features)).squeeze(1)


def domain_adversarial_loss(classifier: DomainClassifier, source: torch.Tensor, target: torch.Tensor,
                            coefficient: float) -> tuple[torch.Tensor, torch.Tensor]:
    """DANN loss: BCE of the classifier on reversed-gradient features of both domains.

    Minimising it trains ``classifier`` to separate the domains and, through the reversal
    (scaled by ``coefficient``), the feature extractor to confuse it.

    :returns: the loss and the classifier's accuracy (detached).
    """
    if source.shape[1:2] != target.shape[1:2]:
        raise UsageError(f"domain features of {source.shape[1]} and {target.shape[1]} channels; expected the same")
    logits = torch.cat([classifier(reverse_gradient(source, coefficient)),
                        classifier(reverse_gradient(target, coefficient))])
    labels = torch.cat([torch.zeros(source.shape[0]), torch.ones(target.shape[0])]).to(logits)
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    accuracy = ((logits > 0) == (labels > 0.5)).float().mean().detach()
    return loss, accuracy


def adda_classifier_loss(classifier: DomainClassifier, source: torch.Tensor,
                         target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ADDA's classifier loss: BCE, source 0 / target 1, on *detached* features (it trains the classifier only).

    :param source: features of the frozen source encoder; ``target``: of the target encoder.
    :returns: the loss and the classifier's accuracy (detached).
    """
    if source.shape[1:2] != target.shape[1:2]:
        raise UsageError(f"domain features of {source.shape[1]} and {target.shape[1]} channels; expected the same")
    logits = torch.cat([classifier(source.detach()), classifier(target.detach())])
    labels = torch.cat([torch.zeros(source.shape[0]), torch.ones(target.shape[0])]).to(logits)
    accuracy = ((logits > 0) == (labels > 0.5)).float().mean().detach()
    return F.binary_cross_entropy_with_logits(logits, labels), accuracy


def adda_encoder_loss(classifier: DomainClassifier, target: torch.Tensor) -> torch.Tensor:
    """ADDA's inverted-label GAN loss: target features against the *source* label, the classifier frozen
    (it trains the target encoder only)."""
    with frozen(classifier):
        logits = classifier(target)
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


__all__ = ["DomainClassifier", "FeatureHook", "adda_classifier_loss", "adda_encoder_loss", "default_feature_module",
           "domain_adversarial_loss", "ganin_coefficient", "pool_features", "reverse_gradient"]
