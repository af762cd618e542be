"""Bookkeeping shared by the unpaired terms that train one discriminator (``ambient``, ``unsupervised``)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from srbench_builtins.methods.gan_common import Adversary
from srbench_builtins.methods.replay import ReplayBuffer

from .unpaired_terms import UnpairedTerm


class DiscriminatorTerm(UnpairedTerm):
    """An :class:`UnpairedTerm` whose ``setup`` sets ``self.adversary`` (``None`` when the term has no
    critic, e.g. ambient's consistency-only mode), ``self.replay`` and ``self.trial_notes``; this class
    checkpoints and reports them."""

    adversary: Adversary | None = None
    replay: ReplayBuffer
    trial_notes: list[str]

    @property
    def n_critic(self) -> int:
        """The adversary's (``n_critic`` option, or the objective's); 1 without a critic."""
        return 1 if self.adversary is None else self.adversary.n_critic

    def modules(self) -> Mapping[str, nn.Module]:
        return {} if self.adversary is None else {"discriminator": self.adversary.discriminator}

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return {} if self.adversary is None else {"d": self.adversary.optimizer}

    def extra_state(self) -> dict[str, Any]:
        return {"replay": self.replay.state_dict(), "notes": list(self.trial_notes)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        if "replay" in state:
            self.replay.load_state_dict(state["replay"])

    def notes(self) -> list[str]:
        """One-line remarks about this term's set-up (ignored settings, fallbacks)."""
        return list(self.trial_notes)
