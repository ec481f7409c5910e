"""CNT001: empty or whitespace-only content."""

from __future__ import annotations

from ...model import Severity
from ..base import Code

CODE = Code(
    Severity.WARNING,
    "empty or whitespace-only content",
    why="""
        A message whose content is empty or only whitespace: an empty user turn teaches nothing,
        and an empty assistant turn teaches the model to say nothing. An assistant message with
        empty content beside tool calls is fine (the calls are the reply). Write the turn or drop
        the example.
    """,
    failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  "}]}',
    passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}',
)


def is_empty(text: str) -> bool:
    """Is the text empty or whitespace only?"""
    return not text or text.isspace()
