"""Exceptions shared by the core and plugins.

The CLI turns every :class:`SrbenchError` into one line on stderr and exit status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SrbenchError(Exception):
    """Base class: a problem the user can fix, reported as one line."""


class UsageError(SrbenchError):
    """A bad value on the command line, in a config file or in options."""


class UnknownComponentError(UsageError, KeyError):
    """A component name that no loaded plugin registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateComponentError(SrbenchError):
    """Two plugins registered the same name for the same kind of component."""


class PluginLoadError(SrbenchError):
    """A plugin failed to import or to register; raised when one of its components is used."""


class OutputError(SrbenchError):
    """The output folder cannot be written (full, read-only) or is in use by another run."""


class DataError(SrbenchError):
    """A dataset, folder or image file that cannot be used."""


class IncompatibleError(SrbenchError):
    """A method cannot run in this regime (e.g. needs paired HR at hr_fraction 0).

    The runner records the trial as ``incompatible`` with this message instead of ``failed``.
    """


class DivergedError(SrbenchError):
    """Training losses turned NaN or infinite.

    :param training: what the trainer knew when it stopped (steps done, the step that diverged,
        the losses of the last good step and of the bad one), recorded in ``result.json``.
    """

    def __init__(self, message: str, training: dict | None = None) -> None:
        super().__init__(message)
        self.training = dict(training or {})


class MetricUnavailableError(SrbenchError):
    """A metric cannot be computed on these samples (no degradation operator, too few patches).

    The evaluation stores ``null`` and this message as the metric's reason; it never invents a number.
    """
