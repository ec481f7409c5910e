"""Documentation and options of the findings the reader reports while parsing a file."""

from __future__ import annotations

from typing import Any, ClassVar

from ..model import Severity
from ..reading import DEFAULT_MAX_LINE_BYTES
from .base import Code, Validator

_OK = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}'


_CHAT = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}'


class ReaderValidator(Validator):
    """Reading the file: every line of a JSONL file (or item of a .json array) must be one UTF-8 JSON object.

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
                The line cannot be parsed as JSON, so OpenAI rejects the whole file. The message
                gives the column of the first error; the usual causes are a trailing comma, single
                quotes, an unescaped newline or quote inside a string, a line cut short, and NaN or
                Infinity (which JSON does not have). Fix the line or drop it.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi"},]}',
            passing=_CHAT,
        ),
        "RDR002": Code(
            Severity.ERROR, "line is not valid UTF-8",
            why="""
                JSONL must be UTF-8. The line holds bytes that are not, usually because the file
                was saved as Latin-1 or Windows-1252. Re-save the file as UTF-8 (for example with
                `iconv -f cp1252 -t utf-8`).
            """,
            failing='a line holding the byte 0xE9 ("café" saved as Latin-1)',
            passing=_CHAT,
        ),
        "RDR003": Code(
            Severity.WARNING, "file starts with a byte-order mark",
            why="""
                The file starts with a UTF-8 byte-order mark (EF BB BF), which some editors on
                Windows add. dsqa reads past it, but other JSONL readers see it as part of the first
                line and fail to parse it. Save the file as UTF-8 without a BOM. An error in the
                strict pack.
            """,
            failing="a file whose first bytes are EF BB BF followed by a chat record",
            passing=_CHAT,
        ),
        "RDR004": Code(
            Severity.WARNING, "file has CRLF line endings",
            why="""
                Lines end in CR LF (Windows line endings). Reported once per file with the number
                of such lines. Most readers accept them, but the carriage return can end up inside
                the last value of a line in tools that split on LF only. Convert the file to LF
                endings (`dos2unix`). An error in the strict pack.
            """,
            failing="a chat record followed by CR LF instead of LF",
            passing=_CHAT,
        ),
        "RDR005": Code(
            Severity.WARNING, "blank line",
            why="""
                An empty (or whitespace-only) line between records. It is not an example, and some
                uploaders count it as an invalid one. Delete blank lines. An error in the strict
                pack.
            """,
            failing="two chat records with an empty line between them",
            passing=_CHAT,
        ),
        "RDR006": Code(
            Severity.ERROR, "line is JSON but not an object",
            why="""
                The line is valid JSON, but an array, string, number or null instead of an object.
                Every training example is one JSON object per line; a file that holds one big array
                should be named .json (dsqa reads it as an array of records) or rewritten as JSONL.
            """,
            failing='a line holding a JSON array: ["Hi", "Hello!"]',
            passing=_CHAT,
        ),
        "RDR007": Code(
            Severity.ERROR, "line contains a NUL byte",
            why="""
                A raw NUL byte (00) is never part of UTF-8 JSON text. It usually means the file is
                UTF-16 (every other byte is 00) or binary. Re-save the file as UTF-8; a NUL inside
                a string must be written as the escape \\u0000.
            """,
            failing="a line saved as UTF-16, where every other byte is 00",
            passing=_CHAT,
        ),
        "RDR008": Code(
            Severity.ERROR, "line is over the size limit",
            why="""
                The line is longer than max_line_bytes. It is skipped without being loaded, so one
                runaway line (a whole file pasted into a field, a missing newline) cannot exhaust
                memory; no other rule sees it. Split or shorten the record, or raise the limit.
            """,
            failing="a 40 MB line with the default max_line_bytes of 32 MiB",
            passing=_CHAT,
            options=("max_line_bytes",),
        ),
        "RDR009": Code(
            Severity.ERROR, "malformed JSON array file",
            why="""
                A .json file must hold one JSON array of objects. This file does not parse as one
                (a missing bracket or comma, or text after the array), so the records from the
                point of the error on cannot be read. The message names the line and column. Fix
                the array, or convert the file to JSONL.
            """,
            failing='a data.json file holding [{"messages": [...]}, {"messages": [...]} with the closing bracket missing',
            passing=_CHAT,
        ),
        "RDR011": Code(
            Severity.ERROR, "an object holds one key twice",
            why="""
                An object in the record has the same key more than once, as in
                {"content": "Hi", "content": "Bye"}. JSON leaves open which value counts: Python
                (and dsqa) keep the last one, other readers the first or reject the line, so the
                example OpenAI trains on may not be the one that was checked. Keep one value per
                key. The record is still checked with the last value.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi", "content": "Bye"}, {"role": "assistant", "content": "Hello!"}]}',
            passing=_CHAT,
        ),
        "RDR012": Code(
            Severity.ERROR, "number too large to read",
            why="""
                A number such as 1e400 is beyond what a 64-bit float holds. Python reads it as
                infinity without a word, and infinity is not JSON: a file written back from it
                (convert, clean) would not parse, and other readers reject the line. Write a
                smaller number, or the value as a string. The record is not checked further.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!", "weight": 1e400}]}',
            passing=_CHAT,
        ),
        "RDR013": Code(
            Severity.ERROR, "string holds a lone surrogate",
            why="""
                A string holds an escape such as \\ud800: half of a UTF-16 surrogate pair without
                its other half. It is not a character, cannot be written as UTF-8, and strict
                JSON readers reject it. It usually comes from text cut in the middle of an emoji.
                Remove the escape or restore the pair (\\ud83d\\ude00 is one emoji). The finding
                points at the string; the record is not checked further.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi \\ud800"}, {"role": "assistant", "content": "Hello!"}]}',
            passing='{"messages": [{"role": "user", "content": "Hi \\ud83d\\ude00"}, {"role": "assistant", "content": "Hello!"}]}',
        ),
        "RDR014": Code(
            Severity.ERROR, "record nests too deeply",
            why="""
                The record holds arrays or objects nested more than 100 levels deep. No training
                example needs that; it is generated or hostile data, and walking it would exhaust
                the stack of dsqa's checks and of other tools. The record is not checked further.
                Flatten it or drop it. (Past about a thousand levels the line does not parse at
                all, and is RDR001.)
            """,
            failing='a record whose "metadata" field holds an array nested 150 levels deep: [[[[...]]]]',
            passing=_CHAT,
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "max_line_bytes": {
                "type": "integer", "minimum": 1,
                "description": "lines longer than this many bytes are skipped without being parsed (RDR008)",
            },
        },
        "additionalProperties": False,
    }
    defaults = {"max_line_bytes": DEFAULT_MAX_LINE_BYTES}
