"""Built-in few-HR methods: learning SR with few or no HR training images.

Each method is a generator trained with LR-consistency plus an unsupervised term; the terms
(:mod:`.unpaired_terms`) are shared so ``fewhr`` can combine them with a supervised loss.
"""

from srbench.hookspecs import hookimpl


@hookimpl
def srbench_register_methods(methods):
    # One line per method; the modules are imported here so an error names the method's module.
    pass
