"""Generators and discriminators of every registered name: shapes, training, options, sizes.

Parametrized over the registries at collection time, so a plugin's new network is tested too.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from srbench.errors import UsageError
from srbench.plugin_manager import load_plugins

REGISTRIES = load_plugins().registries
GENERATORS = REGISTRIES.generators.names()
DISCRIMINATORS = REGISTRIES.discriminators.names()
BUILTIN_NETWORKS = "builtin-networks"
#: Built-in (generator, scale) pairs that must refuse to be built.
UNSUPPORTED = {("encdec", 3), ("encdec_resize", 3)}


def _is_builtin(registry, name: str) -> bool:
    return registry.get(name).plugin == BUILTIN_NETWORKS


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv_widths(module: nn.Module) -> set[int]:
    return {m.out_channels for m in module.modules() if isinstance(m, nn.Conv2d)}


def _train_steps(module: nn.Module, loss_fn, steps: int = 6, lr: float = 1e-3) -> tuple[list[float], bool]:
    """Adam steps on ``loss_fn(module)``; returns the losses and whether every gradient was finite."""
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    losses, finite = [], True
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(module)
        loss.backward()
        finite &= all(torch.isfinite(p.grad).all().item() for p in module.parameters() if p.grad is not None)
        optimizer.step()
        losses.append(loss.item())
    return losses, finite


# -- generators ---------------------------------------------------------------------------------


def test_builtin_names_are_registered() -> None:
    assert {"srresnet", "rrdb", "encdec"} <= set(GENERATORS)
    assert {"srgan", "patchgan", "unet"} <= set(DISCRIMINATORS)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", GENERATORS)
def test_generator_upscales_and_trains(name: str, scale: int) -> None:
    torch.manual_seed(0)
    builtin = _is_builtin(REGISTRIES.generators, name)
    try:
        generator = REGISTRIES.generators.create(name, scale, channels=3, size="small")
    except ValueError as exc:
        if builtin:
            assert (name, scale) in UNSUPPORTED, f"{name} refused x{scale}: {exc}"
            assert str(exc) and "\n" not in str(exc)
        pytest.skip(f"{name} does not support x{scale}: {exc}")
    assert not (builtin and (name, scale) in UNSUPPORTED), f"{name} should refuse x{scale}"

    lr = torch.rand(2, 3, 6, 6)
    target = torch.rand(2, 3, 6 * scale, 6 * scale)
    assert generator(lr).shape == target.shape
    before = copy.deepcopy(generator.state_dict())
    losses, finite = _train_steps(generator, lambda g: F.l1_loss(g(lr), target), steps=4)
    assert finite
    assert losses[-1] < losses[0]
    changed = [k for k, v in generator.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed


@pytest.mark.parametrize("name", sorted(n for n in GENERATORS if _is_builtin(REGISTRIES.generators, n)))
def test_generator_rejects_bad_options_and_sizes_in_one_line(name: str) -> None:
    with pytest.raises(UsageError, match="no_such_option") as info:
        REGISTRIES.generators.create(name, 2, no_such_option=1)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match="'huge'"):
        REGISTRIES.generators.create(name, 2, size="huge")
    with pytest.raises(ValueError, match="5"):
        REGISTRIES.generators.create(name, 5)
    # Strings from --set are converted to the option's type.
    assert REGISTRIES.generators.create(name, 2, residual="false")(torch.rand(1, 3, 4, 4)).shape == (1, 3, 8, 8)


def test_generator_residual_option_starts_near_bicubic() -> None:
    from srbench_builtins.networks.common import upsample_image

    torch.manual_seed(0)
    lr = torch.rand(1, 3, 8, 8)
    bicubic = upsample_image(lr, 4)
    with_skip = REGISTRIES.generators.create("srresnet", 4, residual=True)
    without = REGISTRIES.generators.create("srresnet", 4, residual=False)
    assert F.l1_loss(with_skip(lr), bicubic) < 0.1 < F.l1_loss(without(lr), bicubic)


def test_srresnet_options_change_the_module() -> None:
    plain = REGISTRIES.generators.create("srresnet", 2)
    normed = REGISTRIES.generators.create("srresnet", 2, batch_norm=True, spectral_norm=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in normed.modules())
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())
    convs = [m for m in normed.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)


def test_srresnet_grow_keeps_weights_and_fades_in_from_an_upsample() -> None:
    from srbench_builtins.networks.common import upsample_image

    torch.manual_seed(0)
    generator = REGISTRIES.generators.create("srresnet", 2, size="small").eval()
    lr = torch.rand(2, 3, 6, 7)
    with torch.no_grad():
        old_output = generator(lr)
    old_state = copy.deepcopy(generator.state_dict())

    generator.grow()
    assert generator.scale == 4 and len(generator.upsamplers) == 2 and generator.alpha == 0.0
    new_state = generator.state_dict()
    assert set(new_state) - set(old_state) and all(k.startswith("upsamplers.1.") for k in set(new_state) - set(old_state))
    for key, value in old_state.items():
        assert torch.equal(new_state[key], value), key
    with torch.no_grad():
        faded = generator(lr)
        torch.testing.assert_close(faded, upsample_image(old_output, 2))
        generator.alpha = 1.0
        grown = generator(lr)
        generator.alpha = 0.25
        blend = generator(lr)
    assert grown.shape == (2, 3, 24, 28)
    assert not torch.allclose(grown, faded, atol=1e-3)
    torch.testing.assert_close(blend, 0.25 * grown + 0.75 * faded)
    # The new stage trains (its parameters get gradients through the fade-in blend).
    generator.train()
    F.l1_loss(generator(lr), torch.rand(2, 3, 24, 28)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.upsamplers[1].parameters())


def test_a_resize_stage_cannot_make_a_period_2_pattern_from_flat_features_a_pixel_shuffle_stage_can() -> None:
    from srbench_builtins.networks.srresnet import PixelShuffleStage, ResizeConvStage

    torch.manual_seed(0)
    flat = torch.ones(1, 8, 6, 6)
    for stage, periodic in ((PixelShuffleStage(8, 2, False), True), (ResizeConvStage(8, 2, False), False)):
        torch.nn.init.normal_(next(stage.parameters()))  # any weights, not only the initial ones
        out = stage(flat)[..., 2:-2, 2:-2]  # away from the zero-padded border
        spread = float((out - out.mean(dim=(2, 3), keepdim=True)).abs().max())
        assert (spread > 1e-3) == periodic, type(stage).__name__


def test_srresnet_resize_is_srresnet_with_resize_stages_and_grows_with_them() -> None:
    net = REGISTRIES.generators.create("srresnet_resize", 2)
    assert net.upsampler == "resize" and all(type(s).__name__ == "ResizeConvStage" for s in net.upsamplers)
    net.grow()
    assert type(net.upsamplers[-1]).__name__ == "ResizeConvStage" and net(torch.rand(1, 3, 6, 6)).shape[-1] == 24
    plain = REGISTRIES.generators.create("srresnet_resize", 2, upsampler="pixelshuffle")
    assert type(plain.upsamplers[0]).__name__ == "PixelShuffleStage"
    with pytest.raises(UsageError, match="upsampler"):
        REGISTRIES.generators.create("srresnet", 2, upsampler="bilinear")


def test_srresnet_x4_loads_about_90_percent_of_its_weights_from_x2() -> None:
    with torch.device("meta"):
        x2 = REGISTRIES.generators.create("srresnet", 2, size="full")
        x4 = REGISTRIES.generators.create("srresnet", 4, size="full")
    x2_shapes = {k: v.shape for k, v in x2.state_dict().items()}
    shared = sum(v.numel() for k, v in x4.named_parameters() if x2_shapes.get(k) == v.shape)
    assert 0.85 < shared / _count(x4) < 0.95
    result = x4.load_state_dict(x2.state_dict(), strict=False, assign=True)
    assert not result.unexpected_keys
    assert result.missing_keys and all(k.startswith("upsamplers.1.") for k in result.missing_keys)


def test_full_generators_have_the_papers_sizes() -> None:
    with torch.device("meta"):
        srresnet = REGISTRIES.generators.create("srresnet", 4, size="full")
        rrdb = REGISTRIES.generators.create("rrdb", 4, size="full")
        encdec = REGISTRIES.generators.create("encdec", 4, size="full")
    # SRGAN: 64 channels, 16 blocks, ~1.5M parameters at x4; ESRGAN: 64 channels, 23 RRDBs, ~16.7M.
    assert 1.4e6 < _count(srresnet) < 1.65e6
    assert len(srresnet.body) == 16 and 64 in _conv_widths(srresnet) and max(_conv_widths(srresnet)) == 256
    assert any(isinstance(m, nn.BatchNorm2d) for m in srresnet.modules())
    assert 16.3e6 < _count(rrdb) < 17.2e6 and len(rrdb.body) == 23
    assert not any(isinstance(m, nn.BatchNorm2d) for m in rrdb.modules())
    assert 64 in _conv_widths(encdec) and _count(encdec) > 4 * _count(
        REGISTRIES.generators.create("encdec", 4, size="small"))


def test_encdec_applies_one_x2_step_per_octave() -> None:
    torch.manual_seed(0)
    shared = REGISTRIES.generators.create("encdec", 4)
    separate = REGISTRIES.generators.create("encdec", 4, shared_weights=False)
    assert _count(separate) == 2 * _count(shared)
    lr = torch.rand(1, 3, 7, 9)  # odd sides: padded inside each step, cropped back
    with torch.no_grad():
        assert shared.step(lr).shape == (1, 3, 14, 18)
        torch.testing.assert_close(shared(lr), shared.step(shared.step(lr)))
        torch.testing.assert_close(separate(lr), separate.step(separate.step(lr, 0), 1))
        assert not torch.allclose(separate.step(lr, 0), separate.step(lr, 1))
    assert REGISTRIES.generators.create("encdec", 8)(lr).shape == (1, 3, 56, 72)
    with pytest.raises(ValueError, match="power"):
        REGISTRIES.generators.create("encdec", 3)


@pytest.mark.parametrize("name, periodic", [("encdec", True), ("encdec_resize", False)])
def test_only_the_pixel_shuffle_stage_can_give_its_sub_pixel_phases_different_values(name, periodic) -> None:
    # Why pairwise uses encdec_resize: with trained (here: random) weights, a pixel-shuffle stage maps a flat
    # feature map to a period-2 pattern, stripes that the x4 downscaling cannot see; a resize stage cannot.
    torch.manual_seed(0)
    block = REGISTRIES.generators.create(name, 2, residual=False).blocks[0]
    with torch.no_grad():
        for p in block.upsample.parameters():
            p.normal_(0, 0.3)
        flat = torch.rand(1, 32, 1, 1).expand(1, 32, 8, 8).contiguous()  # 32: the small preset's width
        out = block.upsample(flat)[..., 2:-2, 2:-2]  # away from the zero-padded border
    phase_spread = float((out[..., 0::2, 0::2] - out[..., 1::2, 1::2]).abs().max())
    assert (phase_spread > 1e-3) == periodic


# -- discriminators -----------------------------------------------------------------------------


def _expected_logits_shape(name: str, batch: int, side: int) -> tuple[int, ...] | None:
    """Built-in output shapes; ``None`` for other plugins' discriminators."""
    return {"srgan": (batch,), "patchgan": (batch, 1, side // 4 - 2, side // 4 - 2),
            "unet": (batch, 1, side, side)}.get(name)


def _check_logits_shape(name: str, logits: torch.Tensor, batch: int, side: int) -> None:
    expected = _expected_logits_shape(name, batch, side)
    if expected is not None:
        assert tuple(logits.shape) == expected
    else:
        assert logits.shape[0] == batch and (logits.dim() == 1 or (logits.dim() == 4 and logits.shape[1] == 1))


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_logits_and_training(name: str) -> None:
    torch.manual_seed(0)
    discriminator = REGISTRIES.discriminators.create(name, channels=3, size="small")
    for side in (32, 48):
        _check_logits_shape(name, discriminator(torch.rand(4, 3, side, side)), 4, side)

    real = torch.rand(2, 3, 32, 32)
    fake = torch.full((2, 3, 32, 32), 0.5)

    def loss_fn(d: nn.Module) -> torch.Tensor:
        real_logits, fake_logits = d(real), d(fake)
        return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))

    losses, finite = _train_steps(discriminator, loss_fn, steps=4)
    assert finite
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_spectral_norm_option(name: str) -> None:
    with_sn = REGISTRIES.discriminators.create(name, spectral_norm=True)
    without = REGISTRIES.discriminators.create(name, spectral_norm=False)
    assert sum(parametrize.is_parametrized(m, "weight") for m in with_sn.modules()) >= 3
    assert not any(parametrize.is_parametrized(m) for m in without.modules())
    _check_logits_shape(name, with_sn(torch.rand(2, 3, 32, 32)), 2, 32)


