"""Built-in run-time defaults, behind ``firstresult`` hooks so any plugin can override them."""

from __future__ import annotations

import torch

from srbench.errors import UsageError
from srbench.hookspecs import hookimpl


@hookimpl(trylast=True)
def srbench_resolve_device(requested: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``/``cuda[:N]`` as given, checked."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cpu":
        return torch.device("cpu")
    if requested == "cuda" or requested.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {requested}: CUDA is not available on this machine; use --device cpu or auto")
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise UsageError(f"--device {requested!r}: expected auto, cpu, cuda or cuda:N") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {requested}: only {torch.cuda.device_count()} CUDA device(s) visible")
        return device
    raise UsageError(f"--device {requested!r}: expected auto, cpu, cuda or cuda:N")
