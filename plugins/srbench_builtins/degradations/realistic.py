"""``realistic``: a second-order blur/resize/noise/JPEG pipeline in the manner of Real-ESRGAN.

Two rounds of (Wang et al. 2021, "Real-ESRGAN", Sec. 3.1):

1. blur with an isotropic or anisotropic Gaussian (round 2 only with probability ``blur2_prob``);
2. resize up, down or not at all with bicubic, bilinear or area interpolation (round 1 relative
   to the HR size, round 2 relative to the LR size, as Real-ESRGAN does);
3. additive Gaussian noise, per channel or the same for all channels ("gray" noise);
4. JPEG at a random quality (straight-through gradient, see :mod:`.jpeg`);

then a final resize, random mode, to exactly ``lr_size(H, W)``.

The ranges are narrower than Real-ESRGAN's (which targets wild internet photos): blur sigma
0.2-3 then 0.2-1.5 (theirs too), resize 0.5-1.5 then 0.6-1.2 (theirs 0.15-1.5, 0.3-1.2), noise
std 1-15 then 1-10 on 0-255 (theirs 1-30, 1-25), JPEG quality 50-95 (theirs 30-95; below
50 the 8 x 8 blocks dominate an x4 LR training patch of 12 px). Generalized-Gaussian, plateau
and sinc kernels and Poisson noise are left out. Every random choice is drawn in
:meth:`Realistic.sample_params`, so :meth:`Realistic.apply` is a deterministic function of the
image and its params; images are processed one by one because their intermediate sizes differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from srbench.interfaces import Degradation, DegradationParams
from srbench.options import option

from .jpeg import jpeg_straight_through
from .kernels import anisotropic_gaussian_kernel, blur_2d
from .noise import draw_seeds, seeded_normal
from .options_checks import check_probability, check_range
from .sampling import bernoulli, uniform

#: Interpolation modes of the random resizes, indexed by the ``*_mode`` params.
RESIZE_MODES = ("bicubic", "bilinear", "area")
#: Probabilities of (up, down, keep) for the two rounds' resizes (Real-ESRGAN's).
RESIZE_DIRECTION_PROBS = ((0.2, 0.7, 0.1), (0.3, 0.4, 0.3))


@dataclass(frozen=True)
class RealisticOptions:
    blur_sigma1: tuple[float, float] = option((0.2, 3.0), "round-1 Gaussian blur sigma range (px)")
    blur_sigma2: tuple[float, float] = option((0.2, 1.5), "round-2 Gaussian blur sigma range (px)")
    blur2_prob: float = option(0.8, "probability that round 2 blurs at all")
    isotropic_prob: float = option(0.5, "probability that a blur kernel is isotropic (else anisotropic, rotated)")
    resize1: tuple[float, float] = option((0.5, 1.5), "round-1 resize factor range, relative to the HR size")
    resize2: tuple[float, float] = option((0.6, 1.2), "round-2 resize factor range, relative to the LR size")
    noise_sigma1: tuple[float, float] = option((1.0, 15.0), "round-1 Gaussian noise std range, 0-255 scale")
    noise_sigma2: tuple[float, float] = option((1.0, 10.0), "round-2 Gaussian noise std range, 0-255 scale")
    gray_noise_prob: float = option(0.4, "probability that the noise is the same in every channel")
    jpeg_quality1: tuple[int, int] = option((50, 95), "round-1 JPEG quality range (1-100)")
    jpeg_quality2: tuple[int, int] = option((50, 95), "round-2 JPEG quality range (1-100)")

    def __post_init__(self) -> None:
        check_range("blur_sigma1", self.blur_sigma1, 0.05, 10.0)
        check_range("blur_sigma2", self.blur_sigma2, 0.05, 10.0)
        for name in ("resize1", "resize2"):
            low, high = getattr(self, name)
            if not (0.05 <= low <= 1.0 <= high <= 4.0):
                raise ValueError(f"{name} must be (min, max) with 0.05 <= min <= 1 <= max <= 4, got {(low, high)!r}")
        check_range("noise_sigma1", self.noise_sigma1, 0.0, 255.0)
        check_range("noise_sigma2", self.noise_sigma2, 0.0, 255.0)
        check_range("jpeg_quality1", self.jpeg_quality1, 1, 100)
        check_range("jpeg_quality2", self.jpeg_quality2, 1, 100)
        for name in ("blur2_prob", "isotropic_prob", "gray_noise_prob"):
            check_probability(name, getattr(self, name))


def _resize_factors(generator: torch.Generator | None, n: int, probs: tuple[float, float, float],
                    factor_range: tuple[float, float]) -> torch.Tensor:
    direction = torch.rand(n, generator=generator, dtype=torch.float64)
    up = uniform(generator, n, 1.0, factor_range[1])
    down = uniform(generator, n, factor_range[0], 1.0)
    keep = torch.ones(n, dtype=torch.float64)
    return torch.where(direction < probs[0], up, torch.where(direction < probs[0] + probs[1], down, keep))


def _resize(image: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize one ``(C, H, W)`` image with ``F.interpolate`` (no antialiasing, as Real-ESRGAN)."""
    if tuple(image.shape[-2:]) == size:
        return image
    kwargs: dict[str, Any] = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(image.unsqueeze(0), size=size, mode=mode, **kwargs).squeeze(0)


