"""A plugin whose import fails, as when a third-party plugin lacks one of its dependencies."""

raise ImportError("srbench-test: the dependency 'not_installed_pkg' of broken_import is missing")
