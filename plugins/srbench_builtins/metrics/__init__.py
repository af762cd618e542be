"""Built-in metrics plugin."""

from srbench.hookspecs import hookimpl


@hookimpl
def srbench_register_metrics(metrics):
    pass
