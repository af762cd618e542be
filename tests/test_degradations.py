"""The built-in degradation plugins: sizes, gradients, determinism, and what each operator does."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from srbench.errors import UsageError
from srbench.interfaces import Degradation
from srbench.options import parse_options
from srbench.ops.color import quantize
from srbench.ops.imresize import imresize
from srbench.plugin_manager import load_plugins

REGISTRY = load_plugins().registries.degradations
NAMES = REGISTRY.names()


def make(name: str, scale: int, **options: object) -> Degradation:
    cls = REGISTRY.get(name).factory
    return REGISTRY.create(name, scale, parse_options(cls.Options, options, f"degradation {name!r}"))


def params_for(degradation: Degradation, batch: int, seed: int) -> dict[str, torch.Tensor]:
    return degradation.sample_params(batch, torch.Generator().manual_seed(seed))


def hr_batch(batch: int = 2, size: tuple[int, int] = (24, 24), seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 3, *size, generator=torch.Generator().manual_seed(seed))


def test_builtins_are_registered() -> None:
    assert {"bicubic", "blur", "noise", "realistic"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(24, 24), (25, 31), (13, 9)])
def test_output_is_lr_size(name: str, scale: int, size: tuple[int, int]) -> None:
    degradation = REGISTRY.create(name, scale)
    out = degradation.apply(hr_batch(2, size), params_for(degradation, 2, 0))
    assert out.shape == (2, 3, *degradation.lr_size(*size))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_gradient_flows_to_input(name: str) -> None:
    degradation = REGISTRY.create(name, 2)
    hr = hr_batch(2, (20, 22)).requires_grad_(True)
    out = degradation.apply(hr, params_for(degradation, 2, 1))
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    assert hr.grad is not None and torch.isfinite(hr.grad).all()
    assert hr.grad.abs().sum() > 0
    for i in range(2):  # every image of the batch receives gradient
        assert hr.grad[i].abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_same_params_same_output(name: str) -> None:
    degradation = REGISTRY.create(name, 3)
    hr = hr_batch(3, (25, 31))
    params = params_for(degradation, 3, 5)
    assert torch.equal(degradation.apply(hr, params), degradation.apply(hr, params))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_params(name: str) -> None:
    degradation = REGISTRY.create(name, 4)
    first, second = params_for(degradation, 4, 11), params_for(degradation, 4, 11)
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].shape[0] == 4, key  # first dimension is the batch
        assert torch.equal(first[key], second[key]), key


@pytest.mark.parametrize("name", NAMES)
def test_seed_changes_output_exactly_when_random(name: str) -> None:
    degradation = REGISTRY.create(name, 2)
    hr = hr_batch(2, (24, 24))
    a = degradation.apply(hr, params_for(degradation, 2, 0))
    b = degradation.apply(hr, params_for(degradation, 2, 1))
    if degradation.random:
        assert not torch.allclose(a, b)
    else:
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_call_samples_and_applies(name: str) -> None:
    degradation = REGISTRY.create(name, 2)
    hr = hr_batch(2, (16, 16))
    out = degradation(hr, torch.Generator().manual_seed(3))
    assert torch.equal(out, degradation.apply(hr, params_for(degradation, 2, 3)))


def test_call_moves_the_drawn_parameters_to_the_images_device() -> None:
    class _Shift(Degradation):
        """Adds a per-image offset drawn on the CPU; apply() needs it on the images' device."""

        random = True

        def sample_params(self, batch_size, generator=None):
            return {"offset": torch.rand(batch_size, generator=generator), "name": "shift"}

        def apply(self, hr, params):
            assert params["offset"].device == hr.device and params["name"] == "shift"
            return hr[..., ::self.scale, ::self.scale] + params["offset"][:, None, None, None]

    hr = torch.zeros(2, 3, 8, 8, device="meta")  # any device other than the CPU the parameters start on
    assert _Shift(2)(hr).device.type == "meta"
    out = _Shift(2)(torch.zeros(2, 3, 8, 8), torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 0, 0, 0], torch.rand(2, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("name", NAMES)
def test_each_image_is_degraded_independently_of_its_batch(name: str) -> None:
    degradation = REGISTRY.create(name, 2)
    hr = hr_batch(3, (20, 20))
    params = params_for(degradation, 3, 2)
    batched = degradation.apply(hr, params)
    for i in range(3):
        single = degradation.apply(hr[i:i + 1], {k: v[i:i + 1] for k, v in params.items()})
        torch.testing.assert_close(single[0], batched[i], rtol=0, atol=1e-5)


def test_bicubic_is_matlab_imresize() -> None:
    hr = hr_batch(2, (25, 31)).double()
    out = REGISTRY.create("bicubic", 3).apply(hr, {})
    assert torch.equal(out, imresize(hr, 1 / 3))


def _high_frequency_energy(x: torch.Tensor) -> float:
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return float(dx.pow(2).mean() + dy.pow(2).mean())


def test_blur_with_larger_sigma_has_less_high_frequency_energy() -> None:
    hr = hr_batch(2, (64, 64))
    energies = []
    for sigma in (0.3, 1.0, 2.5):
        blur = make("blur", 2, sigma=(sigma, sigma))
        energies.append(_high_frequency_energy(blur.apply(hr, params_for(blur, 2, 0))))
    assert energies[0] > energies[1] > energies[2]


def test_blur_with_fixed_sigma_is_deterministic() -> None:
    blur = make("blur", 2, sigma=(1.2, 1.2))
    assert not blur.random
    assert blur.sample_params(2)["sigma"].tolist() == [1.2, 1.2]
    assert REGISTRY.create("blur", 2).random


def test_blur_sigma_is_drawn_within_range() -> None:
    blur = make("blur", 2, sigma=(0.5, 1.5))
    sigma = params_for(blur, 500, 0)["sigma"]
    assert sigma.min() >= 0.5 and sigma.max() <= 1.5 and sigma.std() > 0.2


def test_noise_has_the_drawn_strength() -> None:
    noise = make("noise", 2, sigma=(10.0, 10.0))
    hr = hr_batch(1, (128, 128))
    residual = noise.apply(hr, params_for(noise, 1, 0)) - imresize(hr, 1 / 2)
    assert abs(float(residual.std()) * 255 - 10.0) < 0.5
    assert abs(float(residual.mean()) * 255) < 0.5


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="sigma"):
        make("blur", 2, sigma="2.0,1.0")
    with pytest.raises(UsageError, match="sigma"):
        make("noise", 2, sigma=(-1.0, 3.0))
    with pytest.raises(UsageError, match="jpeg_quality1"):
        make("realistic", 2, jpeg_quality1=(0, 90))


