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

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from torch import nn

if TYPE_CHECKING:
    from ..registry import Registries


class GeneratorFactory(Protocol):
    def __call__(self, scale: int, channels: int = 3, size: str = "small", **options: Any) -> nn.Module:
        """Build a generator for integer ``scale``; raise ``ValueError`` for an unsupported scale."""


class DiscriminatorFactory(Protocol):
    def __call__(self, channels: int = 3, size: str = "small", **options: Any) -> nn.Module:
        """Build a discriminator that returns raw logits (no sigmoid)."""


@dataclass(frozen=True)
class GeneratorSpec:
    """A registered generator and its arguments: what rebuilds a trained method's network without the method.

    ``registries.generators.create(name, scale, channels=channels, size=size, **options)`` builds it;
    the weights of the method's module ``module`` load into it. ``srbench export`` writes this as JSON.

    :param name: the generator's registered name (``srbench list generators``).
    :param scale: the factor it was built for.
    :param channels: image channels.
    :param size: the size preset (the profile's ``network_size``).
    :param options: the factory's keyword options (JSON values only).
    :param module: the key in :meth:`Method.modules` holding its weights.
    """

    name: str
    scale: int
    channels: int = 3
    size: str = "small"
    options: dict[str, Any] = field(default_factory=dict)
    module: str = "generator"

    def build(self, registries: "Registries") -> nn.Module:
        """The untrained network (a factory's ``ValueError`` for an unsupported scale passes through)."""
        return registries.generators.create(self.name, self.scale, channels=self.channels, size=self.size,
                                            **self.options)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
