"""Pieces shared by the built-in adversarial losses: label options, BCE on logits, optimizers.

Every loss reduces logits with a plain mean over all elements, so the same loss works for
image-level ``(B,)`` / ``(B, 1)`` logits and for patch or per-pixel ``(B, 1, H, W)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import torch
import torch.nn.functional as F

from srbench.errors import UsageError
from srbench.options import option

#: ``(optimizer name, keyword arguments)``, e.g. ``("adam", {"lr": 1e-4, "betas": (0.9, 0.999)})``.
OptimizerSpec = tuple[str, Mapping[str, Any]]

#: SRGAN's and ESRGAN's optimizer (Adam, lr 1e-4, default betas): the default of the built-in losses.
SRGAN_ADAM: OptimizerSpec = ("adam", {"lr": 1e-4, "betas": (0.9, 0.999)})

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}


def create_optimizer(params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]], spec: OptimizerSpec,
                     **overrides: Any) -> torch.optim.Optimizer:
    """Build the optimizer a loss recommends: ``create_optimizer(d.parameters(), loss.recommended_optimizer)``.

    :param spec: ``(name, kwargs)``; name is one of :data:`OPTIMIZERS`.
    :param overrides: keyword arguments that replace the spec's (e.g. ``lr=2e-4``).
    :raises UsageError: for an unknown optimizer name.
    """
    name, kwargs = spec
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise UsageError(f"unknown optimizer {name!r}; accepted: {', '.join(OPTIMIZERS)}") from None
    return cls(params, **{**dict(kwargs), **overrides})


@dataclass(frozen=True)
class LabelSmoothingOptions:
    """Options of the cross-entropy losses (``minimax``, ``nonsaturating``)."""

    real_label: float = option(1.0, "target of real images in the discriminator loss; 0.9 = one-sided label "
                                    "smoothing (Salimans et al. 2016, used by the SRGAN report)")

    def __post_init__(self) -> None:
        if not 0.0 < self.real_label <= 1.0:
            raise ValueError(f"invalid real_label {self.real_label!r}; expected a value in (0, 1]")


def bce_with_target(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy of ``logits`` against the constant label ``target``."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