def test_unet_discriminator_is_spectral_normed_by_default() -> None:
    unet = REGISTRIES.discriminators.create("unet")
    assert sum(parametrize.is_parametrized(m, "weight") for m in unet.modules()) >= 6


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_minibatch_stddev_option(name: str) -> None:
    from srbench_builtins.networks import MinibatchStdDev

    torch.manual_seed(0)
    with_stddev = REGISTRIES.discriminators.create(name, minibatch_stddev=True).eval()
    torch.manual_seed(0)
    without = REGISTRIES.discriminators.create(name, minibatch_stddev=False).eval()
    layers = [m for m in with_stddev.modules() if isinstance(m, MinibatchStdDev)]
    assert len(layers) == 1 and not any(isinstance(m, MinibatchStdDev) for m in without.modules())
    shapes: list[tuple[torch.Size, torch.Size]] = []
    layers[0].register_forward_hook(lambda mod, inp, out: shapes.append((inp[0].shape, out.shape)))

    batch = torch.rand(1, 3, 32, 32).repeat(4, 1, 1, 1)  # no spread in the group
    other = batch.clone()
    other[1:] = torch.rand(3, 3, 32, 32)  # item 0 unchanged, the rest of its group varied
    with torch.no_grad():
        changed_with = (with_stddev(batch)[0] - with_stddev(other)[0]).abs().max()
        changed_without = (without(batch)[0] - without(other)[0]).abs().max()
    (inp, out), = shapes[:1]
    assert out[1] == inp[1] + 1 and out[2:] == inp[2:]  # one extra feature map, consumed by the next layer
    assert changed_with > 1e-6  # item 0's logits depend on the other items of its group
    assert changed_without == 0
    assert _count(with_stddev) > _count(without)


