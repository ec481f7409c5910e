"""The installed version of dsqa, read from the package metadata (no import of the rest of dsqa)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("dsqa")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
