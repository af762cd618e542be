"""Blur kernels drawn per image and their batched application (shared by ``blur`` and ``realistic``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Gaussian kernels are cut at 3 sigma (99.7 % of the mass in 1-D).
TRUNCATE_SIGMAS = 3.0


def gaussian_radius(sigma: float, max_radius: int | None = None) -> int:
    """Kernel radius for ``sigma``: ``ceil(3 sigma)``, at least 1, at most ``max_radius``."""
    radius = max(1, math.ceil(TRUNCATE_SIGMAS * float(sigma)))
    return radius if max_radius is None else min(radius, max_radius)


def gaussian_kernels_1d(sigmas: torch.Tensor) -> torch.Tensor:
    """Normalised 1-D Gaussians, one row per sigma, float64 ``(B, 2R + 1)``.

    Each row is cut at its own radius ``ceil(3 sigma)`` and zero-padded to the batch's largest
    ``R``, so an image's blur does not depend on which other images share its batch.
    """
    sig = sigmas.detach().to(torch.float64).cpu().reshape(-1)
    radii = torch.tensor([gaussian_radius(s) for s in sig.tolist()], dtype=torch.float64)
    big = int(radii.max().item())
    t = torch.arange(-big, big + 1, dtype=torch.float64)
    kernels = torch.exp(-0.5 * (t.unsqueeze(0) / sig.unsqueeze(1)) ** 2)
    kernels = kernels * (t.abs().unsqueeze(0) <= radii.unsqueeze(1))
    return kernels / kernels.sum(dim=1, keepdim=True)


def anisotropic_gaussian_kernel(sigma_x: float, sigma_y: float, theta: float, max_radius: int = 10) -> torch.Tensor:
    """Normalised 2-D Gaussian with principal widths ``sigma_x``, ``sigma_y`` rotated by ``theta``.

    Float64 ``(2r + 1, 2r + 1)``, ``r = ceil(3 max(sigma))`` capped at ``max_radius`` (10 gives
    Real-ESRGAN's largest 21 x 21 kernel).
    """
    radius = gaussian_radius(max(sigma_x, sigma_y), max_radius)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    cos, sin = math.cos(theta), math.sin(theta)
    u = cos * xx + sin * yy  # coordinates along the kernel's principal axes
    v = -sin * xx + cos * yy
    kernel = torch.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return kernel / kernel.sum()


def _pad(x: torch.Tensor, pad_h: int, pad_w: int) -> torch.Tensor:
    # Reflection like MATLAB-style pipelines; images too small to reflect fall back to replicate.
    mode = "reflect" if pad_h < x.shape[-2] and pad_w < x.shape[-1] else "replicate"
    return F.pad(x, (pad_w, pad_w, pad_h, pad_h), mode=mode)


def separable_blur(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Blur each image of ``(B, C, H, W)`` with its own symmetric 1-D kernel along both axes.

    :param kernels: ``(B, K)`` with odd ``K``, from :func:`gaussian_kernels_1d`.
    """
    b, c, h, w = x.shape
    radius = (kernels.shape[1] - 1) // 2
    weight = kernels.to(device=x.device, dtype=x.dtype).repeat_interleave(c, dim=0)  # (B*C, K)
    flat = _pad(x.reshape(1, b * c, h, w), radius, radius)
    flat = F.conv2d(flat, weight.view(b * c, 1, -1, 1), groups=b * c)
    flat = F.conv2d(flat, weight.view(b * c, 1, 1, -1), groups=b * c)
    return flat.view(b, c, h, w)


def blur_2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Blur one ``(C, H, W)`` image with a 2-D kernel ``(k, k)`` (same kernel for every channel)."""
    c = image.shape[0]
    radius = (kernel.shape[-1] - 1) // 2
    weight = kernel.to(device=image.device, dtype=image.dtype).expand(c, 1, *kernel.shape)
    out = F.conv2d(_pad(image.unsqueeze(0), radius, radius), weight, groups=c)
    return out.squeeze(0)
