"""``kid``: Kernel Inception Distance between SR and HR patches of a test set (lower is better).

Squared MMD with the cubic polynomial kernel, averaged over 100 random subsets of 1000 patch
pairs (the subset size drops to the number of pairs when a test set has fewer), with the
paired-sample estimator of :mod:`.distances` because SR and HR patches are aligned.
"""

from __future__ import annotations

from typing import ClassVar

from .fid import PatchFid


class PatchKid(PatchFid):
    """KID (Inception-v3 features) of aligned 64 px SR patches against HR patches; set-level."""

    name: ClassVar[str] = "kid"
