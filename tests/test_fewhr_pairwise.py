"""The pairwise-resolution method: pair construction and labels, the antisymmetric critic, training, x3."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F

from srbench.api import run
from srbench.config import RunConfig
from srbench.data.pipeline import build_training_data
from srbench.errors import IncompatibleError, UsageError
from srbench.interfaces import MethodContext
from srbench.ops import imresize, random_crops
from srbench.options import parse_options
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile
from srbench_builtins.fewhr.pairs import (bicubic_resize, degrade_copy, gaussian_blur, make_resolution_pairs,
                                         order_pairs, sample_factors, shift_jointly)
from srbench_builtins.fewhr.pairwise import PairwiseTerm, PairwiseTermOptions, detail_layer
from srbench_builtins.fewhr.siamese import SiameseResolutionCritic
from srbench_builtins.fewhr.unpaired_terms import TERMS

#: 16-px HR patches: 8-px LR at x2, 4-px at x4 (encdec pads to its depth).
PROFILE = get_profile("smoke").with_overrides(patch_size=16, patches_per_image=2, batch_size=4, iterations=4)


def textured(n: int = 4, size: int = 24, seed: int = 0) -> torch.Tensor:
    """Images with detail at every frequency (noise + a smooth ramp), in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, size)[None, None, None, :].expand(n, 3, size, size)
    return (0.5 * ramp + 0.5 * torch.rand(n, 3, size, size, generator=g)).clamp(0, 1)


