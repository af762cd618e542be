"""Built-in metrics plugin: the SR protocol's PSNR/SSIM, consistency with the LR, spectral fidelity,
and two realism scores that need no network: SWD of patch statistics and NIQE."""

from srbench.hookspecs import hookimpl

from .lr_psnr import LrPsnr
from .niqe import Niqe
from .psnr_rgb import PsnrRgb
from .psnr_y import PsnrY
from .spectral import HfRatio, PeriodicRatio, SpectralDistance
from .ssim_y import SsimY
from .swd import Swd


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register("psnr_y", PsnrY, "PSNR (dB) on BT.601 Y, scale-px border cropped (SR-paper protocol)")
    metrics.register("ssim_y", SsimY, "SSIM on BT.601 Y, 11x11 Gaussian window, scale-px border cropped")
    metrics.register("psnr_rgb", PsnrRgb, "PSNR (dB) over RGB channels, scale-px border cropped")
    metrics.register("lr_psnr", LrPsnr, "PSNR (dB, Y) of degrade(SR) vs the LR input: consistency with the observation")
    metrics.register("hf_ratio", HfRatio, "SR/HR energy above the LR Nyquist frequency; best = 1 (ranked by |value - 1|)")
    metrics.register("spectral_distance", SpectralDistance,
                     "mean |log10 radial power SR - HR| above the LR Nyquist; lower is better")
    metrics.register("periodic_ratio", PeriodicRatio,
                     "share of the above-LR-Nyquist energy on the x-scale grid lines, SR/HR; >> 1 = periodic artefacts")
    metrics.register("swd", Swd, "sliced Wasserstein distance of Laplacian-pyramid 7x7 patch statistics, "
                                 "SR vs HR (Karras et al. 2018); lower is better")
    metrics.register("niqe", Niqe, "NIQE of the SR alone (Mittal et al. 2013), lower is better; needs the "
                                   "published pristine-model file (niqe.params_path or $SRBENCH_NIQE_PARAMS)")
