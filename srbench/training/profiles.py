"""Profiles: the budget every method of a run gets, so trials compare like with like.

``smoke`` checks plumbing in seconds, ``quick`` (the default) gives CPU-scale results in
minutes, ``standard`` trains one method on a standard training set (``--dataset sr291``) in
about 10 minutes of one CPU core, ``full`` is paper-scale for a GPU (SRGAN: 96-px HR crops,
batch 16, 1e5+ iterations).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from ..errors import UsageError


@dataclass(frozen=True)
class Profile:
    """Budget and sizes of a trial.

    :param iterations: training steps per trial (every method gets the same number).
    :param batch_size: patches per step.
    :param patch_size: HR patch side in pixels (LR side = patch_size / scale).
    :param patches_per_image: patches pre-extracted from each training image.
    :param network_size: size preset passed to generator/discriminator factories.
    :param checkpoint_every: steps between checkpoints (and at the end).
    :param log_every: steps between loss-log rows.
    :param eval_max_side: test images larger than this (HR side, px) are centre-cropped before
        scoring, to bound CPU evaluation time; ``0`` evaluates whole images.
    :param cpus: CPU cores one trial uses; a distributed executor reserves this many per trial.
        Not part of the trial spec: it changes speed, not results.
    """

    name: str
    iterations: int
    batch_size: int
    patch_size: int
    patches_per_image: int
    network_size: Literal["small", "full"]
    checkpoint_every: int
    log_every: int
    eval_max_side: int = 0
    cpus: int = 1

    def with_overrides(self, **kwargs: object) -> "Profile":
        return replace(self, **kwargs)  # type: ignore[arg-type]


# cpus: what a distributed executor reserves per trial. The small nets of smoke/quick are 40-55 ms
# steps on one core, so a 2-core machine runs two trials side by side rather than one with two
# threads; full keeps 4 cores per GPU trial for the batch pipeline and evaluation.
# Patch 48 px HR at x4 is a 12-px LR input: the smallest that still holds a few 3x3 receptive
# fields after the first conv; 96 px is SRGAN's crop.
PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", iterations=6, batch_size=4, patch_size=48, patches_per_image=4,
                     network_size="small", checkpoint_every=3, log_every=1, eval_max_side=96),
    "quick": Profile("quick", iterations=300, batch_size=16, patch_size=48, patches_per_image=16,
                     network_size="small", checkpoint_every=100, log_every=10, eval_max_side=0),
    # standard: the quick network and crop at 20x quick's steps. The one measurement behind it
    # (before this profile existed): srresnet's quick network on sr291, 48-px crops, batch 16,
    # 2 threads, went on improving from 3000 steps (225 s) to 7000 (414 s); 6000 steps on one
    # thread fit a 10-minute budget per trial, so a 2-core machine runs two trials at a time.
    # 64 crops per image: 291 images give 18.6k distinct patches (96k drawn in 6000 steps).
    # 48 px because T91's smallest image is 78 px a side, below the 96-px crop of ``full``.
    "standard": Profile("standard", iterations=6000, batch_size=16, patch_size=48, patches_per_image=64,
                        network_size="small", checkpoint_every=1000, log_every=50, eval_max_side=0),
    "full": Profile("full", iterations=100_000, batch_size=16, patch_size=96, patches_per_image=200,
                    network_size="full", checkpoint_every=2_000, log_every=100, eval_max_side=0, cpus=4),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``.

    :raises UsageError: listing the accepted names.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown profile {name!r}; accepted: {', '.join(PROFILES)}") from None