def high_frequency_energy(x: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared Laplacian response."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None].repeat(3, 1, 1, 1)
    return F.conv2d(x, kernel, groups=3).pow(2).mean(dim=(1, 2, 3))


def make_data(scale: int, hr_fraction: float, count: int = 6):
    registries = load_plugins().registries
    degradation = registries.degradations.create("bicubic", scale)
    images = registries.datasets.create("synthetic", f"{count}x32").images("train")
    data, _ = build_training_data(images, degradation=degradation, hr_fraction=hr_fraction, seed=0, profile=PROFILE)
    context = MethodContext(scale=scale, degradation=degradation, device=torch.device("cpu"), profile=PROFILE,
                            registries=registries, seed=0)
    return data, context, registries


def make_term(scale: int, hr_fraction: float, **options):
    data, context, registries = make_data(scale, hr_fraction)
    generator = registries.generators.create("encdec", scale, size="small")
    term = PairwiseTerm(parse_options(PairwiseTermOptions, options, "pairwise term"), context, generator)
    term.setup(data)
    return term, data, generator


# -- pairs -------------------------------------------------------------------------------------
def test_order_pairs_labels_follow_which_image_comes_first():
    sharp, blurry = torch.zeros(64, 3, 4, 4), torch.ones(64, 3, 4, 4)
    pairs = order_pairs(sharp, blurry, torch.Generator().manual_seed(1))
    first_is_sharp = pairs.a.flatten(1).eq(0).all(dim=1)
    assert torch.equal(pairs.target, first_is_sharp.float())
    assert torch.equal(pairs.b.flatten(1).eq(0).all(dim=1), ~first_is_sharp)  # the other image is second
    assert 10 < int(first_is_sharp.sum()) < 54  # both orders occur
    smoothed = order_pairs(sharp, blurry, torch.Generator().manual_seed(1), label_smoothing=0.1)
    assert torch.allclose(smoothed.target, torch.where(first_is_sharp, 0.9, 0.1))


def test_the_sharper_image_is_labelled_higher_at_every_strength():
    images = textured(16)
    pairs = make_resolution_pairs(images, min_factor=1.2, max_factor=4.0, generator=torch.Generator().manual_seed(0),
                                  blur_probability=0.5, blur_sigma_max=1.0)
    energy_a, energy_b = high_frequency_energy(pairs.a), high_frequency_energy(pairs.b)
    labelled_sharper = torch.where(pairs.target > 0.5, energy_a, energy_b)
    labelled_blurrier = torch.where(pairs.target > 0.5, energy_b, energy_a)
    assert bool((labelled_sharper > 2 * labelled_blurrier).all())


def test_strengths_stay_within_range_and_copies_match_imresize():
    factors = sample_factors(500, 1.2, 3.0, torch.Generator().manual_seed(0))
    assert float(factors.min()) >= 1.2 and float(factors.max()) <= 3.0 and float(factors.std()) > 0.3
    with pytest.raises(UsageError, match="min_factor"):
        sample_factors(4, 1.0, 3.0, torch.Generator())
    images = textured(3, size=20)
    factors = torch.tensor([1.5, 2.0, 4.0], dtype=torch.float64)
    copies = degrade_copy(images, factors)
    for image, copy_, f in zip(images, copies, factors.tolist()):
        side = round(20 / f)
        expected = imresize(imresize(image[None], size=(side, side)), size=(20, 20))
        assert torch.allclose(copy_[None], expected, atol=1e-6)
    x = torch.rand(2, 3, 13, 9)
    assert torch.allclose(bicubic_resize(x, (26, 5)), imresize(x, size=(26, 5)), atol=1e-6)


def test_blur_is_identity_at_sigma_zero_and_removes_detail_otherwise():
    images = textured(2)
    blurred = gaussian_blur(images, torch.tensor([0.0, 1.0]))
    assert torch.equal(blurred[0], images[0])
    assert float(high_frequency_energy(blurred[1:])) < 0.5 * float(high_frequency_energy(images[1:]))


def test_joint_shift_keeps_pairs_aligned():
    a = torch.randint(0, 100, (2, 3, 20, 20)).float()  # integers: b - a is exactly 1
    b = a + 1.0
    g = torch.Generator().manual_seed(3)
    offsets = set()
    for _ in range(20):
        sa, sb = shift_jointly(a, b, 4, g)
        assert sa.shape == (2, 3, 17, 17) and torch.equal(sb - sa, torch.ones_like(sa))
        offsets.add(float(sa[0, 0, 0, 0]))
    assert len(offsets) > 1  # the offset changes from call to call


def test_random_crops_cut_one_window_per_image_and_keep_channels_stacked_for_a_pair_aligned():
    rows, cols = torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij")
    a = (100 * rows + cols).expand(8, 3, 20, 20)  # a pixel's value says where it was
    b = a + 1.0
    ca, cb = random_crops(torch.cat([a, b], 1), 6, torch.Generator().manual_seed(0)).split(3, 1)
    assert ca.shape == cb.shape == (8, 3, 6, 6) and torch.equal(cb - ca, torch.ones_like(ca))
    corners = ca[:, 0, 0, 0]
    assert torch.equal(ca - corners[:, None, None, None], (100 * rows + cols)[:6, :6].expand(8, 3, 6, 6))
    assert len(set(corners.tolist())) > 1  # not one window for the whole batch
    whole = random_crops(a, 20, torch.Generator())
    assert whole is a  # an image no larger than the window is kept whole


# -- critic -------------------------------------------------------------------------------------
def test_critic_is_antisymmetric():
    critic = SiameseResolutionCritic(3, 8, 2)
    a, b = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        # One call (training mode: spectral norm's power iteration moves the weights between calls).
        both = critic(torch.cat([a, b, a]), torch.cat([b, a, a]))
        ab, ba, aa = both[:3], both[3:6], both[6:]
        assert float(ab.abs().max()) > 0
        assert torch.allclose(ab, -ba, atol=1e-6) and torch.allclose(aa, torch.zeros(3), atol=1e-6)
        critic.eval()
        assert critic(a, b).shape == (3,)
        assert torch.allclose(critic(a, b), -critic(b, a), atol=1e-6)
    with pytest.raises(UsageError, match="same content"):
        critic(a, b[..., :8])


def test_swapping_a_pair_and_flipping_its_label_gives_the_same_critic_loss():
    critic = SiameseResolutionCritic(3, 8, 1).eval()  # eval: spectral norm's weights fixed between the calls
    pairs = make_resolution_pairs(textured(4, 16), min_factor=1.5, max_factor=2.0,
                                  generator=torch.Generator().manual_seed(0))
    loss = F.binary_cross_entropy_with_logits(critic(pairs.a, pairs.b), pairs.target)
    swapped = F.binary_cross_entropy_with_logits(critic(pairs.b, pairs.a), 1 - pairs.target)
    assert torch.allclose(loss, swapped, atol=1e-6)


def test_critic_learns_which_image_is_sharper():
    torch.manual_seed(0)
    critic = SiameseResolutionCritic(3, 8, 1, spectral_norm=False)
    optimizer = torch.optim.Adam(critic.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for step in range(25):
        pairs = make_resolution_pairs(textured(8, 16, seed=step), min_factor=1.5, max_factor=4.0, generator=g)
        loss = F.binary_cross_entropy_with_logits(critic(pairs.a, pairs.b), pairs.target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    held_out = make_resolution_pairs(textured(32, 16, seed=999), min_factor=1.5, max_factor=4.0, generator=g)
    with torch.no_grad():
        accuracy = ((critic(held_out.a, held_out.b) > 0) == (held_out.target > 0.5)).float().mean()
    assert float(accuracy) >= 0.9


# -- the term -----------------------------------------------------------------------------------
def test_pairwise_term_is_registered():
    assert TERMS["pairwise"] is PairwiseTerm


@pytest.mark.parametrize("hr_fraction, expect_hr", [(0.0, False), (0.5, True)])
def test_critic_sees_real_self_and_hr_pairs_where_hr_exists(hr_fraction, expect_hr):
    term, data, generator = make_term(4, hr_fraction)
    lr = data.all_lr(4)
    sr = generator(lr)
    stats = term.critic_step(sr.detach(), lr, data, 0)
    assert "critic_real" in stats and "critic_self" in stats
    assert ("critic_hr" in stats) == expect_hr
    assert term.uses_hr == expect_hr
    off, data, generator = make_term(4, hr_fraction, self_pairs=False, hr_pairs=False)
    stats = off.critic_step(generator(lr).detach(), lr, data, 0)
    assert "critic_self" not in stats and "critic_hr" not in stats


def test_generator_loss_reaches_the_generator_and_leaves_the_critic_alone():
    term, data, generator = make_term(2, 0.5)
    lr = data.all_lr(4)
    term.critic_step(generator(lr).detach(), lr, data, 0)
    generator.zero_grad()
    term.critic.zero_grad()
    term.generator_loss(generator(lr), lr, data, 0).backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in generator.parameters())
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in term.critic.parameters())


def test_generator_target_follows_the_critics_confidence_within_bounds():
    term, _, _ = make_term(2, 0.0)
    term.real_confidence = 0.93
    assert term.generator_target() == pytest.approx(0.93)
    term.real_confidence = 0.2  # an untrained critic never asks G to look blurrier than up(LR)
    assert term.generator_target() == 0.5
    fixed, _, _ = make_term(2, 0.0, generator_target=1.0)
    assert fixed.generator_target() == 1.0


def test_observed_paired_outputs_replace_the_terms_own_generator_pass():
    term, data, generator = make_term(2, 0.5)
    calls = []
    term.generator_fn = lambda x: calls.append(x) or generator(x)
    lr_p, hr_p = data.paired.batch(4)
    lr = data.lr_only.batch(4)
    term.observe_paired(generator(lr_p), hr_p)
    term.critic_step(generator(lr).detach(), lr, data, 0)
    term.generator_loss(generator(lr), lr, data, 0)
    assert calls == []
    term.critic_step(generator(lr).detach(), lr, data, 1)  # nothing observed this step: G runs on HR's LR
    assert len(calls) == 1


@pytest.mark.parametrize("output_crop", [False, True])
def test_output_crop_shows_the_critic_the_generators_outputs_at_the_real_pairs_side(output_crop):
    term, data, generator = make_term(4, 0.0, output_crop=output_crop, shift=False, self_pairs=True)
    seen = []
    judge = term.critic.forward
    term.critic.forward = lambda x, y: seen.append((x, y)) or judge(x, y)
    lr = torch.rand(4, 3, 8, 8)
    sr = generator(lr)  # 32 px, twice the 16-px side of the real pairs
    assert sr.shape[-1] > term.crop
    term.critic_step(sr.detach(), lr, data, 0)
    real, own = seen[0], seen[1]
    assert real[0].shape[-1] == term.crop
    assert own[0].shape[-1] == (term.crop if output_crop else sr.shape[-1])
    seen.clear()
    up = bicubic_resize(lr, (32, 32))
    term.generator_loss(up, lr, data, 0)  # G's output is up(y) itself: its pair must stay two equal images
    (a, b), = seen
    assert a.shape[-1] == (term.crop if output_crop else 32) and torch.equal(a, b)
    generator.zero_grad()
    term.generator_loss(generator(lr), lr, data, 1).backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in generator.parameters())


