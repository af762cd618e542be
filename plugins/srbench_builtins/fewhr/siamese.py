"""The pairwise-resolution critic: a Siamese network that says which of two images is sharper.

``D(a, b)`` is a logit: ``sigmoid(D(a, b))`` is the probability that ``a`` has the higher
resolution. Both images go through one shared encoder (Siamese, Koch et al. 2015); a comparison
head ``g`` reads the two feature maps side by side, still aligned pixel for pixel (the images
show the same content), and is averaged over space. The critic is antisymmetric by construction::

    D(a, b) = g(E(a), E(b)) - g(E(b), E(a))      so  D(a, b) = -D(b, a)  and  D(a, a) = 0

so the two orders of a pair can never disagree, and "the same image twice" is exactly 50/50.
Inputs are mapped to ``[-1, 1]``; spectral normalisation on every conv is on by default
(Miyato et al. 2018), which bounds how fast the critic's judgement can change.
"""

from __future__ import annotations

import torch
from torch import nn

from srbench.errors import UsageError
from srbench_builtins.networks.common import conv


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class SiameseResolutionCritic(nn.Module):
    """Antisymmetric pairwise critic ``(a, b) -> (B,)`` logits (see the module docstring).

    :param channels: image channels.
    :param features: channels of the first encoder level (doubled by each strided level).
    :param depth: strided (x1/2) encoder levels after the full-resolution stem; the first conv
        keeps full resolution because the difference between the two images sits in the
        highest frequencies.
    :param spectral_norm: spectral normalisation on every conv.
    """

    def __init__(self, channels: int = 3, features: int = 32, depth: int = 2, *, spectral_norm: bool = True) -> None:
        super().__init__()
        if features < 1 or depth < 0:
            raise UsageError(f"invalid critic size features={features}, depth={depth}; expected features >= 1, "
                             "depth >= 0")
        sn = spectral_norm
        layers: list[nn.Module] = [conv(channels, features, 3, spectral_norm=sn), _act()]
        width = features
        for _ in range(depth):
            layers += [conv(width, 2 * width, 4, stride=2, padding=1, spectral_norm=sn), _act()]
            width *= 2
        self.encoder = nn.Sequential(*layers)
        self.compare = nn.Sequential(conv(2 * width, width, 1, spectral_norm=sn), _act(),
                                     conv(width, width, 3, spectral_norm=sn), _act(),
                                     conv(width, 1, 1, spectral_norm=sn))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Shared encoder: ``(B, C, H, W)`` images in ``[0, 1]`` -> feature maps."""
        return self.encoder(x * 2.0 - 1.0)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape != b.shape:
            raise UsageError(f"pairwise critic: images of shapes {tuple(a.shape)} and {tuple(b.shape)}; a pair "
                             "must show the same content at the same size")
        n = a.shape[0]
        features = self.embed(torch.cat([a, b]))
        fa, fb = features[:n], features[n:]
        # Both orders in one call of the head: g(fa, fb) then g(fb, fa).
        scores = self.compare(torch.cat([torch.cat([fa, fb], 1), torch.cat([fb, fa], 1)])).mean(dim=(1, 2, 3))
        return scores[:n] - scores[n:]


__all__ = ["SiameseResolutionCritic"]
