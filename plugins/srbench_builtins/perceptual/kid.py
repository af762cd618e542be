"""``kid``: Kernel Inception Distance between SR and HR patches of a test set (lower is better).

Unbiased MMD with a cubic polynomial kernel, averaged over random subsets (torch-fidelity's
defaults: 100 subsets of 1000); the subset size drops to the number of patches when a test set
has fewer, which torch-fidelity would otherwise refuse.
"""

from __future__ import annotations

from typing import ClassVar

from .fid import PatchFid


class PatchKid(PatchFid):
    """KID (torch-fidelity, Inception-v3) of aligned 64 px SR patches against HR patches; set-level."""

    name: ClassVar[str] = "kid"
