"""Experience replay for discriminators: a buffer of past generated images.

SRGAN report (2019), III.1: "save old generated images and show them again to D in later
epochs, so that D does not overfit the generator's current state". The buffer follows
Shrivastava et al. (SimGAN, 2017): it fills first-in first, then each new image overwrites a
random slot, so some images stay for long; a share of every fake batch shown to D is drawn
from it.

Draws use the buffer's own seeded generator, and :meth:`ReplayBuffer.state_dict` holds the
images, the fill level and that generator's state, so a resumed trial draws the same images.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from srbench.errors import UsageError


class ReplayBuffer:
    """Up to ``capacity`` past fake images, all of one shape.

    :param capacity: images kept; 0 disables the buffer (:meth:`mix` returns its input).
    :param seed: seed of the buffer's generator (slots to overwrite, images to draw).
    """

    def __init__(self, capacity: int, seed: int = 0) -> None:
        if capacity < 0:
            raise UsageError(f"invalid replay buffer capacity {capacity}; expected 0 (off) or more images")
        self.capacity = int(capacity)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.images: torch.Tensor | None = None  # (capacity, C, H, W), allocated on the first push
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def clear(self) -> None:
        """Forget every image (e.g. when the generator's output size changes)."""
        self.images = None
        self.size = 0

    def push(self, batch: torch.Tensor) -> None:
        """Store (detached copies of) the images of ``batch`` ``(B, C, H, W)``.

        :raises UsageError: when their shape differs from the stored images' (call :meth:`clear`).
        """
        if not self.enabled or batch.shape[0] == 0:
            return
        batch = batch.detach()
        if self.images is None:
            self.images = batch.new_empty((self.capacity, *batch.shape[1:]))
        elif self.images.shape[1:] != batch.shape[1:]:
            raise UsageError(f"replay buffer holds images of shape {tuple(self.images.shape[1:])}, got "
                             f"{tuple(batch.shape[1:])}; clear() it when the image size changes")
        batch = batch.to(self.images.device, self.images.dtype)
        free = min(self.capacity - self.size, batch.shape[0])
        if free:
            self.images[self.size:self.size + free] = batch[:free]
            self.size += free
        rest = batch[free:]
        if rest.shape[0]:
            # Full: overwrite random slots (distinct within this push, so no new image is lost at once).
            slots = torch.randperm(self.capacity, generator=self.generator)[: rest.shape[0]]
            rest = rest[: slots.numel()]
            self.images[slots.to(self.images.device)] = rest

    def sample(self, count: int) -> torch.Tensor:
        """``count`` stored images drawn uniformly with replacement.

        :raises UsageError: when the buffer is empty.
        """
        if self.images is None or self.size == 0:
            raise UsageError("cannot sample from an empty replay buffer")
        idx = torch.randint(0, self.size, (count,), generator=self.generator)
        return self.images[idx.to(self.images.device)]

    def mix(self, fake: torch.Tensor, fraction: float) -> torch.Tensor:
        """The fake batch to show the discriminator, then remember ``fake``.

        The last ``round(fraction * B)`` images of ``fake`` are replaced by stored ones (fewer
        while the buffer holds fewer images; none when it is empty or off); afterwards every image
        of ``fake`` is pushed. ``fake`` itself is not modified.

        :param fake: the generator's current output ``(B, C, H, W)`` (detached by the caller or here).
        :param fraction: share of the batch taken from the buffer, in ``[0, 1]``.
        """
        fake = fake.detach()
        if not self.enabled:
            return fake
        count = min(int(round(fraction * fake.shape[0])), self.size)
        out = fake
        if count > 0:
            out = torch.cat([fake[: fake.shape[0] - count], self.sample(count).to(fake.device, fake.dtype)])
        self.push(fake)
        return out

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Tensors and ints only (checkpoints load with ``weights_only=True``)."""
        images = self.images[: self.size].clone() if self.images is not None else torch.empty(0)
        return {"capacity": self.capacity, "size": self.size, "images": images,
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (the stored images keep the device they were loaded on)."""
        if int(state["capacity"]) != self.capacity:
            raise UsageError(f"replay buffer checkpoint holds capacity {state['capacity']}, this buffer has "
                             f"{self.capacity}")
        self.generator.set_state(state["generator"].cpu())  # a checkpoint loaded onto the GPU
        self.size = int(state["size"])
        stored: torch.Tensor = state["images"]
        if self.size == 0:
            self.images = None
            return
        self.images = stored.new_empty((self.capacity, *stored.shape[1:]))
        self.images[: self.size] = stored
