"""Built-in degradations plugin."""

from srbench.hookspecs import hookimpl


@hookimpl
def srbench_register_degradations(degradations):
    pass
