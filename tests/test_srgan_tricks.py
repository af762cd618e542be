"""Each extension of the SRGAN report changes what it claims to (srgan method and its helper modules)."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize

from srbench.data.pipeline import build_training_data
from srbench.errors import IncompatibleError, UsageError
from srbench.interfaces import MethodContext
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile
from srbench_builtins.methods import srgan as srgan_module
from srbench_builtins.methods.gan_common import create_adversarial, discriminator_step, generator_adversarial_loss
from srbench_builtins.methods.perceptual import (FEATURE_SCALE, IMAGENET_MEAN, IMAGENET_STD, VGG19_FILE,
                                                 VGGFeatureLoss, vgg19_features)
from srbench_builtins.methods.replay import ReplayBuffer
from srbench_builtins.methods.schedules import PhasePlan, Ramp, lr_factor

#: HR patches of 32 px: 8-px LR at x4, 16-px x2 targets (the srgan discriminator needs >= 16 px).
PATCH = 32


@pytest.fixture(scope="module")
def registries():
    return load_plugins().registries


def profile(iterations: int):
    return get_profile("smoke").with_overrides(iterations=iterations, batch_size=4, patch_size=PATCH,
                                               patches_per_image=2)


@pytest.fixture(scope="module")
def data_by_scale(registries):
    """Paired training data of 4 synthetic 48-px images, per scale (built once)."""
    images = registries.datasets.create("synthetic", "5x48").images("train")
    out = {}
    for scale in (2, 4):
        degradation = registries.degradations.create("bicubic", scale)
        out[scale], _ = build_training_data(images, degradation=degradation, hr_fraction=1.0, seed=0,
                                            profile=profile(8))
    return out


def make_srgan(registries, data, iterations=8, **options):
    """A set-up srgan method on ``data`` with modules in training mode, as the trainer leaves them."""
    cls = registries.methods.get("srgan").factory
    context = MethodContext(scale=data.scale, degradation=data.degradation, device=torch.device("cpu"),
                            profile=profile(iterations), registries=registries, seed=0)
    method = cls(parse_options(cls.Options, options, "test srgan"), context)
    method.setup(data)
    for module in method.modules().values():
        module.train()
    return method


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same_state(module, snap):
    return all(torch.equal(v, snap[k]) for k, v in module.state_dict().items())


# -- experience replay ---------------------------------------------------------------------

def test_replay_buffer_feeds_old_samples_back():
    buffer = ReplayBuffer(capacity=6, seed=1)
    first = torch.full((4, 1, 2, 2), 7.0)
    shown = buffer.mix(first, 0.5)
    assert torch.equal(shown, first)  # empty buffer: nothing to replay yet
    assert len(buffer) == 4
    later = torch.zeros(4, 1, 2, 2)
    shown = buffer.mix(later, 0.5)
    assert torch.equal(shown[:2], later[:2])  # half of the batch stays current
    assert torch.all(shown[2:] == 7.0)  # the other half was pushed one step earlier
    assert len(buffer) == 6  # filled to capacity, then random slots overwritten
    assert torch.equal(buffer.mix(later, 0.0), later)


def test_replay_buffer_state_round_trip_gives_the_same_draws():
    a = ReplayBuffer(capacity=5, seed=3)
    for i in range(4):
        a.push(torch.full((2, 3, 4, 4), float(i)))
    b = ReplayBuffer(capacity=5, seed=99)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.sample(7), b.sample(7))
    a.push(torch.ones(3, 3, 4, 4))
    b.push(torch.ones(3, 3, 4, 4))
    assert torch.equal(a.state_dict()["images"], b.state_dict()["images"])
    with pytest.raises(UsageError, match="shape"):
        a.push(torch.ones(1, 3, 8, 8))


def test_srgan_shows_the_discriminator_fakes_of_earlier_steps(registries, data_by_scale, monkeypatch):
    shown_fakes = []
    real_step = srgan_module.discriminator_step

    def recording_step(adversary, real, fake):
        shown_fakes.append(fake.clone())
        return real_step(adversary, real, fake)

    monkeypatch.setattr(srgan_module, "discriminator_step", recording_step)
    for replay_size in (16, 0):
        shown_fakes.clear()
        method = make_srgan(registries, data_by_scale[4], pretrain_fraction=0.0, d_only_fraction=0.0,
                            replay_size=replay_size, replay_fraction=0.5)
        generated = []
        method.generator.register_forward_hook(lambda m, i, out: generated.append(out.detach().clone()))
        for step in range(4):
            method.train_step(step, data_by_scale[4])
        assert len(shown_fakes) == len(generated) == 4
        from_earlier = [any(torch.equal(row, old) for k in range(j) for old in generated[k])
                        for j in range(1, 4) for row in shown_fakes[j]]
        if replay_size:
            assert torch.equal(shown_fakes[0], generated[0])
            assert sum(from_earlier) == 3 * 2  # half of each later batch of 4 was generated earlier
            assert len(method.replay) == 16
        else:
            assert all(torch.equal(s, g) for s, g in zip(shown_fakes, generated))
            assert not any(from_earlier)


# -- schedules -----------------------------------------------------------------------------

def test_ramp_values_at_chosen_steps():
    linear = Ramp(start=10, length=4, final=2.0)
    assert [linear.value(s) for s in (0, 9, 10, 11, 12, 14, 100)] == [0.0, 0.0, 0.0, 0.5, 1.0, 2.0, 2.0]
    cosine = Ramp(start=0, length=4, final=1.0, shape="cosine")
    assert cosine.value(0) == 0.0 and cosine.value(4) == 1.0
    assert cosine.value(1) == pytest.approx(0.5 * (1 - math.cos(math.pi / 4)))
    assert cosine.value(2) == pytest.approx(0.5)
    assert Ramp(start=3, length=0, final=5.0).value(3) == 5.0


def test_phase_plan_and_lr_decay():
    plan = PhasePlan(300, [("pretrain", 0.3), ("d_only", 0.05)], rest="joint")
    assert [(p.name, p.start, p.end) for p in plan.phases] == [("pretrain", 0, 90), ("d_only", 90, 105),
                                                               ("joint", 105, 300)]
    assert plan.name_at(89) == "pretrain" and plan.name_at(90) == "d_only" and plan.name_at(299) == "joint"
    with pytest.raises(UsageError):
        PhasePlan(10, [("a", 0.7), ("b", 0.5)], rest="c")
    assert lr_factor("cosine", 0, 100) == 1.0 and lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("step", 49, 100) == 1.0 and lr_factor("step", 50, 100) == 0.1
    assert lr_factor("none", 99, 100) == 1.0


def test_srgan_adversarial_weight_follows_its_ramp(registries, data_by_scale):
    # 16 steps: pretrain 4 (0.25), d_only 2 (0.125), joint 10 from step 6; ramp over 5 of them.
    method = make_srgan(registries, data_by_scale[4], iterations=16, pretrain_fraction=0.25,
                        d_only_fraction=0.125, ramp_fraction=0.5, adversarial_weight=0.01, replay_size=0)
    weights = {}
    for step in range(16):
        losses = method.train_step(step, data_by_scale[4])
        weights[step] = losses.get("adversarial_weight")
    assert all(weights[s] is None for s in range(6))  # no adversarial term before the joint phase
    assert weights[6] == 0.0
    assert weights[7] == pytest.approx(0.002) and weights[9] == pytest.approx(0.006)
    assert weights[11] == pytest.approx(0.01) and weights[15] == pytest.approx(0.01)


# -- phases --------------------------------------------------------------------------------

def test_pretraining_leaves_d_untouched_and_d_only_leaves_g_untouched(registries, data_by_scale):
    data = data_by_scale[4]
    method = make_srgan(registries, data, iterations=8, pretrain_fraction=0.25, d_only_fraction=0.25)
    g, d = method.generator, method.adversary.discriminator
    g0, d0 = snapshot(g), snapshot(d)
    for step in (0, 1):
        losses = method.train_step(step, data)
        assert set(losses) == {"content"}  # content loss only, no adversarial term
    assert same_state(d, d0) and not same_state(g, g0)
    assert len(method.replay) == 0

    g1, d1 = snapshot(g), snapshot(d)
    for step in (2, 3):
        losses = method.train_step(step, data)
        assert "d_loss" in losses and "content" not in losses
    assert same_state(g, g1) and not same_state(d, d1)
    assert g.training  # back in training mode after generating the fakes in eval mode

    g2, d2 = snapshot(g), snapshot(d)
    losses = method.train_step(4, data)
    assert {"content", "adversarial", "d_loss"} <= set(losses)
    assert not same_state(g, g2) and not same_state(d, d2)
    assert method.extra_state()["phase"] == "joint"


# -- label smoothing, spectral norm, critic steps -----------------------------------------

def test_one_sided_label_smoothing_targets_real_images_at_0_9(registries, data_by_scale):
    method = make_srgan(registries, data_by_scale[4])
    loss = method.adversary.loss
    assert loss.options.real_label == 0.9
    confident_real, confident_fake = torch.full((4,), 20.0), torch.full((4,), -20.0)
    # BCE of a confident "real" against a 0.9 target: -0.9 log s(20) - 0.1 log(1 - s(20)) ~ 0.1 * 20.
    assert loss.discriminator_loss(confident_real, confident_fake).item() == pytest.approx(2.0, abs=1e-3)
    unsmoothed = make_srgan(registries, data_by_scale[4], real_label=1.0).adversary.loss
    assert unsmoothed.discriminator_loss(confident_real, confident_fake).item() < 1e-6


def test_labels_are_ignored_with_a_note_by_label_free_losses(registries, data_by_scale):
    method = make_srgan(registries, data_by_scale[4], adversarial_loss="wgan-gp")
    notes = method.notes()
    assert any("real_label" in n for n in notes) and any("batch norm" in n for n in notes)
    assert method.adversary.n_critic == 5
    assert any("real_label" in n for n in method.extra_state()["notes"])
    bn = [m for m in method.adversary.discriminator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert not bn  # per-sample gradient penalty: batch norm turned off
    losses = method.train_step(7, data_by_scale[4])  # a joint step: 5 critic updates with the penalty
    assert losses["d_penalty"] > 0


def count_spectral_norm(module):
    return sum(1 for m in module.modules() if parametrize.is_parametrized(m, "weight"))


def test_spectral_norm_present_only_when_on(registries, data_by_scale):
    default = make_srgan(registries, data_by_scale[4])
    assert count_spectral_norm(default.adversary.discriminator) > 0
    assert count_spectral_norm(default.generator) == 0
    flipped = make_srgan(registries, data_by_scale[4], spectral_norm_g=True, spectral_norm_d=False)
    assert count_spectral_norm(flipped.adversary.discriminator) == 0
    convs = [m for m in flipped.generator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert count_spectral_norm(flipped.generator) == len(convs) > 0


def test_adversarial_helpers_update_only_their_own_player(registries):
    context = MethodContext(scale=4, degradation=registries.degradations.create("bicubic", 4),
                            device=torch.device("cpu"), profile=profile(4), registries=registries, seed=0)
    adversary = create_adversarial(context, discriminator="srgan", loss="wgan")
    d = adversary.discriminator
    real, fake = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16, requires_grad=True)
    before = snapshot(d)
    stats = discriminator_step(adversary, real, fake)
    assert not same_state(d, before) and fake.grad is None
    assert set(stats) == {"d_loss", "d_penalty", "d_real", "d_fake"}
    assert all(p.abs().max() <= 0.01 for p in d.parameters())  # wgan's weight clipping ran after the step
    d_grads = [p.grad.clone() for p in d.parameters()]
    generator_adversarial_loss(adversary, real, fake).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0  # gradients reach the generator's output
    assert all(torch.equal(p.grad, g) for p, g in zip(d.parameters(), d_grads))  # none accumulate in D
    assert all(p.requires_grad for p in d.parameters())


# -- progressive growing -------------------------------------------------------------------

def test_progressive_growing_reuses_and_freezes_x2_weights_and_fades_in(registries, data_by_scale, monkeypatch):
    data = data_by_scale[4]
    shown_sizes = []
    real_step = srgan_module.discriminator_step

    def recording_step(adversary, real, fake):
        shown_sizes.append((real.shape[-1], fake.shape[-1]))
        return real_step(adversary, real, fake)

    monkeypatch.setattr(srgan_module, "discriminator_step", recording_step)
    # 8 steps, switch at 4; fade-in over half of the 4 x4 steps; no pre-training so D runs throughout.
    method = make_srgan(registries, data, iterations=8, progressive=True, progressive_switch=0.5,
                        freeze_reused=True, fade_in_fraction=0.5, pretrain_fraction=0.0, d_only_fraction=0.0)
    g2, g4 = method.generator_x2, method.generator
    g4_init = snapshot(g4)
    for step in range(4):
        losses = method.train_step(step, data)
        assert "alpha" not in losses
    assert shown_sizes == [(PATCH // 2, PATCH // 2)] * 4  # the x2 stage trains on HR downscaled by 2
    assert same_state(g4, g4_init)  # the x4 network waits
    x2_weights = snapshot(g2)
    assert len(method.replay) > 0

    alphas = [method.train_step(step, data)["alpha"] for step in range(4, 8)]
    assert alphas == [0.0, 0.5, 1.0, 1.0]
    assert shown_sizes[4:] == [(PATCH, PATCH)] * 4
    assert method.grown and same_state(g2, x2_weights)
    after = g4.state_dict()
    new_names = method.new_parameter_names
    assert new_names and all(k.startswith("upsamplers.1.") for k in new_names)
    for name, value in after.items():
        if name in new_names:
            assert not torch.equal(value, g4_init[name]), name  # the new stage trains
        else:
            assert torch.equal(value, x2_weights[name]), name  # reused and frozen: still the x2 weights
    # Cleared at growth (x2-sized fakes cannot be mixed with x4 ones): 4 steps of 4 x4 fakes since.
    assert len(method.replay) == 16 and method.replay.state_dict()["images"].shape[-1] == PATCH
    lr = torch.rand(1, 3, 5, 7)
    assert method.super_resolve(lr).shape == (1, 3, 20, 28)


def test_progressive_without_freezing_trains_the_reused_weights(registries, data_by_scale):
    data = data_by_scale[4]
    method = make_srgan(registries, data, iterations=4, progressive=True, progressive_switch=0.5,
                        pretrain_fraction=1.0, d_only_fraction=0.0)
    for step in range(4):
        method.train_step(step, data)
    x2 = method.generator_x2.state_dict()
    changed = [k for k, v in method.generator.state_dict().items() if k in x2 and not torch.equal(v, x2[k])]
    assert changed


def test_progressive_is_incompatible_off_x4_or_without_grow(registries, data_by_scale):
    with pytest.raises(IncompatibleError, match="x2"):
        make_srgan(registries, data_by_scale[2], progressive=True)
    with pytest.raises(IncompatibleError, match="grow"):
        make_srgan(registries, data_by_scale[4], progressive=True, generator="rrdb")


# -- perceptual loss -----------------------------------------------------------------------

def save_random_vgg(path, layer="conv2_2"):
    torch.manual_seed(5)
    features = vgg19_features(layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return features


def reference_vgg_loss(state, sr, hr):
    """conv1_1, relu, conv1_2, relu, pool, conv2_1, relu, conv2_2 written out with the saved tensors."""
    def feats(x):
        mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        x = (x - mean) / std
        for i, idx in enumerate((0, 2, 5, 7)):
            if idx == 5:
                x = F.max_pool2d(x, 2)
            x = F.conv2d(x, state[f"features.{idx}.weight"], state[f"features.{idx}.bias"], padding=1)
            if i < 3:
                x = F.relu(x)
        return x * FEATURE_SCALE
    return F.mse_loss(feats(sr), feats(hr))


def test_vgg_content_loss_uses_vgg_features_from_the_hub_cache(registries, data_by_scale, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = tmp_path / "torch" / "hub" / "checkpoints" / VGG19_FILE
    save_random_vgg(weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback note expected
        method = make_srgan(registries, data_by_scale[4], content_loss="vgg", vgg_layer="conv2_2",
                            pretrain_fraction=0.0, d_only_fraction=0.0)
    assert isinstance(method.content_loss, VGGFeatureLoss) and method.extra_state()["notes"] == []
    state = torch.load(weights, weights_only=True)
    sr, hr = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    expected = reference_vgg_loss(state, sr, hr)
    assert method.content_loss(sr, hr).item() == pytest.approx(expected.item(), rel=1e-5)
    assert abs(expected.item() - F.mse_loss(sr, hr).item()) > 1e-6
    losses = method.train_step(0, data_by_scale[4])
    assert losses["content"] > 0 and not any(p.requires_grad for p in method.content_loss.parameters())
    explicit = make_srgan(registries, data_by_scale[4], content_loss="vgg", vgg_layer="conv2_2",
                          vgg_weights=str(weights))
    assert isinstance(explicit.content_loss, VGGFeatureLoss)


def test_vgg_content_loss_falls_back_to_pixels_with_a_note(registries, data_by_scale, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    method = make_srgan(registries, data_by_scale[4], content_loss="vgg", pixel_loss="l1")
    notes = method.extra_state()["notes"]
    assert len(notes) == 1 and "fell back" in notes[0] and VGG19_FILE in notes[0] and "l1" in notes[0]
    assert method.notes() == notes
    assert method.content_loss is F.l1_loss
    with pytest.raises(UsageError, match="lack"):
        path = tmp_path / "partial.pth"
        save_random_vgg(path, layer="conv1_2")
        VGGFeatureLoss(path, layer="conv5_4")


# -- LR made on the fly --------------------------------------------------------------------

def test_lr_on_the_fly_is_float_and_clamped_when_asked(registries, data_by_scale):
    data = data_by_scale[4]
    stored = data.paired.batch(4)[0]
    assert torch.allclose(stored * 255, (stored * 255).round(), atol=1e-4)  # stored LR is quantised
    clamped_m = make_srgan(registries, data, lr_on_the_fly=True, clamp_lr=True)
    raw_m = make_srgan(registries, data, lr_on_the_fly=True, clamp_lr=False)
    overshoot = False
    for _ in range(8):
        rng = data.rng_state()
        clamped, hr = clamped_m.draw_batch(data)
        data.load_rng_state(rng)
        raw, hr_again = raw_m.draw_batch(data)
        assert torch.equal(hr, hr_again)
        assert clamped.min() >= 0 and clamped.max() <= 1
        assert torch.equal(clamped, raw.clamp(0, 1))
        overshoot |= bool(raw.min() < 0 or raw.max() > 1)
        assert not torch.allclose(raw * 255, (raw * 255).round(), atol=1e-3)  # not quantised
    assert overshoot  # bicubic overshoots at the synthetic images' sharp edges


# -- option validation ---------------------------------------------------------------------

@pytest.mark.parametrize("values, match", [
    ({"pretrain_fraction": 0.8, "d_only_fraction": 0.3}, "exceeds the budget"),
    ({"real_label": 0.0}, "real_label"),
    ({"vgg_layer": "conv9_9"}, "vgg_layer"),
    ({"progressive_switch": 1.0}, "progressive_switch"),
    ({"content_loss": "ssim"}, "content_loss"),
])
def test_bad_options_are_one_line_usage_errors(registries, values, match):
    cls = registries.methods.get("srgan").factory
    with pytest.raises(UsageError, match=match) as info:
        parse_options(cls.Options, values, "--set srgan")
    assert "\n" not in str(info.value)


def test_critic_crop_shows_d_random_crops_and_whole_patches_by_default(registries, data_by_scale):
    seen: list[tuple[int, int]] = []

    def record(module, args, out):
        seen.append(tuple(args[0].shape[-2:]))

    method = make_srgan(registries, data_by_scale[4], pretrain_fraction=0.0, d_only_fraction=0.0, critic_crop=16)
    method.adversary.discriminator.register_forward_hook(record)
    method.train_step(0, data_by_scale[4])  # a joint step: D's update on real and fake, then G's term
    assert seen and set(seen) == {(16, 16)}
    # real and fake crops are drawn per image, independently: same batch, other positions
    target = torch.arange(4 * 3 * PATCH * PATCH, dtype=torch.float32).reshape(4, 3, PATCH, PATCH)
    a, b = method.critic_view(target), method.critic_view(target)
    assert a.shape == (4, 3, 16, 16) and not torch.equal(a, b)

    whole = make_srgan(registries, data_by_scale[4], pretrain_fraction=0.0, d_only_fraction=0.0)
    assert whole.options.critic_crop == -1
    state = torch.get_rng_state()
    assert whole.critic_view(target) is target  # the whole patch, and no random draw: trains as before
    assert torch.equal(torch.get_rng_state(), state)


def test_critic_crop_larger_than_what_d_is_shown_is_refused(registries):
    cls = registries.methods.get("srgan").factory
    context = MethodContext(scale=4, degradation=None, device=torch.device("cpu"), profile=profile(8),
                            registries=registries, seed=0)
    cls.check_options(parse_options(cls.Options, {"critic_crop": PATCH}, "srgan"), context)  # the whole patch
    with pytest.raises(UsageError, match=f"critic_crop={PATCH + 4} is larger than the {PATCH}-px training patches"):
        cls.check_options(parse_options(cls.Options, {"critic_crop": PATCH + 4}, "srgan"), context)
    with pytest.raises(UsageError, match=f"larger than the x2 stage's {PATCH // 2}-px targets"):
        cls.check_options(parse_options(cls.Options, {"critic_crop": PATCH, "progressive": True}, "srgan"), context)
    with pytest.raises(UsageError, match="invalid critic_crop -2"):
        parse_options(cls.Options, {"critic_crop": -2}, "srgan")
