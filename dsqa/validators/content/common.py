"""What the content rules share: how a text is quoted in a message, code spans, and a text's JSON Pointer."""

from __future__ import annotations

import re

from ...redact import mask_secrets

_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)
_QUOTE = 40


def quote(text: str) -> str:
    """``text`` masked, on one line, cut to 40 characters and quoted, for a message."""
    # mask before cutting: a cut secret no longer looks like one and would slip through
    text = " ".join(mask_secrets(text).split())
    if len(text) > _QUOTE:
        text = text[: _QUOTE - 1] + "…"
    return repr(text)


def strip_code(text: str) -> str:
    """``text`` with ``` code blocks and `inline code` blanked out."""
    return _CODE_FENCE.sub(" ", text) if "`" in text else text


def pointer(where: str | int) -> str:
    """The JSON Pointer of a text: given, or the index of a chat message whose content is a string."""
    return where if type(where) is str else f"/messages/{where}/content"


def has_calls(message: dict[str, object]) -> bool:
    """Does the message call a tool or function (so that its text may be empty or unfinished)?"""
    return bool(message.get("tool_calls") or message.get("function_call"))
