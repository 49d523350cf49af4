"""The error every config and input-file check raises."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value or input file is invalid."""
