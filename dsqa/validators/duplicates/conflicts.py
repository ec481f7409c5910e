"""Conflicting answers (DUP003): the same prompt context with an answer that is not similar."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...model import Finding, Severity
from ...wording import similarity as shown
from ..base import Code
from .exact import first_of
from .similar import similarity
from .texts import _Texts

if TYPE_CHECKING:
    import numpy as np

    from .validator import DuplicatesValidator

_ASK = '{"messages": [{"role": "user", "content": "What is the boiling point of water at sea level?"}, {"role": "assistant", "content": '

CODES: dict[str, Code] = {
    "DUP003": Code(
        Severity.WARNING,
        "same prompt as an earlier example with a different answer",
        why="""
            Two records share their prompt context (every message before the last assistant
            message, system prompt included, after normalisation) but their last assistant
            messages are not similar (similarity below conflict_below). As for DUP002, what
            people wrote is compared: tool calls by the values of their arguments, images by
            their URL or bytes, so the same question calling a tool with other values
            conflicts. Trained on both, the model learns to answer the same question
            inconsistently. Keep one answer per prompt, or make the prompts say what differs.
        """,
        failing=f'line 1: {_ASK}"100 degrees Celsius."}}]}}\nline 2: {_ASK}"It depends on the pot, nobody can say."}}]}}',
        passing=f'line 1: {_ASK}"100 degrees Celsius."}}]}}\nline 2: {_ASK}"It boils at 100 degrees Celsius."}}]}}',
        options=("conflicts", "conflict_below", "case_fold"),
    ),
}


def conflict_pairs(context: np.ndarray, answer: np.ndarray, unique: np.ndarray) -> np.ndarray:
    """(first, other) pairs of unique records with the same context but a different answer."""
    import numpy as np

    ids = np.flatnonzero(unique & (context != 0))
    if len(ids) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    first = ids[first_of(context[ids])]
    other = (first != ids) & (answer[first] != answer[ids])
    return np.stack((first[other], ids[other]), axis=1).astype(np.int64)


def conflicts(
    v: DuplicatesValidator, pairs: np.ndarray, texts: dict[int, _Texts], below: float, stats: dict[str, Any],
    reworded: list[tuple[int, int]],
) -> Iterator[Finding]:
    """DUP003 for each pair whose answers are not similar; the others (same prompt, a reworded
    answer: maybe near-duplicates) are appended to ``reworded``."""
    for i, j in pairs:
        i, j = int(i), int(j)
        s = similarity(texts[i].answer or "", texts[j].answer or "")
        if s >= below:
            reworded.append((i, j))
            continue
        stats["conflicts"] += 1
        yield v._at_record(
            "DUP003", j,
            f"same prompt as {v._name(i)} with a different answer (answer similarity {shown(s)})",
            "keep one answer per prompt, or make the prompts say what differs",
            {"of": int(v._lines[i]), "answer_similarity": round(s, 3)}, i,
        )
