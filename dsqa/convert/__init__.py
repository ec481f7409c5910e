"""Converters from the formats people start with (Alpaca, ShareGPT, TRL, CSV, Parquet, ...) to OpenAI JSONL."""

from __future__ import annotations

from .base import ConvertError
from .containers import CONTAINERS, Item, read_items
from .pipeline import SOURCE_ALIASES, SOURCES, TARGETS, ConvertResult, convert_file, detect_source, parse_map

__all__ = [
    "CONTAINERS", "SOURCES", "SOURCE_ALIASES", "TARGETS", "ConvertError", "ConvertResult", "Item",
    "convert_file", "detect_source", "parse_map", "read_items",
]
