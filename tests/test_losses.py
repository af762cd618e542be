"""Adversarial losses of every registered name: direction, gradients, shapes, and per-loss behaviour."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from srbench.errors import UsageError
from srbench.interfaces import AdversarialLoss
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins

REGISTRIES = load_plugins().registries
LOSSES = REGISTRIES.adversarial_losses.names()
#: Logit shapes every loss must accept: image-level, image-level with a channel, per patch/pixel.
SHAPES = [(4,), (4, 1), (4, 1, 3, 5)]
#: Critic steps per generator step prescribed by the papers (WGAN, WGAN-GP: 5).
EXPECTED_N_CRITIC = {"wgan": 5, "wgan-gp": 5, "minimax": 1, "nonsaturating": 1, "hinge": 1, "relativistic": 1}


def make_loss(name: str, **options: object) -> AdversarialLoss:
    cls = REGISTRIES.adversarial_losses.get(name).factory
    return cls(parse_options(cls.Options, options, f"loss {name}"))


def test_builtin_losses_are_registered() -> None:
    assert set(EXPECTED_N_CRITIC) <= set(LOSSES)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", LOSSES)
def test_discriminator_loss_rewards_telling_real_from_fake(name: str, shape: tuple[int, ...]) -> None:
    loss = make_loss(name)
    high, low = torch.full(shape, 3.0), torch.full(shape, -3.0)
    good = loss.discriminator_loss(real_logits=high, fake_logits=low)
    bad = loss.discriminator_loss(real_logits=low, fake_logits=high)
    assert good.dim() == 0 and bad.dim() == 0
    assert good < bad


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", LOSSES)
def test_generator_loss_rewards_fooling_the_discriminator(name: str, shape: tuple[int, ...]) -> None:
    loss = make_loss(name)
    real = torch.randn(shape)
    fooled = loss.generator_loss(real_logits=real, fake_logits=torch.full(shape, 3.0))
    caught = loss.generator_loss(real_logits=real, fake_logits=torch.full(shape, -3.0))
    assert fooled.dim() == 0
    assert fooled < caught


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", LOSSES)
def test_gradients_flow_to_the_logits(name: str, shape: tuple[int, ...]) -> None:
    loss = make_loss(name)
    torch.manual_seed(0)
    real = torch.randn(shape, requires_grad=True)
    fake = torch.randn(shape, requires_grad=True)
    loss.discriminator_loss(real, fake).backward()
    for grad in (real.grad, fake.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert (real.grad <= 0).all() and (fake.grad >= 0).all()  # D pushes real up, fake down

    fake.grad = None
    loss.generator_loss(real.detach(), fake).backward()
    assert fake.grad is not None and torch.isfinite(fake.grad).all() and (fake.grad <= 0).all()
    assert fake.grad.abs().sum() > 0


@pytest.mark.parametrize("name", LOSSES)
def test_n_critic_and_recommended_optimizer(name: str) -> None:
    from srbench_builtins.losses.common import create_optimizer

    cls = REGISTRIES.adversarial_losses.get(name).factory
    if name in EXPECTED_N_CRITIC:
        assert cls.n_critic == EXPECTED_N_CRITIC[name]
    optimizer_name, kwargs = cls.recommended_optimizer
    optimizer = create_optimizer(nn.Linear(2, 1).parameters(), cls.recommended_optimizer)
    assert type(optimizer).__name__.lower() == optimizer_name
    assert optimizer.defaults["lr"] == kwargs["lr"]


def test_recommended_optimizers_follow_the_papers() -> None:
    get = REGISTRIES.adversarial_losses.get
    assert get("wgan").factory.recommended_optimizer == ("rmsprop", {"lr": 5e-5})
    assert get("wgan-gp").factory.recommended_optimizer == ("adam", {"lr": 1e-4, "betas": (0.0, 0.9)})
    assert get("nonsaturating").factory.recommended_optimizer == ("adam", {"lr": 1e-4, "betas": (0.9, 0.999)})


def test_create_optimizer_overrides_and_rejects_unknown_names() -> None:
    from srbench_builtins.losses.common import create_optimizer

    params = list(nn.Linear(2, 1).parameters())
    assert create_optimizer(params, ("adam", {"lr": 1e-4}), lr=3e-4).defaults["lr"] == 3e-4
    with pytest.raises(UsageError, match="'lbfgs'"):
        create_optimizer(params, ("lbfgs", {"lr": 1.0}))


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_label_smoothing_moves_the_real_target_to_0_9(name: str) -> None:
    at_0_9 = torch.full((8,), math.log(0.9 / 0.1), requires_grad=True)  # sigmoid(logit) = 0.9
    fake = torch.zeros(8)
    make_loss(name, real_label=0.9).discriminator_loss(at_0_9, fake).backward()
    assert at_0_9.grad.abs().max() < 1e-6  # the optimum for real logits is D = 0.9
    at_0_9.grad = None
    make_loss(name).discriminator_loss(at_0_9, fake).backward()
    assert (at_0_9.grad < -1e-3).all()  # unsmoothed: still pushed towards D = 1
    # Smoothing applies to real labels of D only: fake term and G loss are unchanged.
    logits = torch.randn(8)
    smoothed, plain = make_loss(name, real_label=0.9), make_loss(name)
    torch.testing.assert_close(smoothed.generator_loss(logits, logits), plain.generator_loss(logits, logits))
    with pytest.raises(UsageError, match="real_label"):
        make_loss(name, real_label="1.5")


def test_wgan_clips_every_discriminator_parameter() -> None:
    torch.manual_seed(0)
    discriminator = REGISTRIES.discriminators.create("srgan")
    with torch.no_grad():
        for parameter in discriminator.parameters():
            parameter.normal_(0.0, 1.0)
    buffers = {k: v.clone() for k, v in discriminator.named_buffers()}
    make_loss("wgan").after_discriminator_step(discriminator)
    for parameter in discriminator.parameters():
        assert parameter.abs().max() <= 0.01
    assert max(p.abs().max().item() for p in discriminator.parameters()) == pytest.approx(0.01)
    for key, value in discriminator.named_buffers():
        assert torch.equal(value, buffers[key])  # running statistics are not parameters
    make_loss("wgan", clip=0.5).after_discriminator_step(discriminator)  # a looser clip is a no-op now
    assert max(p.abs().max().item() for p in discriminator.parameters()) == pytest.approx(0.01)


@pytest.mark.parametrize("name", [n for n in LOSSES if n not in ("wgan",)])
def test_other_losses_leave_the_discriminator_alone(name: str) -> None:
    linear = nn.Linear(3, 1)
    with torch.no_grad():
        linear.weight.fill_(5.0)
    make_loss(name).after_discriminator_step(linear)
    assert (linear.weight == 5.0).all()


class LinearCritic(nn.Module):
    """``f(x) = <w, x>`` per sample: its input gradient is ``w`` everywhere."""

    def __init__(self, numel: int, norm: float) -> None:
        super().__init__()
        w = torch.randn(numel)
        self.w = nn.Parameter(w / w.norm() * norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w


def test_wgan_gp_penalty_is_zero_for_unit_gradient_norm_and_positive_otherwise() -> None:
    torch.manual_seed(0)
    loss = make_loss("wgan-gp")
    real, fake = torch.rand(4, 3, 6, 6), torch.rand(4, 3, 6, 6)
    unit = LinearCritic(3 * 6 * 6, norm=1.0)
    assert loss.penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-6)

    steep = LinearCritic(3 * 6 * 6, norm=3.0)
    penalty = loss.penalty(steep, real, fake)
    assert penalty.item() == pytest.approx(10.0 * (3.0 - 1.0) ** 2, rel=1e-4)
    penalty.backward()  # create_graph=True: the penalty trains the critic
    assert steep.w.grad is not None and steep.w.grad.abs().sum() > 0
    assert make_loss("wgan-gp", gp_weight=1.0).penalty(steep, real, fake).item() == pytest.approx(4.0, rel=1e-4)


def test_wgan_gp_penalty_works_with_a_patch_critic_and_does_not_reach_the_generator() -> None:
    torch.manual_seed(0)
    critic = REGISTRIES.discriminators.create("patchgan", batch_norm=False)
    real = torch.rand(2, 3, 16, 16)
    fake = torch.rand(2, 3, 16, 16, requires_grad=True)
    penalty = make_loss("wgan-gp").penalty(critic, real, fake)
    assert penalty.dim() == 0 and penalty.item() > 0
    penalty.backward()
    assert fake.grad is None
    # Every weight shapes the input gradient (biases do not, so they get none).
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for name, p in critic.named_parameters() if name.endswith("weight"))
    with pytest.raises(UsageError, match="same shape"):
        make_loss("wgan-gp").penalty(critic, real, fake[:1])


@pytest.mark.parametrize("name", [n for n in LOSSES if n != "wgan-gp"])
def test_other_losses_have_no_penalty(name: str) -> None:
    critic = LinearCritic(12, norm=3.0)
    assert make_loss(name).penalty(critic, torch.rand(2, 12), torch.rand(2, 12)).item() == 0.0


def test_relativistic_generator_loss_uses_real_logits() -> None:
    loss = make_loss("relativistic")
    fake = torch.zeros(4)
    high_real = loss.generator_loss(torch.full((4,), 2.0), fake)
    low_real = loss.generator_loss(torch.full((4,), -2.0), fake)
    assert high_real > low_real  # fakes look worse next to confident reals
    real = torch.randn(4, requires_grad=True)
    loss.generator_loss(real, torch.randn(4, requires_grad=True)).backward()
    assert real.grad is None  # the G step leaves no gradient in D


def test_hinge_ignores_logits_beyond_the_margin() -> None:
    loss = make_loss("hinge")
    assert loss.discriminator_loss(torch.full((4,), 1.5), torch.full((4,), -1.5)).item() == 0.0
    assert loss.discriminator_loss(torch.full((4,), 0.5), torch.full((4,), -1.5)).item() == pytest.approx(0.5)
