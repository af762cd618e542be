"""Seeding and RNG state capture, so a resumed trial continues the same random stream."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic(enabled: bool) -> None:
    """cuDNN determinism on/off (the SRGAN report: two identical runs otherwise diverge).

    Off means ``benchmark=True`` autotuning and TF32 matmuls/convolutions, the fast settings on
    GPUs (TF32 rounds inputs to 10 mantissa bits, so two runs differ in the last digits).
    """
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled
    torch.backends.cudnn.allow_tf32 = not enabled
    torch.backends.cuda.matmul.allow_tf32 = not enabled


def capture_rng_state() -> dict[str, Any]:
    """RNG states as tensors and plain values only: loadable with ``weights_only=True``."""
    np_state: Any = np.random.get_state()  # the legacy tuple (typed as tuple | dict)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`capture_rng_state`; its tensors may sit on the GPU (a checkpoint loaded with
    ``map_location="cuda"``), where torch's setters take CPU byte tensors only."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    keys = n["keys"].cpu().numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
