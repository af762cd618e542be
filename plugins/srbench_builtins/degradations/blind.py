"""``blind``: the blind regime's first-order model, blur + bicubic downscaling + noise + JPEG.

Each image's LR is ``jpeg_q(downscale_s(k * x) + n)`` (the classical degradation of SRMD and
USRNet with the JPEG step of BSRGAN, one order, fixed order) with every parameter drawn per
image from documented ranges:

* ``k``: a Gaussian kernel, isotropic with probability ``isotropic_prob`` (sigma in
  ``blur_sigma``) or anisotropic (two widths drawn in ``blur_sigma``, a rotation in
  ``[-pi, pi]``). [0.2, 2.0] HR px is SRMD's range (0.2 is nearly no blur);
* ``downscale_s``: MATLAB bicubic by the trial's scale (the SR papers' operator);
* ``n``: white Gaussian noise per channel, std drawn in ``noise_sigma`` on the 0-255 scale.
  [0, 10] spans a clean image to clearly visible grain (the ``noise`` degradation's reasoning);
* ``jpeg_q``: JPEG at a quality drawn in ``jpeg_quality`` (straight-through gradient). [60, 95]
  stays above the 50 at which 8 x 8 blocks dominate a 12-px x4 training patch (``realistic``).

The method is told only this distribution (``TrainingData.degradation``, the object itself);
the parameters drawn for each stored LR image are used once by the data pipeline and never
kept (``tests/test_blind_regime.py`` walks everything the method receives to check it).
Calling the degradation (``ambient``'s measurements, the consistency losses) draws fresh
parameters from the same ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from srbench.interfaces import Degradation, DegradationParams
from srbench.options import option

from .bicubic import bicubic_downscale
from .jpeg import jpeg_straight_through
from .kernels import anisotropic_gaussian_kernel, blur_2d
from .noise import draw_seeds, seeded_normal
from .options_checks import check_probability, check_range
from .sampling import bernoulli, uniform

#: Widths below this make a kernel of a single tap (3 sigma < 0.15 px): no blur, and sigma 0 divides by 0.
MIN_BLUR_SIGMA = 0.05


@dataclass(frozen=True)
class BlindOptions:
    blur_sigma: tuple[float, float] = option((0.2, 2.0), "Gaussian blur width range (HR px), drawn per image "
                                                         "(each axis for anisotropic kernels)")
    isotropic_prob: float = option(0.5, "probability that a kernel is isotropic (else anisotropic, rotated)")
    noise_sigma: tuple[float, float] = option((0.0, 10.0), "Gaussian noise std range on the 0-255 scale, drawn per "
                                                           "image")
    jpeg_quality: tuple[int, int] = option((60, 95), "JPEG quality range (1-100), drawn per image")

    def __post_init__(self) -> None:
        check_range("blur_sigma", self.blur_sigma, MIN_BLUR_SIGMA, 10.0)
        check_probability("isotropic_prob", self.isotropic_prob)
        check_range("noise_sigma", self.noise_sigma, 0.0, 255.0)
        check_range("jpeg_quality", self.jpeg_quality, 1, 100)


class Blind(Degradation):
    """Blur (isotropic or anisotropic Gaussian), bicubic downscaling, noise, JPEG; all drawn per image."""

    Options = BlindOptions
    random = True

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> DegradationParams:
        o, n, g = self.options, batch_size, generator
        isotropic = bernoulli(g, n, o.isotropic_prob)
        sigma_x = uniform(g, n, *o.blur_sigma)
        sigma_y = uniform(g, n, *o.blur_sigma)
        theta = uniform(g, n, -math.pi, math.pi)
        low, high = o.jpeg_quality
        return {
            "blur_sigma_x": sigma_x,
            "blur_sigma_y": torch.where(isotropic, sigma_x, sigma_y),
            "blur_theta": torch.where(isotropic, torch.zeros_like(theta), theta),
            "noise_sigma": uniform(g, n, *o.noise_sigma),
            "noise_seed": draw_seeds(n, g),
            "jpeg_quality": torch.randint(int(low), int(high) + 1, (n,), generator=g),
        }

    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        per_image = {key: value.tolist() for key, value in params.items()}
        outputs = []
        for i, image in enumerate(hr):  # kernels differ per image: one at a time
            p: dict[str, Any] = {key: values[i] for key, values in per_image.items()}
            kernel = anisotropic_gaussian_kernel(p["blur_sigma_x"], p["blur_sigma_y"], p["blur_theta"])
            lr = bicubic_downscale(blur_2d(image, kernel).unsqueeze(0), self)[0]
            lr = lr + (p["noise_sigma"] / 255.0) * seeded_normal(tuple(lr.shape), p["noise_seed"], lr)
            outputs.append(jpeg_straight_through(lr, p["jpeg_quality"]))
        return torch.stack(outputs)
