"""dsqa: check fine-tuning datasets before they are uploaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .model import Finding, Record, Report, Severity

if TYPE_CHECKING:
    from .config import Config, load_config
    from .engine import check

__all__ = ["Config", "Finding", "Record", "Report", "Severity", "__version__", "check", "load_config"]

#: loaded on first use, so that `import dsqa` (and so `dsqa --help`) loads no validator
_LAZY = {"Config": "config", "load_config": "config", "check": "engine"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dsqa' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
