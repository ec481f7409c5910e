"""Documentation and options of the findings the reader reports while parsing a file."""

from __future__ import annotations

from typing import Any, ClassVar

from ..model import Severity
from ..sources import DEFAULT_MAX_LINE_BYTES
from .base import Code, Validator


class ReaderValidator(Validator):
    """Reading the file: every line must be one UTF-8 JSON object.

    dsqa reads JSONL (one JSON object per line) and ``.json`` files that hold one array of
    objects. Every line is accounted for: a line that cannot be used is reported at its line
    number and the run goes on to the end of the file.

    Codes:
      RDR001  invalid JSON (with the column); NaN and Infinity are not JSON
      RDR002  invalid UTF-8
      RDR003  a byte-order mark at the start of the file (warning)
      RDR004  CRLF line endings, reported once per file with the count (warning)
      RDR005  a blank line (warning)
      RDR006  a line that is valid JSON but not an object
      RDR007  a NUL byte (usually a UTF-16 or binary file)
      RDR008  a line longer than ``max_line_bytes``; it is skipped without being loaded
      RDR009  a malformed JSON array in a .json file

    Options (``validators.reader``):
      max_line_bytes: 33554432   lines longer than this are not parsed (RDR008)

    Passing:  {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
    Failing:  {"messages": [{"role": "user", "content": "Hi"},]}      -> RDR001 invalid JSON (column 49)
    """

    name = "reader"
    codes: ClassVar[dict[str, Code]] = {
        "RDR001": Code(Severity.ERROR, "line is not valid JSON"),
        "RDR002": Code(Severity.ERROR, "line is not valid UTF-8"),
        "RDR003": Code(Severity.WARNING, "file starts with a byte-order mark"),
        "RDR004": Code(Severity.WARNING, "file has CRLF line endings"),
        "RDR005": Code(Severity.WARNING, "blank line"),
        "RDR006": Code(Severity.ERROR, "line is JSON but not an object"),
        "RDR007": Code(Severity.ERROR, "line contains a NUL byte"),
        "RDR008": Code(Severity.ERROR, "line is over the size limit"),
        "RDR009": Code(Severity.ERROR, "malformed JSON array file"),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"max_line_bytes": {"type": "integer", "minimum": 1}},
        "additionalProperties": False,
    }
    defaults = {"max_line_bytes": DEFAULT_MAX_LINE_BYTES}
