"""Built-in training strategies (methods)."""

from srbench.hookspecs import hookimpl

from .bicubic import Bicubic


@hookimpl
def srbench_register_methods(methods):
    methods.register("bicubic", Bicubic, "bicubic interpolation (MATLAB imresize); no training, the floor")
