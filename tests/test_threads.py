"""torch never runs more intra-op threads than the CPUs this process may use."""

from __future__ import annotations

import os

import torch

from srbench.training import threads


def test_available_cpus_follows_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert threads.available_cpus() == 1


def test_limit_lowers_but_never_raises_the_thread_count(monkeypatch):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(4)
        monkeypatch.setattr(threads, "available_cpus", lambda: 2)
        assert threads.limit_torch_threads() == 2
        torch.set_num_threads(1)
        assert threads.limit_torch_threads() == 1  # a user's lower setting is kept
    finally:
        torch.set_num_threads(before)


def test_the_runner_applies_the_limit(monkeypatch, tmp_path):
    from srbench.api import run
    from srbench.config import RunConfig

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(8)
        monkeypatch.setattr(threads, "available_cpus", lambda: 1)
        run(RunConfig(methods=["bicubic"], dataset="synthetic", profile="smoke", scale=2, out=str(tmp_path)),
            progress=False)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
