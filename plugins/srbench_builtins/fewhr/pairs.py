"""Pairs of one content at two resolutions: the training data of the pairwise-resolution critic.

The few-HR proposal's argument: a critic that compares *two* images of the same content learns
from pairs, and pairs multiply a small dataset. Any real image ``x`` gives a pair
``(x, degrade(x))`` where ``degrade`` downscales by a random factor ``f`` in
``[min_factor, scale]`` and bicubic-upscales back to the original size (MATLAB ``imresize``:
the matrices of :func:`srbench.ops.imresize`, see :func:`bicubic_resize`), optionally blurring
too. ``x`` has the higher resolution.
Shown in a random order, each pair is labelled 1 when its first image is the sharper one, 0
otherwise, so an LR-only image gives as many pairs as there are strengths, crops and orders.

Every random draw (factors, blur, orders, shifts) uses a ``torch.Generator`` passed by
the caller, so a checkpointed generator state reproduces the same pairs after a resume.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
import torch
import torch.nn.functional as F

from srbench.errors import UsageError
from srbench.ops.imresize import resize_weights


@dataclass(frozen=True)
class PairBatch:
    """Ordered pairs ``(a, b)`` with the target probability that ``a`` is the sharper image.

    :param a: first images ``(B, C, H, W)``.
    :param b: second images, same shape.
    :param target: ``(B,)`` in ``[0, 1]``: 1 when ``a`` has the higher resolution (minus smoothing).
    :param factors: ``(B,)`` downscale factor that made the degraded image of each pair.
    """

    a: torch.Tensor
    b: torch.Tensor
    target: torch.Tensor
    factors: torch.Tensor


def sample_factors(count: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """``count`` downscale factors drawn uniformly in ``[low, high]`` (``1 < low <= high``)."""
    if not 1.0 < low <= high:
        raise UsageError(f"invalid pair strengths [{low:g}, {high:g}]; expected 1 < min_factor <= scale")
    return low + (high - low) * torch.rand(count, generator=generator, dtype=torch.float64)


def gaussian_blur(x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Blur each image of ``x`` with its own isotropic Gaussian (``sigma <= 0`` leaves it unchanged).

    One grouped convolution for the whole batch; reflect padding keeps the borders unbiased.
    """
    sigmas = sigmas.to(x.device, torch.float64)
    if not bool((sigmas > 0).any()):
        return x
    radius = max(1, int(math.ceil(3.0 * float(sigmas.max()))))
    radius = min(radius, (min(x.shape[-2:]) - 1))  # reflect padding needs radius < side
    if radius < 1:
        return x
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64, device=x.device)
    safe = sigmas.clamp_min(1e-6)[:, None]
    kernel_1d = torch.exp(-0.5 * (offsets[None] / safe) ** 2)
    identity = (offsets == 0).to(torch.float64)[None].expand_as(kernel_1d)
    kernel_1d = torch.where((sigmas > 0)[:, None], kernel_1d, identity)
    kernel_1d = kernel_1d / kernel_1d.sum(dim=1, keepdim=True)
    kernel = (kernel_1d[:, :, None] * kernel_1d[:, None, :]).to(x.dtype)  # (B, k, k)
    b, c, h, w = x.shape
    weight = kernel[:, None].repeat_interleave(c, dim=0)  # (B*C, 1, k, k)
    padded = F.pad(x.reshape(1, b * c, h, w), (radius,) * 4, mode="reflect")
    return F.conv2d(padded, weight, groups=b * c).reshape(b, c, h, w)