class Realistic(Degradation):
    """Real-ESRGAN-style second-order degradation: 2 x (blur, resize, noise, JPEG), final resize."""

    Options = RealisticOptions
    random = True

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> DegradationParams:
        o, n, g = self.options, batch_size, generator
        params: DegradationParams = {}
        rounds = ((1, o.blur_sigma1, 1.0, o.resize1, o.noise_sigma1, o.jpeg_quality1),
                  (2, o.blur_sigma2, o.blur2_prob, o.resize2, o.noise_sigma2, o.jpeg_quality2))
        for r, sigma_range, blur_prob, resize_range, noise_range, quality_range in rounds:
            isotropic = bernoulli(g, n, o.isotropic_prob)
            sigma_x = uniform(g, n, *sigma_range)
            sigma_y = uniform(g, n, *sigma_range)
            theta = uniform(g, n, -math.pi, math.pi)
            params[f"blur{r}"] = bernoulli(g, n, blur_prob)
            params[f"blur{r}_sigma_x"] = sigma_x
            params[f"blur{r}_sigma_y"] = torch.where(isotropic, sigma_x, sigma_y)
            params[f"blur{r}_theta"] = torch.where(isotropic, torch.zeros_like(theta), theta)
            params[f"resize{r}_factor"] = _resize_factors(g, n, RESIZE_DIRECTION_PROBS[r - 1], resize_range)
            params[f"resize{r}_mode"] = torch.randint(0, len(RESIZE_MODES), (n,), generator=g)
            params[f"noise{r}_sigma"] = uniform(g, n, *noise_range)
            params[f"noise{r}_gray"] = bernoulli(g, n, o.gray_noise_prob)
            params[f"noise{r}_seed"] = draw_seeds(n, g)
            params[f"jpeg{r}_quality"] = torch.randint(quality_range[0], quality_range[1] + 1, (n,), generator=g)
        params["final_mode"] = torch.randint(0, len(RESIZE_MODES), (n,), generator=g)
        return params

    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        lr_size = self.lr_size(int(hr.shape[-2]), int(hr.shape[-1]))
        per_image = {key: value.tolist() for key, value in params.items()}
        outputs = []
        for i, image in enumerate(hr):
            p = {key: values[i] for key, values in per_image.items()}
            outputs.append(self._degrade_one(image, p, lr_size))
        return torch.stack(outputs)

    def _degrade_one(self, image: torch.Tensor, p: dict[str, Any], lr_size: tuple[int, int]) -> torch.Tensor:
        x = image
        references = (tuple(image.shape[-2:]), lr_size)  # what each round's resize factor is relative to
        for r, (ref_h, ref_w) in zip((1, 2), references):
            if p[f"blur{r}"]:
                kernel = anisotropic_gaussian_kernel(p[f"blur{r}_sigma_x"], p[f"blur{r}_sigma_y"], p[f"blur{r}_theta"])
                x = blur_2d(x, kernel)
            factor = p[f"resize{r}_factor"]
            size = (max(1, round(ref_h * factor)), max(1, round(ref_w * factor)))
            x = _resize(x, size, RESIZE_MODES[p[f"resize{r}_mode"]])
            channels = 1 if p[f"noise{r}_gray"] else x.shape[0]
            noise = seeded_normal((channels, *x.shape[-2:]), p[f"noise{r}_seed"], x)
            x = x + (p[f"noise{r}_sigma"] / 255.0) * noise
            x = jpeg_straight_through(x, p[f"jpeg{r}_quality"])
        return _resize(x, lr_size, RESIZE_MODES[p["final_mode"]])
