"""Harness overhead: a training step through srbench's loop vs a bare PyTorch loop, same model and batch size.

Target: at most 5% slower. Both loops draw the same batches (``data.paired.batch``: seeded index,
flips/rotations, uint8 to float; its own cost is checked in ``test_bench_data.py``); the harness
adds the method call, a finiteness check of the losses (one ``.item()`` per loss), the loss log
and the progress callback. Checkpoints are excluded (every 10^6 steps): their cost is the user's
choice of ``checkpoint_every``.
CPU time (``process_time``) is compared, best of several rounds, so other processes on the
machine do not decide the verdict. One torch thread: with two threads on a loaded 2-core machine
OpenMP spin-waits dominate small ops (a 0.2 ms batch draw took 30 ms), which measures the
machine, not the harness.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from srbench.data.training_data import LROnlySet, PairedSet, TrainingData
from srbench.interfaces import Degradation, Method, MethodContext
from srbench.registry import Registries
from srbench.training.profiles import PROFILES
from srbench.training.trainer import Trainer

SCALE, BATCH, STEPS, ROUNDS = 4, 16, 30, 5


class AvgPool(Degradation):
    def apply(self, hr, params):
        return F.avg_pool2d(hr, self.scale)


def make_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(32, 3 * SCALE * SCALE, 3, padding=1), nn.PixelShuffle(SCALE))


class L1Method(Method):
    def setup(self, data):
        self.net = make_net()
        self.opt = torch.optim.Adam(self.net.parameters(), 1e-4)

    def modules(self):
        return {"generator": self.net}

    def optimizers(self):
        return {"g": self.opt}

    def train_step(self, step, data):
        lr, hr = data.paired.batch(BATCH)
        loss = F.l1_loss(self.net(lr), hr)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"l1": loss}

    def super_resolve(self, lr):
        return self.net(lr)


def make_data() -> TrainingData:
    g = torch.Generator().manual_seed(0)
    hr = torch.randint(0, 256, (256, 3, 48, 48), generator=g, dtype=torch.uint8)
    lr = F.avg_pool2d(hr.float(), SCALE).round().to(torch.uint8)
    return TrainingData(PairedSet({"lr": lr, "hr": hr}, ["x"] * 256), LROnlySet({}, []), None, SCALE, AvgPool(SCALE))


def bare_loop(data: TrainingData) -> float:
    net = make_net()
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    t0 = time.process_time()
    for _ in range(STEPS):
        lr, hr = data.paired.batch(BATCH)  # same batches: the data draw is benchmarked in test_bench_data
        loss = F.l1_loss(net(lr), hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.process_time() - t0


def harness_loop(data: TrainingData, tmp_path) -> float:
    ctx = MethodContext(SCALE, AvgPool(SCALE), torch.device("cpu"), PROFILES["quick"], Registries(), 0)
    method = L1Method(None, ctx)
    method.setup(data)
    trainer = Trainer(method, data, total_steps=STEPS, trial_dir=tmp_path, checkpoint_every=10**6,
                      log_every=10, progress=lambda *a: None)
    (tmp_path / "checkpoint.pt").unlink(missing_ok=True)
    (tmp_path / "losses.jsonl").unlink(missing_ok=True)
    t0 = time.process_time()
    trainer.run()
    return time.process_time() - t0 - _final_checkpoint_cost(trainer, tmp_path)


def _final_checkpoint_cost(trainer: Trainer, tmp_path) -> float:
    t0 = time.process_time()
    trainer.save_checkpoint(STEPS, 0.0)  # run() writes one at the end; subtract its cost
    return time.process_time() - t0


def test_harness_overhead_at_most_5_percent(benchmark, tmp_path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _compare(benchmark, tmp_path)
    finally:
        torch.set_num_threads(threads)


def _compare(benchmark, tmp_path) -> None:
    data = make_data()
    bare_loop(data)  # warm-up (allocator, kernels)
    bare = min(bare_loop(data) for _ in range(ROUNDS))
    harness = min(harness_loop(data, tmp_path) for _ in range(ROUNDS))
    benchmark.extra_info.update({"bare_s": bare, "harness_s": harness, "overhead": harness / bare - 1})
    benchmark.pedantic(lambda: harness_loop(data, tmp_path), rounds=1, iterations=1)
    assert harness <= 1.05 * bare, f"harness {harness:.3f}s vs bare {bare:.3f}s CPU for {STEPS} steps"
