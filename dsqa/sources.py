"""Compatibility names: the reader is in reading.py, spans in spans.py, atomic writes in outputs.py."""

from __future__ import annotations

from .outputs import write_atomic
from .reading import BOM, DEFAULT_MAX_LINE_BYTES, READER, crlf_finding, loads, open_source, read_records, records_at
from .spans import Span, split_lines

__all__ = [
    "BOM", "DEFAULT_MAX_LINE_BYTES", "READER", "Span", "crlf_finding", "loads", "open_source", "read_records",
    "records_at", "split_lines", "write_atomic",
]
