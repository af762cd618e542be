"""Tensor operations shared by the core and plugins (MATLAB-exact resize, colour conversion, random crops)."""

from .color import quantize, rgb_to_y
from .crops import random_crops
from .imresize import imresize, modcrop

__all__ = ["imresize", "modcrop", "quantize", "random_crops", "rgb_to_y"]