@functools.lru_cache(maxsize=1024)
def _axis_matrix(in_len: int, out_len: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # srbench.ops.imresize keeps 32 matrices; pairs at random strengths need ~2 per distinct
    # down size (29 sizes for 48-px crops at x4), which would rebuild one in float64 on
    # every call (~35 ms each on 2 CPU cores). These are the same MATLAB matrices, cached here.
    return resize_weights(in_len, out_len, out_len / in_len, True, dtype, device)


def bicubic_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``srbench.ops.imresize(x, size=size)`` for square-or-not batches, with a larger matrix cache."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    out_h, out_w = int(size[0]), int(size[1])
    weights_h = _axis_matrix(h, out_h, x.dtype, x.device)
    weights_w = _axis_matrix(w, out_w, x.dtype, x.device)
    if out_w / w < out_h / h:  # imresize's order: the axis with the smaller factor first
        return torch.matmul(weights_h, torch.matmul(x, weights_w.T))
    return torch.matmul(torch.matmul(weights_h, x), weights_w.T)


def degrade_copy(x: torch.Tensor, factors: torch.Tensor, blur_sigmas: torch.Tensor | None = None) -> torch.Tensor:
    """Lower-resolution copies of ``x`` at the same size: down by ``factors[i]``, bicubic back up.

    The down size is ``max(1, round(side / f))`` per axis (MATLAB bicubic with antialiasing); the
    copy is then resized to the original ``H x W``, so the pair is aligned pixel for pixel.
    Differentiable with respect to ``x`` (the critic's pairs of generated images keep no graph,
    but the function does not prevent it).

    :param x: ``(B, C, H, W)`` floating batch.
    :param factors: ``(B,)`` factors ``> 1``.
    :param blur_sigmas: optional ``(B,)`` Gaussian sigmas (pixels of the original size) applied
        after re-upscaling; ``0`` = no blur.
    """
    if factors.shape != (x.shape[0],):
        raise UsageError(f"degrade_copy: got {tuple(factors.shape)} factors for a batch of {x.shape[0]}")
    h, w = int(x.shape[-2]), int(x.shape[-1])
    out = []
    for image, f in zip(x, factors.tolist()):
        small = (max(1, int(round(h / f))), max(1, int(round(w / f))))
        down = bicubic_resize(image[None], small)
        out.append(bicubic_resize(down, (h, w)))
    copies = torch.cat(out)
    if blur_sigmas is not None:
        copies = gaussian_blur(copies, blur_sigmas)
    return copies


def sample_blur_sigmas(count: int, probability: float, sigma_max: float, generator: torch.Generator) -> torch.Tensor:
    """Per-image blur sigmas: ``U(0, sigma_max)`` with ``probability``, else 0 (no blur)."""
    on = torch.rand(count, generator=generator) < probability
    sigmas = sigma_max * torch.rand(count, generator=generator, dtype=torch.float64)
    return torch.where(on, sigmas, torch.zeros_like(sigmas))


def order_pairs(sharp: torch.Tensor, blurry: torch.Tensor, generator: torch.Generator,
                label_smoothing: float = 0.0, factors: torch.Tensor | None = None) -> PairBatch:
    """Show each ``(sharp, blurry)`` pair in a random order, labelled by which one comes first.

    Swapped pairs (about half) get target ``label_smoothing``, the others ``1 - label_smoothing``.
    """
    if sharp.shape != blurry.shape:
        raise UsageError(f"order_pairs: images of shapes {tuple(sharp.shape)} and {tuple(blurry.shape)} "
                         "are not the same content at the same size")
    swap = torch.rand(sharp.shape[0], generator=generator) < 0.5
    mask = swap.to(sharp.device)[:, None, None, None]
    a = torch.where(mask, blurry, sharp)
    b = torch.where(mask, sharp, blurry)
    target = torch.where(swap, torch.tensor(label_smoothing), torch.tensor(1.0 - label_smoothing))
    if factors is None:
        factors = torch.full((sharp.shape[0],), float("nan"), dtype=torch.float64)
    return PairBatch(a, b, target.to(sharp.device, sharp.dtype), factors)


def make_resolution_pairs(images: torch.Tensor, *, min_factor: float, max_factor: float,
                          generator: torch.Generator, blur_probability: float = 0.0, blur_sigma_max: float = 0.0,
                          label_smoothing: float = 0.0) -> PairBatch:
    """Pairs ``(image, degraded copy)`` at random strengths, in random orders (see the module doc)."""
    factors = sample_factors(images.shape[0], min_factor, max_factor, generator)
    sigmas = (sample_blur_sigmas(images.shape[0], blur_probability, blur_sigma_max, generator)
              if blur_probability > 0 and blur_sigma_max > 0 else None)
    copies = degrade_copy(images, factors, sigmas)
    return order_pairs(images, copies, generator, label_smoothing, factors)


def shift_jointly(a: torch.Tensor, b: torch.Tensor, max_shift: int,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop ``a`` and ``b`` with the same random offset in ``[0, max_shift)`` per axis.

    The pair stays aligned, but its position relative to the generator's pixel-shuffle grid
    (period 2 or the scale) changes from batch to batch, so a critic with strided layers cannot
    key on one fixed phase of a checkerboard. Both sides lose ``max_shift - 1`` pixels;
    images too small for that are returned unchanged.
    """
    if max_shift <= 1 or min(a.shape[-2:]) <= 2 * max_shift:
        return a, b
    dy, dx = (int(v) for v in torch.randint(0, max_shift, (2,), generator=generator))
    h, w = a.shape[-2] - (max_shift - 1), a.shape[-1] - (max_shift - 1)
    return a[..., dy:dy + h, dx:dx + w], b[..., dy:dy + h, dx:dx + w]


__all__ = ["PairBatch", "bicubic_resize", "degrade_copy", "gaussian_blur", "make_resolution_pairs", "order_pairs",
           "sample_blur_sigmas", "sample_factors", "shift_jointly"]