def test_detail_layer_keeps_only_what_the_lr_band_cannot_carry():
    smooth = bicubic_resize(textured(2, 8), (32, 32))  # an x4 upsampling: little above the LR Nyquist band
    detailed = textured(2, 32)
    # Bicubic down(up(x)) is not exactly x, so the smooth image keeps a small residual (0.027 here vs 0.12).
    assert float((detail_layer(detailed, 4) - 0.5).abs().mean()) > 3 * float((detail_layer(smooth, 4) - 0.5).abs().mean())
    assert detail_layer(detailed, 4).shape == detailed.shape


def test_detail_view_changes_what_the_critic_is_shown():
    term, data, generator = make_term(4, 0.0, critic_view="detail", shift=False)
    a, b = textured(2, 16, seed=1), textured(2, 16, seed=2)
    seen = []
    term.critic.forward = lambda x, y: seen.append((x, y)) or x.new_zeros(x.shape[0])
    term.judge(a, b)
    assert torch.allclose(seen[0][0], detail_layer(a, 4)) and torch.allclose(seen[0][1], detail_layer(b, 4))


def test_internal_pairs_teach_real_lr_over_g_of_its_own_lr_without_any_hr():
    term, data, generator = make_term(4, 0.0, internal_pairs=True, self_pairs=False)
    y, small = term.draw_internal_batch(3)
    assert y.shape[-1] == term.crop - term.crop % 4 and small.shape[-1] == y.shape[-1] // 4
    assert torch.equal(small, (small * 255).round() / 255)  # 8-bit, like every stored LR
    lr = data.all_lr(4)
    stats = term.critic_step(generator(lr).detach(), lr, data, 0)
    assert "critic_internal" in stats and "critic_self" not in stats and "critic_hr" not in stats
    generator.zero_grad()
    # Only the internal pairs carry G's gradient here: the main pair's target is met at 0.5 by an untrained critic.
    term.generator_loss(generator(lr).detach(), lr, data, 0).backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in generator.parameters())
    off, data, generator = make_term(4, 0.0)
    assert "critic_internal" not in off.critic_step(generator(lr).detach(), lr, data, 0)


