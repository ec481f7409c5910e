"""The names of JSON types, for messages that say what a parsed value is."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    """The JSON type of a parsed value: null, boolean, number, string, array or object.

    A value that JSON has no name for (a date from a Parquet file) is named by its Python type.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def schema_type(value: Any) -> str:
    """The JSON Schema type of a parsed value: as ``json_type``, but a whole number is an integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "integer"
    return json_type(value)
