"""Built-in datasets plugin."""

from srbench.hookspecs import hookimpl


@hookimpl
def srbench_register_datasets(datasets):
    pass
