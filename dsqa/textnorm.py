"""Texts levelled for comparison: letter case and runs of whitespace made equal."""

from __future__ import annotations


def squash(text: str) -> str:
    """``text`` case-folded, with each run of whitespace one space and none at either end."""
    # str.split() splits on the characters the regular expression \s matches, and faster
    return " ".join(text.split()).casefold()