def test_term_state_restores_the_same_pairs():
    term, _, _ = make_term(2, 0.0)
    state = copy.deepcopy(term.extra_state())
    first = term.real_images(3)
    term.load_extra_state(state)
    assert torch.equal(term.real_images(3), first)


def test_min_factor_above_the_scale_is_incompatible():
    with pytest.raises(IncompatibleError, match="min_factor"):
        make_term(2, 0.0, min_factor=3.0)


# -- the method ---------------------------------------------------------------------------------
@pytest.mark.parametrize("scale, hr_fraction", [(2, 0.5), (4, 0.0)])
def test_pairwise_method_trains(scale, hr_fraction):
    data, context, registries = make_data(scale, hr_fraction)
    cls = registries.methods.get("pairwise").factory
    method = cls(parse_options(cls.Options, {"pretrain_fraction": 0.25}, "pairwise"), context)
    method.setup(data)
    assert type(method.generator).__name__ == "EncDecGenerator"
    before = copy.deepcopy(method.generator.state_dict())
    losses = [method.train_step(step, data) for step in range(4)]
    assert "adversarial" not in losses[0] and "adversarial" in losses[-1]  # after the 1-step pre-training
    assert "critic_loss" in losses[0]  # the critic warms up during the pre-training (critic_warmup)
    assert all(torch.isfinite(torch.as_tensor(v)).all() for step in losses for v in step.values())
    assert any(not torch.equal(before[k], v) for k, v in method.generator.state_dict().items())
    assert set(method.modules()) == {"generator", "term.critic"}
    with torch.no_grad():
        method.generator.eval()
        assert method.super_resolve(torch.rand(1, 3, 7, 5)).shape == (1, 3, 7 * scale, 5 * scale)


def test_pairwise_through_the_runner_is_incompatible_at_x3(tmp_path):
    overrides = {"iterations": 2, "batch_size": 2, "patch_size": 24, "patches_per_image": 1, "eval_max_side": 24,
                 "checkpoint_every": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = run(RunConfig(methods=["pairwise"], dataset="synthetic:4x24", profile="smoke", scale=3,
                                hr_fraction=[0.0], out=str(tmp_path), metrics=["psnr_y"],
                                profile_overrides=overrides), progress=False)
    (result,) = summary.results
    assert result["status"] == "incompatible"
    assert "x3 is not a power of two" in result["reason"] and "encdec" in result["reason"]
