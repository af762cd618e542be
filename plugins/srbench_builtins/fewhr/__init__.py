"""Built-in few-HR methods: learning SR with few or no HR training images.

Each method is a generator trained with LR-consistency plus an unsupervised term; the terms
(:mod:`.unpaired_terms`) are shared so ``fewhr`` can combine them with a supervised loss.
"""

from srbench.hookspecs import hookimpl

from .fewhr import FewHRMethod
from .pairwise import PairwiseMethod

from .ambient import AmbientMethod
from .crossscale import CrossScaleMethod
from .cyclesr import CycleSRMethod
from .unsupervised import UnsupervisedMethod


@hookimpl
def srbench_register_methods(methods):
    # One line per method; the modules are imported here so an error names the method's module.
    methods.register("fewhr", FewHRMethod, "semi-supervised few-HR: pixel loss on the paired subset + consistency and a chosen unpaired term on the LR-only subset")
    methods.register("pairwise", PairwiseMethod, "iterative x2 encdec + LR-consistency + Siamese pairwise-resolution critic (few-HR proposal); x2/x4")
    methods.register("crossscale", CrossScaleMethod, "ZSSR-style internal learning: LR-of-LR -> LR, plus LR-consistency; no HR at all")
    methods.register("unsupervised", UnsupervisedMethod, "SRGAN report III.2: LR-consistency + adversarial vs an unpaired HR pool; needs --hr-source")
    methods.register("ambient", AmbientMethod, "AmbientGAN for SR: adversarial loss on random differentiable measurements of the output")
    methods.register("cyclesr", CycleSRMethod, "CycleGAN as unpaired SR: LR<->HR generators, two discriminators, cycle + identity; needs an HR pool")
    pass
