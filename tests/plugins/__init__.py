"""Fake plugins used by the plugin-system tests (loaded as modules, e.g. ``plugins.good_extra``)."""
