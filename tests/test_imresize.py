"""MATLAB-exact bicubic imresize, against an independent loop implementation of MATLAB's recipe."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srbench.errors import UsageError
from srbench.ops.color import quantize, rgb_to_y
from srbench.ops.imresize import imresize, modcrop, resize_weights

# --- an independent, slow reference: MATLAB's imresize 'bicubic' written with plain loops ------------


def _cubic(t: float) -> float:
    a = abs(t)
    if a <= 1:
        return 1.5 * a**3 - 2.5 * a**2 + 1
    if a <= 2:
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
    return 0.0


def _mirror(j: int, n: int) -> int:
    """1-based index j folded into 1..n by symmetric reflection (edge pixel repeated)."""
    while j < 1 or j > n:
        j = 1 - j if j < 1 else 2 * n + 1 - j
    return j


def _reference_resize_rows(img: np.ndarray, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    n = img.shape[0]
    width, kscale = 4.0, 1.0
    if scale < 1 and antialias:
        width, kscale = 4.0 / scale, scale
    out = np.zeros((out_len,) + img.shape[1:])
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = [left + k for k in range(math.ceil(width) + 2)]
        weights = [kscale * _cubic(kscale * (u - j)) for j in taps]
        total = sum(weights)
        for j, w in zip(taps, weights):
            out[x - 1] += (w / total) * img[_mirror(j, n) - 1]
    return out


def reference_imresize(img: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """(H, W) float64 -> MATLAB imresize(img, scale, 'bicubic'); height first, then width."""
    out_h, out_w = math.ceil(img.shape[0] * scale), math.ceil(img.shape[1] * scale)
    rows = _reference_resize_rows(img, out_h, scale, antialias)
    return _reference_resize_rows(rows.T, out_w, scale, antialias).T


# --- tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(24, 24), (17, 23), (9, 13), (5, 4)])
def test_output_sizes_down_and_up(scale: int, size: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *size)
    down = imresize(x, 1 / scale)
    assert down.shape == (2, 3, math.ceil(size[0] / scale), math.ceil(size[1] / scale))
    up = imresize(x, scale)
    assert up.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert imresize(x[0], 1 / scale).shape == down.shape[1:]  # (C, H, W) works too


def test_explicit_size_and_scale_with_size() -> None:
    x = torch.rand(1, 1, 17, 23, dtype=torch.float64)
    assert imresize(x, size=(5, 9)).shape == (1, 1, 5, 9)
    # scale sets the kernel, size the output: identical to the scale-only path when they agree.
    torch.testing.assert_close(imresize(x, scale=1 / 3, size=(6, 8)), imresize(x, 1 / 3), rtol=0, atol=1e-15)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 2, 3, 4])
@pytest.mark.parametrize("antialias", [True, False])
def test_constant_image_stays_constant(scale: float, antialias: bool) -> None:
    x = torch.full((1, 3, 13, 10), 0.37, dtype=torch.float64)
    out = imresize(x, scale, antialias=antialias)
    torch.testing.assert_close(out, torch.full_like(out, 0.37), rtol=0, atol=1e-12)


@pytest.mark.parametrize("in_len,out_len,scale", [(17, 6, 1 / 3), (12, 3, 1 / 4), (7, 14, 2.0), (5, 20, 4.0), (9, 9, 1.0)])
@pytest.mark.parametrize("antialias", [True, False])
def test_weight_rows_sum_to_one(in_len: int, out_len: int, scale: float, antialias: bool) -> None:
    w = resize_weights(in_len, out_len, scale, antialias)
    assert w.shape == (out_len, in_len)
    torch.testing.assert_close(w.sum(dim=1), torch.ones(out_len, dtype=torch.float64), rtol=0, atol=1e-12)


def test_scale_one_is_identity() -> None:
    x = torch.rand(2, 3, 7, 9, dtype=torch.float64)
    torch.testing.assert_close(imresize(x, 1.0), x, rtol=0, atol=1e-15)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 2, 3, 4])
def test_matches_loop_reference(scale: float) -> None:
    rng = np.random.default_rng(7)
    img = rng.random((13, 10))
    expected = reference_imresize(img, scale)
    got = imresize(torch.from_numpy(img)[None, None], scale)[0, 0].numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_matches_loop_reference_without_antialias() -> None:
    img = np.random.default_rng(3).random((12, 11))
    got = imresize(torch.from_numpy(img), 1 / 3, antialias=False).numpy()
    np.testing.assert_allclose(got, reference_imresize(img, 1 / 3, antialias=False), rtol=0, atol=1e-12)


def test_batch_equals_per_image_and_keeps_dtype() -> None:
    x = torch.rand(3, 2, 11, 14)
    out = imresize(x, 1 / 2)
    assert out.dtype == torch.float32
    for i in range(3):
        torch.testing.assert_close(out[i], imresize(x[i], 1 / 2))


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_gradcheck(scale: float) -> None:
    x = torch.rand(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, scale), (x,), fast_mode=True)


def test_bad_arguments_raise_usage_error() -> None:
    with pytest.raises(UsageError, match="floating"):
        imresize(torch.zeros(1, 1, 4, 4, dtype=torch.uint8), 0.5)
    with pytest.raises(UsageError, match="neither"):
        imresize(torch.zeros(1, 1, 4, 4))
    with pytest.raises(UsageError, match="scale"):
        imresize(torch.zeros(1, 1, 4, 4), -2.0)


def test_rgb_to_y_is_bt601() -> None:
    pixels = torch.tensor([[0, 255, 255], [0, 255, 0], [0, 255, 0]], dtype=torch.uint8).view(3, 1, 3)
    y = rgb_to_y(pixels)
    assert y.shape == (1, 1, 3) and y.dtype == torch.float64
    # black -> 16, white -> 235, pure red -> 16 + 65.481
    torch.testing.assert_close(y.flatten(), torch.tensor([16.0, 235.0, 81.481], dtype=torch.float64))
    # [0, 1] convention: everything scales with the data range
    torch.testing.assert_close(rgb_to_y(pixels.double() / 255, data_range=1.0), y / 255)
    gray = torch.rand(2, 1, 4, 4)
    assert torch.equal(rgb_to_y(gray), gray)
    with pytest.raises(UsageError):
        rgb_to_y(torch.rand(2, 4, 4))


def test_quantize_and_modcrop() -> None:
    x = torch.tensor([-0.3, 0.2 / 255, 0.7 / 255, 254.6 / 255, 1.4])
    q = quantize(x)
    assert q.dtype == torch.uint8
    assert q.tolist() == [0, 0, 1, 255, 255]
    img = torch.zeros(3, 17, 23, dtype=torch.uint8)
    assert modcrop(img, 4).shape == (3, 16, 20)
    assert modcrop(img, 1).shape == img.shape
    with pytest.raises(UsageError):
        modcrop(img, 0)
