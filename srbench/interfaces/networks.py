"""Generators and discriminators: plain ``torch.nn.Module`` factories.

A generator maps ``(B, C, h, w)`` in ``[0, 1]`` to ``(B, C, h*scale, w*scale)``; a
discriminator maps ``(B, C, H, W)`` to logits (``(B,)`` or ``(B, 1, H', W')`` for patch critics).
Factories take the size preset of the profile (``"small"`` on CPU, ``"full"`` = the paper's),
so one name works at every profile.

A factory may carry an integer ``revision`` attribute (default 1), bumped when a code change
alters the network it builds: a trial whose method options name the factory records its
package version and revision in its id, so results of the old network are not reused.
"""

from __future__ import annotations

from typing import Any, Protocol

from torch import nn


class GeneratorFactory(Protocol):
    def __call__(self, scale: int, channels: int = 3, size: str = "small", **options: Any) -> nn.Module:
        """Build a generator for integer ``scale``; raise ``ValueError`` for an unsupported scale."""


class DiscriminatorFactory(Protocol):
    def __call__(self, channels: int = 3, size: str = "small", **options: Any) -> nn.Module:
        """Build a discriminator that returns raw logits (no sigmoid)."""
