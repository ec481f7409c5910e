"""One pass over a chat conversation: each message's role, whole text and tool calls, shared by the rules."""

from __future__ import annotations

from typing import Any, NamedTuple


class Conversation(NamedTuple):
    """The messages of a chat example in the form the conversation rules read."""

    roles: tuple[str, ...]
    #: the whole text of each message (text parts joined), None when it has none or has an image
    texts: list[str | None]
    #: each message makes tool or function calls
    calls: list[bool]
    #: each message has weight 0 (not trained)
    untrained: list[bool]


def _text(content: Any) -> str | None:
    if type(content) is str:
        return content
    if type(content) is list:
        texts = [p["text"] for p in content if type(p) is dict and type(p.get("text")) is str]
        if texts and len(texts) == len(content):  # a turn with an image is more than its text
            return "\n".join(texts)
    return None


def read_conversation(messages: list[Any]) -> Conversation | None:
    """The conversation, or None when a message is not an object with a string role.

    With such a message the schema's findings say what is wrong; the conversation rules would
    only add noise about the turns.
    """
    roles: list[str] = []
    texts: list[str | None] = []
    calls: list[bool] = []
    untrained: list[bool] = []
    for m in messages:
        if type(m) is not dict:
            return None
        role = m.get("role")
        if type(role) is not str:
            return None
        roles.append(role)
        content = m.get("content")
        texts.append(content if type(content) is str else _text(content))
        if role == "assistant":  # only assistant turns make calls or carry a weight
            calls.append(bool(m.get("tool_calls") or m.get("function_call")))
            untrained.append(m.get("weight") == 0)
        else:
            calls.append(False)
            untrained.append(False)
    return Conversation(tuple(roles), texts, calls, untrained)


def text_pointer(messages: list[Any], index: int, needle: str) -> str:
    """The JSON Pointer of the text of message ``index`` that holds ``needle`` (a part, when the content is a list)."""
    content = messages[index].get("content")
    if isinstance(content, list):
        for j, part in enumerate(content):
            if isinstance(part, dict) and isinstance(part.get("text"), str) and needle in part["text"]:
                return f"/messages/{index}/content/{j}/text"
    return f"/messages/{index}/content"
