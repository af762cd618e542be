"""Built-in training strategies (methods).

Shared building blocks for methods (also used by the few-HR methods): :mod:`.gan_common`
(discriminator/generator adversarial steps), :mod:`.replay` (experience replay buffer),
:mod:`.schedules` (phases, weight ramps, learning-rate decay) and :mod:`.perceptual` (pixel
and VGG19 content losses).
"""

from srbench.hookspecs import hookimpl

from .bicubic import Bicubic
from .srgan import SRGANMethod
from .srresnet import SRResNetMethod


@hookimpl
def srbench_register_methods(methods):
    methods.register("bicubic", Bicubic, "bicubic interpolation (MATLAB imresize); no training, the floor")
    methods.register("srresnet", SRResNetMethod,
                     "generator trained with a pixel loss on the paired subset (SRResNet); needs paired HR")
    methods.register("srgan", SRGANMethod,
                     "SRGAN on the paired subset: content + adversarial loss, with the SRGAN report's tricks")
