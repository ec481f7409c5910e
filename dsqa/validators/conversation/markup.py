"""TPL001: another model's chat-template markup left in a message, where the template puts it."""

from __future__ import annotations

import re

from ...model import Severity
from ..base import Code

CODES: dict[str, Code] = {
    "TPL001": Code(
        Severity.WARNING,
        "chat-template markup inside a message",
        why="""
            The text holds the markup of a model's chat template, where the template puts
            it: Llama's [INST], <<SYS>> and <|eot_id|>, Gemma's <start_of_turn>, Mistral's
            [TOOL_CALLS], or alpaca's "### Instruction:" and "### Response:" lines. It is
            left from data rendered for another model. The trainer applies the target
            model's own template, so these become ordinary words the model learns to say.
            Strip them and keep the turns as messages. Markup mentioned inside a sentence or
            in code is not flagged; ChatML and tiktoken's reserved tokens are SCH015 errors.
        """,
        failing='{"messages": [{"role": "user", "content": "<s>[INST] What is the boiling point of water? [/INST]"}, {"role": "assistant", "content": "100 °C at sea level. </s>"}]}',
        passing='{"messages": [{"role": "user", "content": "How does Llama 2 mark a user turn?"}, {"role": "assistant", "content": "It wraps it in `[INST]` and `[/INST]` tags."}]}',
    ),
}

#: chat-template markup of open model families (the tiktoken and ChatML tokens are SCH015's)
_MARKUP = re.compile(
    r"<\|(?:begin_of_text|end_of_text|start_header_id|end_header_id|eot_id|eom_id|python_tag|user|assistant|system)\|>"
    r"|<(?:start_of_turn|end_of_turn)>(?:user|model)?"
    r"|(?:<s>[ \t]*)?\[/?INST\]|<</?SYS>>"
    r"|\[/?(?:TOOL_CALLS|AVAILABLE_TOOLS|TOOL_RESULTS|SYSTEM_PROMPT)\]"
    r"|^[ \t]*###[ \t]*(?:Instruction|Response|Input)[ \t]*:",
    re.M,
)
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)


def may_hold_markup(text: str) -> bool:
    """Prefilter of TPL001: False only when ``text`` cannot hold any markup ``_MARKUP`` matches.

    It may say True when there is none. Each alternative of ``_MARKUP`` holds one of these
    literals; the single characters are looked for first because that is a fast memchr.
    """
    if "[" in text and ("INST]" in text or "S]" in text or "T]" in text):
        return True
    if "<" in text and ("<|" in text or "SYS>>" in text or "_of_turn>" in text):
        return True
    return "#" in text and "###" in text


def _structural(text: str, start: int, end: int) -> bool:
    """Whether markup at text[start:end] stands where a template puts it: at the start or end of
    the text or of a line. A mention inside a sentence ("use [INST] to ...") is prose about it."""
    before = text[:start]
    after = text[end:]
    line_start = before.rstrip(" \t").endswith("\n") or not before.strip()
    line_end = after.lstrip(" \t").startswith("\n") or not after.strip()
    return line_start or line_end


def markup_in(text: str) -> str | None:
    """The first template markup that stands where a template puts it, outside code; None if none."""
    for m in _MARKUP.finditer(text):
        if not _structural(text, m.start(), m.end()):
            continue
        if "`" in text and any(c.start() <= m.start() < c.end() for c in _CODE.finditer(text)):
            continue
        return m.group().strip()
    return None
