"""Exact duplicates (DUP001): records whose normalised texts are equal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...model import Finding, Severity
from ..base import Code

if TYPE_CHECKING:
    import numpy as np

    from .validator import DuplicatesValidator

_RECORD = '{"messages": [{"role": "user", "content": "How do I reset my router?"}, {"role": "assistant", "content": "Hold the reset button for ten seconds."}]}'
_OTHER = '{"messages": [{"role": "user", "content": "What colour is the sky?"}, {"role": "assistant", "content": "Blue, on a clear day."}]}'

CODES: dict[str, Code] = {
    "DUP001": Code(
        Severity.WARNING,
        "exact duplicate of an earlier example",
        why="""
            The record repeats an earlier one after normalisation (Unicode NFC, whitespace
            collapsed, and letter case too with case_fold); every key counts, so the same
            conversation with a different weight is not an exact duplicate. A duplicate is
            paid for again and over-weights what it repeats. Each copy after the first is
            reported at its own line, naming the first. Keep one copy.
        """,
        failing=f"line 1: {_RECORD}\nline 2: {_OTHER}\nline 3: {_RECORD}",
        passing=f"line 1: {_RECORD}\nline 2: {_OTHER}",
        options=("case_fold",),
    ),
}


def first_of(values: np.ndarray) -> np.ndarray:
    """For every position, the position of the first equal value."""
    import numpy as np

    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    sv = values[order]
    new = np.ones(n, dtype=bool)
    new[1:] = sv[1:] != sv[:-1]
    head = order[np.maximum.accumulate(np.where(new, np.arange(n), 0))]
    first = np.empty(n, dtype=np.int64)
    first[order] = head
    return first


def exact_duplicates(v: DuplicatesValidator, a: dict[str, Any], stats: dict[str, Any]) -> Iterator[Finding]:
    """DUP001 for every record that repeats an earlier one; counts the groups in ``stats``."""
    import numpy as np

    n, lines, first, unique = a["n"], a["lines"], a["first"], a["unique"]
    if n:
        stats["exact_groups"] = int(len(np.unique(first[~unique])))
    for pos in np.flatnonzero(~unique):
        pos, of = int(pos), int(first[pos])
        yield v._at_record(
            "DUP001", pos, f"exact duplicate of {v._name(of)}",
            "remove the repeated example; duplicates over-weight what they repeat", {"of": int(lines[of])}, of,
        )
