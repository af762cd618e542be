"""Built-in metrics plugin: the SR protocol's PSNR/SSIM on Y and PSNR on RGB."""

from srbench.hookspecs import hookimpl

from .psnr_rgb import PsnrRgb
from .psnr_y import PsnrY
from .ssim_y import SsimY


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register("psnr_y", PsnrY, "PSNR (dB) on BT.601 Y, scale-px border cropped (SR-paper protocol)")
    metrics.register("ssim_y", SsimY, "SSIM on BT.601 Y, 11x11 Gaussian window, scale-px border cropped")
    metrics.register("psnr_rgb", PsnrRgb, "PSNR (dB) over RGB channels, scale-px border cropped")
