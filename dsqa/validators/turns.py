"""A flat view of a record's conversation turns (role, text, pointer) for the content-level checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from ..formats import CHAT, COMPLETION, PREFERENCE


class Turn(NamedTuple):
    """One piece of text of a conversation: who says it and where it is in the record."""

    role: str
    text: str
    pointer: str
    #: the index of the message in its conversation (the output of a preference pair counts after the input)
    position: int
    #: the message carries tool or function calls, so its text is not the whole reply
    calls: bool = False


def _message_texts(messages: Any, prefix: str, offset: int = 0) -> Iterator[Turn]:
    if not isinstance(messages, list):
        return
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if not isinstance(role, str):
            continue
        content = m.get("content")
        calls = bool(m.get("tool_calls") or m.get("function_call"))
        if isinstance(content, str):
            yield Turn(role, content, f"{prefix}/{i}/content", offset + i, calls)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                    yield Turn(role, part["text"], f"{prefix}/{i}/content/{j}/text", offset + i, calls)


def turns(value: Any, fmt: str | None) -> Iterator[Turn]:
    """The text turns of a parsed record in conversation order; nothing for unknown formats."""
    if not isinstance(value, dict):
        return
    if fmt == CHAT:
        yield from _message_texts(value.get("messages"), "/messages")
    elif fmt == PREFERENCE:
        inp = value.get("input")
        messages = inp.get("messages") if isinstance(inp, dict) else None
        yield from _message_texts(messages, "/input/messages")
        after = len(messages) if isinstance(messages, list) else 0
        for key in ("preferred_output", "non_preferred_output"):
            yield from _message_texts(value.get(key), "/" + key, after)
    elif fmt == COMPLETION:
        prompt, completion = value.get("prompt"), value.get("completion")
        if isinstance(prompt, str):
            yield Turn("user", prompt, "/prompt", 0)
        if isinstance(completion, str):
            yield Turn("assistant", completion, "/completion", 1)


def messages_of(value: Any, fmt: str | None) -> list[Any]:
    """The list of message objects of a chat or preference record (input messages for preference)."""
    if not isinstance(value, dict):
        return []
    if fmt == CHAT:
        messages = value.get("messages")
    elif fmt == PREFERENCE:
        inp = value.get("input")
        messages = inp.get("messages") if isinstance(inp, dict) else None
    else:
        return []
    return messages if isinstance(messages, list) else []