@pytest.mark.parametrize("name", sorted(n for n in DISCRIMINATORS if _is_builtin(REGISTRIES.discriminators, n)))
def test_discriminator_rejects_bad_options(name: str) -> None:
    with pytest.raises(UsageError, match="nope") as info:
        REGISTRIES.discriminators.create(name, nope=True)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match="'tiny'"):
        REGISTRIES.discriminators.create(name, size="tiny")


def test_srgan_discriminator_accepts_any_size_from_16_px() -> None:
    discriminator = REGISTRIES.discriminators.create("srgan").eval()
    for height, width in [(16, 16), (17, 23), (96, 64)]:
        assert discriminator(torch.rand(2, 3, height, width)).shape == (2,)


def test_patchgan_rejects_too_small_inputs_in_one_line() -> None:
    with pytest.raises(UsageError, match="at least 24 px"):
        REGISTRIES.discriminators.create("patchgan", size="full")(torch.rand(1, 3, 16, 16))


def test_full_discriminators_have_the_papers_widths() -> None:
    with torch.device("meta"):
        full = {name: REGISTRIES.discriminators.create(name, size="full") for name in ("srgan", "patchgan", "unet")}
    assert _conv_widths(full["srgan"]) == {64, 128, 256, 512}  # SRGAN: 64 -> 512, dense 1024
    assert max(m.out_features for m in full["srgan"].modules() if isinstance(m, nn.Linear)) == 1024
    assert _conv_widths(full["patchgan"]) == {64, 128, 256, 512, 1}  # pix2pix 70x70
    assert _conv_widths(full["unet"]) == {64, 128, 256, 512, 1}  # Real-ESRGAN


def test_minibatch_stddev_layer_statistic() -> None:
    from srbench_builtins.networks import MinibatchStdDev

    x = torch.randn(6, 2, 3, 3)
    out = MinibatchStdDev(group_size=3)(x)  # groups {0, 2, 4} and {1, 3, 5}
    assert out.shape == (6, 3, 3, 3)
    torch.testing.assert_close(out[:, :2], x)
    first_group = x[0::2].std(dim=0, unbiased=False).mean()
    torch.testing.assert_close(out[0, 2], torch.full((3, 3), first_group.item()), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(out[4, 2], out[0, 2])
    assert not torch.allclose(out[1, 2], out[0, 2])
    # A batch of identical items has zero spread.
    same = MinibatchStdDev()(torch.ones(4, 2, 3, 3))
    assert same[:, 2].abs().max() < 1e-3
