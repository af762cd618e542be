"""The core training loop: budget, checkpoints, exact resumption, divergence, loss log."""

from __future__ import annotations

import json

import pytest
import torch

from srbench.data.training_data import LROnlySet, PairedSet, TrainingData
from srbench.errors import DivergedError
from srbench.interfaces import Degradation, MethodContext
from srbench.options import parse_options
from srbench.registry import Registries
from srbench.training.profiles import get_profile
from srbench.training.seeding import seed_everything
from srbench.training.trainer import CHECKPOINT_NAME, LOSS_LOG_NAME, Trainer, read_loss_log
from plugins.toy_method import ToyMethod


class AvgPool(Degradation):
    def apply(self, hr, params):
        return torch.nn.functional.avg_pool2d(hr, self.scale)


def make_data(seed: int = 0) -> TrainingData:
    g = torch.Generator().manual_seed(123)
    hr = torch.randint(0, 256, (10, 3, 8, 8), generator=g, dtype=torch.uint8)
    lr = torch.nn.functional.avg_pool2d(hr.float(), 2).round().to(torch.uint8)
    paired = PairedSet({"lr": lr, "hr": hr}, [f"img{i}" for i in range(10)], generator=torch.Generator().manual_seed(seed))
    lr_only = LROnlySet({"lr": lr[:3]}, ["a", "b", "c"], generator=torch.Generator().manual_seed(seed + 1))
    return TrainingData(paired, lr_only, None, 2, AvgPool(2))


def make_method(**options) -> ToyMethod:
    ctx = MethodContext(scale=2, degradation=AvgPool(2), device=torch.device("cpu"), profile=get_profile("smoke"),
                        registries=Registries(), seed=0)
    method = ToyMethod(parse_options(ToyMethod.Options, options, "toy"), ctx)
    return method


def train(tmp_path, steps=8, stop_after=None, **options):
    seed_everything(0)
    data = make_data()
    method = make_method(**options)
    method.setup(data)
    trainer = Trainer(method, data, total_steps=steps, trial_dir=tmp_path, checkpoint_every=3, log_every=1,
                      stop_after=stop_after)
    return method, trainer


def test_runs_the_budget_and_logs_every_step(tmp_path):
    method, trainer = train(tmp_path, steps=8)
    outcome = trainer.run()
    assert outcome.steps == 8 and outcome.resumed_from == 0
    rows = read_loss_log(tmp_path / LOSS_LOG_NAME)
    assert [r["step"] for r in rows] == list(range(1, 9))
    assert all("l1" in r and r["l1"] >= 0 for r in rows)
    assert method.seen == 8 * method.context.batch_size
    assert (tmp_path / CHECKPOINT_NAME).exists()


def test_interrupted_run_resumes_to_identical_weights(tmp_path):
    straight_dir, resumed_dir = tmp_path / "a", tmp_path / "b"
    straight_dir.mkdir()
    resumed_dir.mkdir()
    method_a, trainer_a = train(straight_dir, steps=8)
    trainer_a.run()

    _, trainer_b = train(resumed_dir, steps=8, stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        trainer_b.run()
    state = torch.load(resumed_dir / CHECKPOINT_NAME, weights_only=True)
    assert state["step"] == 5
    # A new process: fresh objects, RNG deliberately disturbed; everything must come from the checkpoint.
    torch.manual_seed(999)
    data = make_data(seed=42)
    method_b = make_method()
    method_b.setup(data)
    outcome = Trainer(method_b, data, total_steps=8, trial_dir=resumed_dir, checkpoint_every=3, log_every=1).run()
    assert outcome.resumed_from == 5 and outcome.steps == 8
    for pa, pb in zip(method_a.net.parameters(), method_b.net.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    assert method_b.seen == method_a.seen
    losses_a = [r["l1"] for r in read_loss_log(straight_dir / LOSS_LOG_NAME)]
    losses_b = [r["l1"] for r in read_loss_log(resumed_dir / LOSS_LOG_NAME)]
    assert losses_a == losses_b  # no duplicated or missing rows after the resume


def test_nan_loss_raises_diverged(tmp_path):
    _, trainer = train(tmp_path, steps=8, nan_at=4)
    with pytest.raises(DivergedError, match="l1"):
        trainer.run()


def test_checkpoint_loads_with_weights_only(tmp_path):
    _, trainer = train(tmp_path, steps=3)
    trainer.run()
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)  # raises if anything unsafe was pickled
    assert set(state) >= {"step", "modules", "optimizers", "method", "data_rng", "rng"}
    assert json.dumps(state["method"]) == '{"seen": 12}'


def test_cpu_time_accumulates_across_a_resume_and_is_unknown_after_an_older_checkpoint(tmp_path):
    _, trainer = train(tmp_path, steps=8, stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    before = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["cpu_seconds"]
    assert before > 0
    _, resumed = train(tmp_path, steps=8)
    outcome = resumed.run()
    assert outcome.resumed_from == 5 and outcome.cpu_seconds > before
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["cpu_seconds"] == outcome.cpu_seconds
    # a checkpoint written before CPU time was kept: the total is unknown, not the resumed part alone
    older = tmp_path / "older"
    older.mkdir()
    _, trainer = train(older, steps=8, stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    state = torch.load(older / CHECKPOINT_NAME, weights_only=True)
    del state["cpu_seconds"]
    torch.save(state, older / CHECKPOINT_NAME)
    _, resumed = train(older, steps=8)
    outcome = resumed.run()
    assert outcome.steps == 8 and outcome.cpu_seconds is None


def test_the_methods_notes_are_said_once_when_training_starts_and_again_on_resume(tmp_path):
    class NotedToy(ToyMethod):
        def notes(self):
            return ["content_loss vgg fell back to the l1 pixel loss", "batch norm off for wgan-gp"]

    said: list[str] = []

    def trainer(stop_after=None):
        seed_everything(0)
        data = make_data()
        method = NotedToy(parse_options(ToyMethod.Options, {}, "toy"), make_method().context)
        method.setup(data)
        return Trainer(method, data, total_steps=6, trial_dir=tmp_path, checkpoint_every=2, log_every=1,
                       stop_after=stop_after, log=said.append, label="toy")

    with pytest.raises(KeyboardInterrupt):
        trainer(stop_after=3).run()
    assert said == ["srbench: warning: toy: content_loss vgg fell back to the l1 pixel loss",
                    "srbench: warning: toy: batch norm off for wgan-gp"]  # once, not at every step
    trainer().run()  # the resumed process says them again: its reader did not see the first
    assert said[2:] == said[:2] and len(said) == 4
