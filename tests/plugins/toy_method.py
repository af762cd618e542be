"""A tiny trainable method for tests of the loop, the runner and the CLI (not a real SR method)."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srbench import hookimpl
from srbench.interfaces import Method
from srbench.options import option


@dataclass(frozen=True)
class ToyOptions:
    lr: float = option(1e-2, "Adam learning rate")
    fail_at: int = option(-1, "raise RuntimeError at this step (-1: never)")
    nan_at: int = option(-1, "return a NaN loss at this step (-1: never)")
    noise: bool = option(True, "add torch-RNG noise to the input, so resumption must restore the RNG")
    crash_at: int = option(-1, "kill this process (SIGKILL) at this step, once: a crashed worker (-1: never)")
    crash_marker: str = option("", "file that records the crash of crash_at, so a resumed trial goes on")


class ToyNet(nn.Module):
    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return up + self.conv(up)


class ToyMethod(Method):
    """Nearest upsampling plus one learned conv; L1 on the paired subset."""

    Options = ToyOptions
    requires_paired = True

    def setup(self, data):
        self.net = ToyNet(self.context.scale).to(self.context.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=self.options.lr)
        self.seen = 0

    def modules(self):
        return {"generator": self.net}

    def optimizers(self):
        return {"g": self.opt}

    def extra_state(self):
        return {"seen": self.seen}

    def load_extra_state(self, state):
        self.seen = int(state["seen"])

    def train_step(self, step, data):
        if step == self.options.fail_at:
            raise RuntimeError(f"toy failure at step {step}")
        if step == self.options.crash_at and not os.path.exists(self.options.crash_marker):
            open(self.options.crash_marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        lr, hr = data.paired.batch(self.context.batch_size, self.context.device)
        if self.options.noise:
            lr = lr + 0.01 * torch.randn_like(lr)
        loss = F.l1_loss(self.net(lr), hr)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.seen += lr.shape[0]
        if step == self.options.nan_at:
            return {"l1": float("nan")}
        return {"l1": loss}

    def super_resolve(self, lr):
        return self.net(lr)


@hookimpl
def srbench_register_methods(methods):
    methods.register("toy", ToyMethod)
