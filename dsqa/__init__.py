"""dsqa: check fine-tuning datasets before they are uploaded."""

from __future__ import annotations

__version__ = "0.1.0"

from .config import Config, load_config  # noqa: E402
from .engine import check  # noqa: E402
from .model import Finding, Record, Report, Severity  # noqa: E402

__all__ = ["Config", "Finding", "Record", "Report", "Severity", "__version__", "check", "load_config"]
