"""The content rules' prefilters on a record's raw line, combined once per record into ``Gates``."""

from __future__ import annotations

import re
from itertools import product
from typing import NamedTuple

from ...model import Record
from ..rawsig import signature
from .cnt002_placeholders import may_hold_placeholder_marks, may_hold_placeholder_words
from .cnt003_boilerplate import may_hold_apostrophe
from .cnt006_mojibake import may_hold_mojibake_line, may_hold_mojibake_marks


class Gates(NamedTuple):
    """What the raw line says the record's strings may hold; False means that they cannot."""

    placeholder: bool
    mojibake: bool
    apostrophe: bool


OPEN = Gates(True, True, True)
#: the 8 possible gates, made once
_GATES: dict[tuple[bool, ...], Gates] = {g: g for g in map(Gates._make, product((False, True), repeat=3))}

#: a \u escape of a printable ASCII character but '&' (which HTML-safe writers escape, and no
#: placeholder holds): it may hide a literal from every test on the bytes
_ESCAPED_ASCII = re.compile(rb"\\u00(?:2[0-57-9a-fA-F]|[3-6][0-9a-fA-F]|7[0-9a-eA-E])")
#: what the marks of a signature leave out: a placeholder's braces, '{%' and '<' come together
_NOT_MARKS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'@_+-/kxz"
#: marks -> (may a placeholder in braces be there, may a mojibake lead byte be there); records of
#: one shape have the same marks, so this stays small (and is cleared when it is not)
_BACKSLASH = ord("\\")  # ``int in bytes`` is a memchr; most lines hold no escape at all
_MARKS_SEEN: dict[bytes, tuple[bool, bool]] = {}


def _marks_gates(sig: bytes) -> tuple[bool, bool]:
    marks = sig.translate(None, _NOT_MARKS)
    seen = _MARKS_SEEN.get(marks)
    if seen is None:
        if len(_MARKS_SEEN) >= 4096:
            _MARKS_SEEN.clear()
        seen = _MARKS_SEEN[marks] = (may_hold_placeholder_marks(marks), may_hold_mojibake_marks(marks))
    return seen


def line_gates(record: Record) -> Gates:
    """The raw-line prefilters of the record: ``OPEN`` when it has no line (an element of a JSON
    array) or when a \\u escape of an ASCII character may hide a literal. A \\u escape of another
    character may be mojibake, so it opens that gate alone."""
    raw = record.raw
    if not raw:
        return OPEN
    escaped = _BACKSLASH in raw and raw.find(b"\\u") >= 0
    if escaped and _ESCAPED_ASCII.search(raw):
        return OPEN
    sig = record.signature
    if sig is None:
        sig = signature(record)
    # _marks_gates, spelled out: this runs once per record
    marks = sig.translate(None, _NOT_MARKS)
    seen = _MARKS_SEEN.get(marks)
    placeholder, lead = seen if seen is not None else _marks_gates(sig)
    return _GATES[(
        placeholder or may_hold_placeholder_words(raw, sig),
        escaped or (lead and may_hold_mojibake_line(raw, sig)),
        may_hold_apostrophe(sig),
    )]
