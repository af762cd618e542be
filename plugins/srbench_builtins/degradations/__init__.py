"""Built-in degradations plugin: bicubic, blur, noise, blind (the blind regime) and realistic (Real-ESRGAN-style)."""

from srbench.hookspecs import hookimpl

from .bicubic import Bicubic
from .blind import Blind
from .blur import Blur
from .noise import Noise
from .realistic import Realistic


@hookimpl
def srbench_register_degradations(degradations):
    degradations.register("bicubic", Bicubic, "MATLAB bicubic downscaling with antialiasing (the SR papers' LR)")
    degradations.register("blur", Blur, "Gaussian blur, sigma drawn per image, then bicubic downscaling")
    degradations.register("noise", Noise, "bicubic downscaling then Gaussian noise, std drawn per image (0-255)")
    degradations.register("blind", Blind, "blind regime: Gaussian blur (iso/anisotropic), bicubic, noise, JPEG; "
                                          "all drawn per image, hidden from methods")
    degradations.register("realistic", Realistic, "Real-ESRGAN-style 2nd-order blur/resize/noise/JPEG pipeline")
