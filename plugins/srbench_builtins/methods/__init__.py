"""Built-in methods plugin."""

from srbench.hookspecs import hookimpl


@hookimpl
def srbench_register_methods(methods):
    pass
