"""Tensor operations shared by the core and plugins (MATLAB-exact resize, colour conversion)."""

from .color import quantize, rgb_to_y
from .imresize import imresize, modcrop

__all__ = ["imresize", "modcrop", "quantize", "rgb_to_y"]
