"""What a method receives for training: the few-HR access contract.

A method sees exactly:

* ``paired``: the paired subset, HR patches with their LR (about ``hr_fraction`` of the images);
* ``lr_only``: the LR-only subset, which holds **no HR at all**: its HR was dropped before
  this object was built, so no attribute, closure or reference chain leads to it; its ids are
  opaque (``"lr-only-00007"``: the 8th LR-only image), so they name no file or dataset entry;
* ``hr_pool``: unpaired HR patches (``--hr-source``) or ``None``;
* ``scale`` and ``degradation`` (assumed known: the distribution, never an image's own draw), and
  ``paired_degradation`` when the paired LR was made by another operator (``--paired-degradation``).

Test images never enter this module. Patches are stored once as ``uint8`` tensors and batches
are drawn with the object's own seeded generator (its state is checkpointed), so data loading
costs an index and a flip, never a decode.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import torch

from ..interfaces.degradation import Degradation


def _to_float(x: torch.Tensor, device: torch.device | None) -> torch.Tensor:
    """uint8 batch -> float in [0, 1] on ``device``. The uint8 batch is what crosses to a GPU (4x
    fewer bytes than float), from pinned memory so the copy is asynchronous."""
    if device is not None and device.type == "cuda":
        x = x.pin_memory().to(device, non_blocking=True)
    elif device is not None:
        x = x.to(device)
    return x.float().div_(255.0)


@functools.lru_cache(maxsize=16)
def _dihedral_maps(height: int, width: int) -> torch.Tensor:
    """Flat-index maps of the 8 flips/rotations of an ``height`` x ``width`` square patch: ``(8, H*W)``."""
    grid = torch.arange(height * width).view(height, width)
    maps = []
    for code in range(8):
        g = grid
        if code & 1:
            g = g.flip(-1)
        if code & 2:
            g = g.flip(-2)
        if code & 4:
            g = g.transpose(-1, -2)
        maps.append(g.reshape(-1))
    return torch.stack(maps)


def random_dihedral(batch: list[torch.Tensor], generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Apply one random flip/rotation per sample, the same to every tensor of the list.

    One ``gather`` per tensor with precomputed index maps: per-sample Python loops cost 10 ms
    per batch of 16 here, this costs well under 1 ms.
    """
    n = batch[0].shape[0]
    codes = torch.randint(0, 8, (n,), generator=generator)
    out = []
    for t in batch:
        h, w = t.shape[-2:]
        if h != w:  # rotations need square patches; fall back to flips only
            codes = codes & 3
        index = _dihedral_maps(h, w)[codes]  # (N, H*W)
        flat = t.reshape(n, t.shape[1], h * w)
        out.append(flat.gather(2, index[:, None, :].expand(-1, t.shape[1], -1)).view_as(t))
    return out


@dataclass
class PatchSet:
    """Pre-extracted patches of one subset. ``tensors`` are ``uint8`` ``(N, C, P, P)``, aligned.

    :param ids: image id of each patch's source image: the dataset's id for paired and HR-pool
        patches, an opaque ``"lr-only-NNNNN"`` for LR-only ones (the split manifest, built by the
        core before this object, keeps the real ids).
    :param images: the whole source images of the subset, same keys as ``tensors``
        (``uint8`` ``(C, H, W)``), for methods that crop their own inputs (cross-scale learning).
    """

    tensors: dict[str, torch.Tensor]
    ids: list[str]
    images: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    generator: torch.Generator = field(default_factory=torch.Generator, repr=False)
    augment: bool = True

    def __len__(self) -> int:
        first = next(iter(self.tensors.values()), None)
        return 0 if first is None else int(first.shape[0])

    @property
    def image_ids(self) -> list[str]:
        """Distinct source image ids, in order of first appearance."""
        return list(dict.fromkeys(self.ids))

    def _sample(self, keys: tuple[str, ...], batch_size: int, device: torch.device | None) -> list[torch.Tensor]:
        if len(self) == 0:
            raise RuntimeError("cannot draw a batch from an empty subset")
        idx = torch.randint(0, len(self), (batch_size,), generator=self.generator)
        batch = [self.tensors[k][idx] for k in keys]
        if self.augment:
            batch = random_dihedral(batch, self.generator)
        return [_to_float(t, device) for t in batch]


class PairedSet(PatchSet):
    """Paired subset: ``tensors`` has ``"lr"`` and ``"hr"``."""

    def batch(self, batch_size: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lr, hr)`` float batches in ``[0, 1]``, randomly flipped/rotated together."""
        lr, hr = self._sample(("lr", "hr"), batch_size, device)
        return lr, hr


class LROnlySet(PatchSet):
    """LR-only subset: ``tensors`` has ``"lr"`` only, by construction."""

    def batch(self, batch_size: int, device: torch.device | None = None) -> torch.Tensor:
        """An LR float batch in ``[0, 1]``."""
        return self._sample(("lr",), batch_size, device)[0]


class HRPool(PatchSet):
    """Unpaired HR patches: ``tensors`` has ``"hr"`` only."""

    def batch(self, batch_size: int, device: torch.device | None = None) -> torch.Tensor:
        """An HR float batch in ``[0, 1]``, drawn independently of any LR batch."""
        return self._sample(("hr",), batch_size, device)[0]


@dataclass
class TrainingData:
    """Everything a method may learn from. See the module docstring for the contract."""

    paired: PairedSet
    lr_only: LROnlySet
    hr_pool: HRPool | None
    scale: int
    degradation: Degradation
    #: What made the paired LR when it is not ``degradation`` (``--paired-degradation``: a domain gap between the
    #: paired and the LR-only images; the test LR follows ``degradation``); None = ``degradation``.
    paired_degradation: Degradation | None = None

    @classmethod
    def empty(cls, scale: int, degradation: Degradation) -> "TrainingData":
        """No training images at all: what training-free methods are set up with by ``srbench eval``."""
        return cls(PairedSet({}, []), LROnlySet({}, []), None, scale, degradation)

    def _sets(self) -> dict[str, PatchSet]:
        sets: dict[str, PatchSet] = {"paired": self.paired, "lr_only": self.lr_only}
        if self.hr_pool is not None:
            sets["hr_pool"] = self.hr_pool
        return sets

    def all_lr(self, batch_size: int, device: torch.device | None = None) -> torch.Tensor:
        """LR batch drawn from both subsets (paired LR counts as LR too), proportionally to size."""
        n_p, n_u = len(self.paired), len(self.lr_only)
        if n_p + n_u == 0:
            raise RuntimeError("no LR training patches")
        k = int(torch.binomial(torch.tensor(float(batch_size)), torch.tensor(n_p / (n_p + n_u)),
                               generator=self.lr_only.generator).item()) if n_p and n_u else (batch_size if n_p else 0)
        parts = []
        if k:
            parts.append(self.paired.batch(k, device)[0])
        if batch_size - k:
            parts.append(self.lr_only.batch(batch_size - k, device))
        return torch.cat(parts)

    def rng_state(self) -> dict[str, Any]:
        """Generator states of every subset, for checkpoints."""
        return {name: s.generator.get_state() for name, s in self._sets().items()}

    def load_rng_state(self, state: dict[str, Any]) -> None:
        for name, s in self._sets().items():
            if name in state:
                s.generator.set_state(state[name].cpu())  # the checkpoint may be loaded onto the GPU
