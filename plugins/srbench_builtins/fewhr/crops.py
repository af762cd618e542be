"""Random crops for the few-HR methods, of whole LR images and of batches.

(The crops of a batch that a discriminator sees, one per image at an independent position, so that real
and generated patches are aligned neither with each other nor with the generator's pixel-shuffle grid,
are :func:`srbench.ops.random_crops`.)

* :class:`LRImageCropper` draws crops of any size from the whole LR training images
  (``TrainingData.paired.images["lr"]`` and ``lr_only.images["lr"]``), for methods whose inputs
  must be larger than the stored LR patches (cross-scale learning, real LR measurements).

Randomness comes from torch's global generator, which the core seeds per trial and saves in
every checkpoint, so a resumed trial draws the same crops.
"""

from __future__ import annotations

from typing import Sequence

import torch

from srbench.data.training_data import random_dihedral as random_dihedral_batch
from srbench.errors import IncompatibleError, UsageError


def random_dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each square image of ``x`` flipped/rotated by one of the 8 dihedral maps, drawn per image."""
    return random_dihedral_batch([x], generator)[0]


class LRImageCropper:
    """Random square crops of whole LR images (``uint8`` ``(C, H, W)``, sizes may differ).

    An image is chosen with probability proportional to its area (so every LR pixel is about
    equally likely to be seen), then a crop position uniformly; crops are flipped/rotated at
    random when ``augment``.

    :param images: the whole LR images (paired and LR-only alike: paired LR counts as LR).
    :raises IncompatibleError: when there is no image.
    """

    def __init__(self, images: Sequence[torch.Tensor], augment: bool = True) -> None:
        self.images = [img for img in images if img.numel() > 0]
        if not self.images:
            raise IncompatibleError("no LR training images to crop from (the training split is empty)")
        self.augment = augment
        areas = torch.tensor([float(img.shape[-2] * img.shape[-1]) for img in self.images])
        self.weights = areas / areas.sum()

    @classmethod
    def from_training_data(cls, data: object, augment: bool = True) -> "LRImageCropper":
        """Every whole LR image of ``data`` (a :class:`~srbench.data.training_data.TrainingData`)."""
        images = list(data.paired.images.get("lr", [])) + list(data.lr_only.images.get("lr", []))  # type: ignore[attr-defined]
        return cls(images, augment)

    @property
    def max_size(self) -> int:
        """Largest crop side every image can give (the smallest image side)."""
        return min(min(int(img.shape[-2]), int(img.shape[-1])) for img in self.images)

    def batch(self, batch_size: int, size: int, device: torch.device | None = None,
              generator: torch.Generator | None = None) -> torch.Tensor:
        """``batch_size`` float crops in ``[0, 1]``, ``(B, C, size, size)``.

        :raises UsageError: when ``size`` is larger than :attr:`max_size`.
        """
        if not 1 <= size <= self.max_size:
            raise UsageError(f"LR crop size {size} does not fit the smallest LR training image "
                             f"({self.max_size} px); expected 1 to {self.max_size}")
        picks = torch.multinomial(self.weights, batch_size, replacement=True, generator=generator).tolist()
        crops = []
        for index in picks:
            img = self.images[index]
            h, w = int(img.shape[-2]), int(img.shape[-1])
            y = int(torch.randint(0, h - size + 1, (1,), generator=generator))
            x = int(torch.randint(0, w - size + 1, (1,), generator=generator))
            crops.append(img[:, y:y + size, x:x + size])
        out = torch.stack(crops)
        if self.augment:
            out = random_dihedral(out, generator)
        if device is not None:
            out = out.to(device, non_blocking=True)
        return out.float().div_(255.0)
