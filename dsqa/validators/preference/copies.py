"""PRF008: a preferred output that repeats the prompt, holds it, or is a piece of it."""

from __future__ import annotations

from typing import Any

from ...model import Severity
from ...textnorm import squash
from ..base import Code

CODES: dict[str, Code] = {
    "PRF008": Code(
        Severity.WARNING,
        "preferred output copies the prompt",
        why="""
            The preferred output is the last user turn again, starts with it, or is how the
            prompt ends (letter case and spacing aside; outputs of fewer than copy_min_words
            words are not compared). An output found elsewhere inside the prompt is not
            flagged: extractive tasks ask for exactly that. This is how a prompt ends up on the wrong side of a conversion
            (a chosen column that holds the whole transcript, or a prompt column that holds the
            answer). The model learns that repeating the prompt is preferred. Give the output
            the reply alone.
        """,
        failing=(
            '{"input": {"messages": [{"role": "user", "content": "Name three primary colours."}]}, '
            '"preferred_output": [{"role": "assistant", "content": "Name three primary colours. Red, yellow and blue."}], '
            '"non_preferred_output": [{"role": "assistant", "content": "Green."}]}'
        ),
        passing=(
            '{"input": {"messages": [{"role": "user", "content": "Name three primary colours."}]}, '
            '"preferred_output": [{"role": "assistant", "content": "Red, yellow and blue."}], '
            '"non_preferred_output": [{"role": "assistant", "content": "Green."}]}'
        ),
        options=("copy_min_words",),
    ),
}
OPTIONS: dict[str, Any] = {
    "copy_min_words": {
        "type": "integer", "minimum": 1,
        "description": "preferred outputs of fewer words are not compared with the prompt (PRF008)",
    },
}
DEFAULTS: dict[str, Any] = {"copy_min_words": 4}

def copy_of(output: str, prompt: str, min_words: int) -> str:
    """How the preferred ``output`` copies ``prompt``, as words for the message; "" when it does not."""
    o, p = squash(output), squash(prompt)
    if not o or not p or o.count(" ") + 1 < min_words:
        return ""
    if o == p:
        return "repeats the prompt"
    if o.startswith(p) and p.count(" ") + 1 >= min_words:
        return "starts with the whole prompt"
    # an answer found inside the prompt is what extractive tasks ask for ("quote the sentence
    # that..."); one that ends the prompt is the answer leaked into it
    if p.endswith(o):
        return "is the end of the prompt: the answer is in the prompt too"
    return ""