def test_realistic_draws_every_choice_in_params() -> None:
    realistic = REGISTRY.create("realistic", 4)
    params = params_for(realistic, 64, 0)
    assert params["blur1"].all()  # round 1 always blurs
    assert 0 < params["blur2"].sum() < 64  # round 2 sometimes
    assert params["jpeg1_quality"].min() >= 50 and params["jpeg1_quality"].max() <= 95
    factors = params["resize1_factor"]
    assert (factors > 1).any() and (factors < 1).any() and (factors == 1).any()
    assert set(params["final_mode"].tolist()) == {0, 1, 2}


def test_realistic_grayscale_image() -> None:
    realistic = REGISTRY.create("realistic", 2)
    hr = torch.rand(2, 1, 24, 24)
    assert realistic.apply(hr, params_for(realistic, 2, 0)).shape == (2, 1, 12, 12)


def _jpeg_file_roundtrip(image: torch.Tensor, quality: int) -> torch.Tensor:
    buffer = io.BytesIO()
    Image.fromarray(quantize(image).permute(1, 2, 0).numpy()).save(buffer, format="JPEG", quality=quality)
    return torch.from_numpy(np.array(Image.open(io.BytesIO(buffer.getvalue())))).permute(2, 0, 1).float() / 255


def test_jpeg_straight_through_forward_is_jpeg_and_backward_is_identity() -> None:
    from srbench_builtins.degradations.jpeg import jpeg_straight_through

    x = hr_batch(2, (16, 24)).requires_grad_(True)
    y = jpeg_straight_through(x, [30, 80])
    for i, quality in enumerate((30, 80)):
        expected = _jpeg_file_roundtrip(x[i].detach(), quality)
        torch.testing.assert_close(y[i].detach(), expected, rtol=0, atol=1e-6)
    assert not torch.allclose(y.detach(), x.detach(), atol=1e-3)  # compression really happened
    upstream = torch.randn_like(x)
    y.backward(upstream)
    assert torch.equal(x.grad, upstream)
