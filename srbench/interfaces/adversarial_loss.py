"""Adversarial losses: how discriminator outputs become the two players' losses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Mapping

import torch

from ..options import NoOptions


class AdversarialLoss(ABC):
    """The GAN objective (minimax, non-saturating, WGAN, hinge, ...).

    :param options: an instance of :attr:`Options`.
    """

    Options: ClassVar[type] = NoOptions
    #: Critic steps per generator step that the objective's paper prescribes (WGAN: 5).
    n_critic: ClassVar[int] = 1
    #: Bump when a code change alters the objective: trials whose method options name this loss
    #: include its package version and revision in their id.
    revision: ClassVar[int] = 1
    #: Optimizer the objective's paper prescribes: (name, keyword arguments), e.g. WGAN's
    #: ``("rmsprop", {"lr": 5e-5})``; methods use it unless told otherwise.
    recommended_optimizer: ClassVar[tuple[str, Mapping[str, Any]]] = ("adam", {"lr": 1e-4, "betas": (0.9, 0.999)})

    def __init__(self, options: Any = None) -> None:
        self.options = options if options is not None else self.Options()

    @abstractmethod
    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss the discriminator minimises."""

    @abstractmethod
    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss the generator minimises (``real_logits`` is used by relativistic losses)."""

    def penalty(self, critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                fake: torch.Tensor) -> torch.Tensor:
        """Extra discriminator term (gradient penalty); zero by default."""
        return real.new_zeros(())

    def after_discriminator_step(self, discriminator: torch.nn.Module) -> None:
        """Hook after each critic update (WGAN weight clipping); nothing by default."""
