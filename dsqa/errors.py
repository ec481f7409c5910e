"""Errors that end a run with exit code 2 and a one-line message."""

from __future__ import annotations


class DsqaError(Exception):
    """A problem with the invocation, configuration or input that stops the run (exit 2)."""

    exit_code = 2


class InputError(DsqaError):
    """A dataset file is missing or unreadable."""


class ConfigError(DsqaError):
    """A rule pack or project configuration is invalid."""


class UsageError(DsqaError):
    """The command line asks for something that cannot be done."""
