"""Plain-English wording shared by messages and reports: plurals, articles, numbers, similarities."""

from __future__ import annotations

import math

#: words that take "an" although they start with a consonant letter, or "a" although they
#: start with a vowel letter (the sound decides)
_AN = frozenset({"hour", "honest", "honour", "honor", "heir"})
_A = frozenset({"user", "one", "unicode", "uniform", "unique", "unit", "url", "utf-8", "usage", "european"})

#: words whose plural is not the word plus "s"
_PLURALS = {"info": "info", "match": "matches", "index": "indexes", "entry": "entries", "copy": "copies"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``12,345 examples``: the count with thousands separators and the right form."""
    if n == 1:
        return f"{n:,} {word}"
    return f"{n:,} {many or _PLURALS.get(word) or word + 's'}"


def article(word: str) -> str:
    """``a user message``, ``an assistant message``: the word with "a" or "an" in front of it."""
    head = word.lstrip("'\"`").split(" ", 1)[0].lower()
    if head in _AN:
        return f"an {word}"
    if head in _A or not head:
        return f"a {word}"
    return f"{'an' if head[0] in 'aeiou' else 'a'} {word}"


def number(value: int | float) -> str:
    """A number with thousands separators (floats with up to 4 significant decimals)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def similarity(value: float) -> str:
    """A similarity in [0, 1] cut (never rounded up) to three decimals.

    Rounding would make 0.896 read as 0.90, as if it reached a threshold of 0.9 that it missed;
    cutting keeps every shown value on the same side of a threshold of up to three decimals.
    """
    cut = math.floor(value * 1000 + 1e-9) / 1000
    return f"{cut:.3f}"
