"""Documentation and options of the findings the reader reports while parsing a file."""

from __future__ import annotations

from typing import Any, ClassVar

from ..model import Severity
from ..reading import DEFAULT_MAX_LINE_BYTES
from .base import Code, Validator

_OK = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}'


class ReaderValidator(Validator):
    """Reading the file: every line must be one UTF-8 JSON object.

    dsqa reads JSONL (one JSON object per line) and ``.json`` files that hold one array of
    objects, plain or compressed (.gz, .bz2, .xz, .zst), from a file, a pipe or standard input
    (``-``). Every line is accounted for: a line that cannot be used is reported at its line
    number and the run goes on to the end of the file.
    """

    name = "reader"
    codes: ClassVar[dict[str, Code]] = {
        "RDR001": Code(
            Severity.ERROR, "line is not valid JSON",
            why="""
                Each line of a JSONL file must be one complete JSON document. The finding gives the
                column where parsing stopped; trailing commas, single quotes, unescaped quotes or
                newlines in strings, and NaN or Infinity (not JSON) are the usual causes. The line
                is not checked further; the lines after it are.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi"},]}',
            passing=_OK,
        ),
        "RDR002": Code(
            Severity.ERROR, "line is not valid UTF-8",
            why="""
                Fine-tuning files must be UTF-8. A byte that is not valid UTF-8 (often a file saved
                as Latin-1 or Windows-1252) stops the line from being read. Re-encode the file as
                UTF-8, e.g. iconv -f latin1 -t utf-8.
            """,
            failing='a line holding the byte 0xE9 for "é", as Latin-1 writes it',
            passing="the same line with é written as UTF-8 (0xC3 0xA9)",
        ),
        "RDR003": Code(
            Severity.WARNING, "file starts with a byte-order mark",
            why="""
                A UTF-8 byte-order mark (EF BB BF) at the start of the file is invisible in most
                editors, but many JSONL readers take it as part of the first record and reject it.
                Save the file as UTF-8 without BOM.
            """,
            failing="a file whose first bytes are EF BB BF, then " + _OK,
            passing=_OK,
        ),
        "RDR004": Code(
            Severity.WARNING, "file has CRLF line endings",
            why="""
                Lines that end with CR LF (Windows line endings) leave a stray carriage return that
                some tools keep in the last field. Reported once per file, at the first such line,
                with the number of lines. Convert the endings to LF, e.g. with dos2unix.
            """,
            failing="a file whose lines end with \\r\\n",
            passing="the same file with lines ending with \\n",
        ),
        "RDR005": Code(
            Severity.WARNING, "blank line",
            why="""
                Every line of a JSONL file must hold one example; some uploaders reject a file with
                an empty or whitespace-only line. Remove blank lines.
            """,
            failing="a file with an empty line between two examples",
            passing="the same file without the empty line",
        ),
        "RDR006": Code(
            Severity.ERROR, "line is JSON but not an object",
            why="""
                Each example must be a JSON object such as {"messages": [...]}. A line holding an
                array, a string, a number, true, false or null is valid JSON but not an example.
            """,
            failing='["Hi", "Hello!"]',
            passing=_OK,
        ),
        "RDR007": Code(
            Severity.ERROR, "line contains a NUL byte",
            why="""
                A NUL byte does not occur in UTF-8 JSON text; it usually means the file is UTF-16 or
                binary. The line is not parsed. Re-export the file as UTF-8 JSONL (\\u0000 written as
                an escape inside a string is fine).
            """,
            failing="a file saved as UTF-16, where every other byte is 00",
            passing=_OK,
        ),
        "RDR008": Code(
            Severity.ERROR, "line is over the size limit",
            why="""
                A line longer than max_line_bytes (32 MiB by default) is skipped without being
                loaded, so one huge line cannot exhaust memory; the run goes on. Split the example,
                or raise the limit if such lines are intended.
            """,
            failing="a 50 MB line",
            passing=_OK,
            options=("max_line_bytes",),
        ),
        "RDR009": Code(
            Severity.ERROR, "malformed JSON array file",
            why="""
                A .json dataset must be one array of objects: [{...}, {...}]. A missing comma, a
                trailing comma, a missing closing bracket or data after it stops the reading at
                that line; the elements before it are checked.
            """,
            failing="[" + _OK + ",]",
            passing="[" + _OK + "]",
        ),
        "RDR010": Code(
            Severity.ERROR, "file is not JSONL",
            why="""
                The file holds something other than JSONL text: compressed data under a plain
                name, a Parquet file or Zip archive, a CSV or TSV table, or a pretty-printed JSON
                array saved as .jsonl. Reading it line by line would report every line, so dsqa
                reports the file once, says what it is and what to run instead (rename a
                compressed file to its real suffix, which dsqa reads as it is, or `dsqa convert`
                the table), and checks nothing else in it.
            """,
            failing="a file data.jsonl whose first line is: instruction,input,output",
            passing=_OK,
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"max_line_bytes": {
            "type": "integer", "minimum": 1, "description": "lines longer than this many bytes are not parsed (RDR008)",
        }},
        "additionalProperties": False,
    }
    defaults = {"max_line_bytes": DEFAULT_MAX_LINE_BYTES}
