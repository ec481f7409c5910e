"""CNT006: mojibake (UTF-8 decoded as Latin-1 or cp1252) and U+FFFD, with its prefilters."""

from __future__ import annotations

import re

from ...model import Severity
from ..base import Code

CODE = Code(
    Severity.WARNING,
    "mojibake (mis-decoded text)",
    why="""
        Text that was decoded with the wrong encoding: UTF-8 read as Latin-1 or cp1252 ("Ã©"
        for "é", "â€™" for "’"), or the replacement character U+FFFD where a character was lost.
        The model learns to write garbled text. Re-read the source as UTF-8, or repair the text
        (for example with ftfy.fix_text).
    """,
    failing='{"messages": [{"role": "user", "content": "Where did you eat?"}, {"role": "assistant", "content": "At a small cafÃ© by the river."}]}',
    passing='{"messages": [{"role": "user", "content": "Where did you eat?"}, {"role": "assistant", "content": "At a small café by the river."}]}',
)

MOJIBAKE = re.compile(
    "[ÃÂ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
    "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
    "|â€[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
    "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122\"]"
    "|\ufffd"
)


def find_mojibake(text: str) -> tuple[int, str] | None:
    """The column (from 0) of the first mojibake in ``text`` and what it is called, or None."""
    m = MOJIBAKE.search(text)
    if m is None:
        return None
    return m.start(), "a replacement character U+FFFD" if m.group() == "\ufffd" else f"{m.group()!r}"


# -- prefilters: each may say yes when the rule finds nothing, and never says no when it finds something


def may_hold_mojibake(text: str) -> bool:
    """Prefilter of ``MOJIBAKE``: does the text hold Ã, Â, â€ or U+FFFD, which every match starts with?"""
    return "Ã" in text or "Â" in text or "â€" in text or "\ufffd" in text


_A_TILDE, _A_CIRCUMFLEX, _EURO, _REPLACEMENT = (c.encode() for c in "ÃÂ€\ufffd")


def may_hold_mojibake_marks(marks: bytes) -> bool:
    """Prefilter on a line's marks (see ``lines``): does the line hold a UTF-8 lead byte of Ã, Â, € or U+FFFD?"""
    return _A_TILDE[0] in marks or _EURO[0] in marks or _REPLACEMENT[0] in marks


def may_hold_mojibake_line(raw: bytes, sig: bytes) -> bool:
    """Prefilter on a raw UTF-8 line and its signature: does the line hold Ã, Â, € (of â€) or
    U+FFFD? Each is looked for only when the signature (which keeps their lead bytes) has its lead byte."""
    return (
        (_A_TILDE[0] in sig and (raw.find(_A_TILDE) >= 0 or raw.find(_A_CIRCUMFLEX) >= 0))
        or (_EURO[0] in sig and raw.find(_EURO) >= 0)
        or (_REPLACEMENT[0] in sig and raw.find(_REPLACEMENT) >= 0)
    )
