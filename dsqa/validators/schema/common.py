"""What the schema rule modules share: a rule's result, one jsonschema error located in the record, and wording helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from ...formats import PREFERENCE
from ...jsontypes import schema_type as json_type
from ...wording import article
from ..fastpath import OUTPUTS, ROLES

_MAX_QUOTE = 60


class Mapped(NamedTuple):
    """One finding of a schema rule, before the validator stamps the record on it."""

    code: str
    pointer: str
    message: str
    hint: str | None = None


#: a rule for one jsonschema error: its findings, or None when the error is not its business
ErrorRule = Callable[["Spot"], Iterable[Mapped] | None]


@dataclass(slots=True)
class Spot:
    """One jsonschema error, located: the keyword that failed, the area of the record it is in
    (``record``, ``message``, ``tools`` or ``output``) and, inside a message, the message's role.

    ``required`` and ``additionalProperties`` errors are split into one spot per key, with
    ``key`` set and ``pointer`` naming the key."""

    fmt: str
    path: list[Any]
    pointer: str
    keyword: str
    instance: Any
    expected: Any
    schema: Any
    text: str
    area: str
    rel: list[Any]
    where: str
    key: str | None = None

    @property
    def a_where(self) -> str:
        """``where`` with its article: "an assistant message", "a message"."""
        return article(self.where)


def locate(path: list[Any], root: Any, fmt: str) -> tuple[str, list[Any], str]:
    """The area of the record a schema path points into, the path inside its message, and how
    to name that message ("user message", or "message" when its role is not a known one)."""
    if fmt == PREFERENCE and path and path[0] in OUTPUTS:
        return "output", [], "message"
    if path and (path[0] in ("tools", "functions") or path[:2] == ["input", "tools"]):
        return "tools", [], "message"
    message, depth = message_of(path, root)
    if message is None:
        return "record", [], "message"
    role = message.get("role")
    where = f"{role} message" if isinstance(role, str) and role in ROLES else "message"
    return "message", path[depth:], where


def message_of(path: list[Any], root: Any) -> tuple[dict[str, Any] | None, int]:
    """Return the message a schema path points into and the path depth of its keys."""
    for k in range(len(path) - 1):
        if path[k] == "messages" and isinstance(path[k + 1], int):
            node = root
            try:
                for part in path[: k + 2]:
                    node = node[part]
            except (KeyError, IndexError, TypeError):
                return None, -1
            return (node if isinstance(node, dict) else None), k + 2
    return None, -1


def quote(value: Any) -> str:
    """A value as a message shows it: a string in quotes, anything else as JSON, cut at 60 characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > _MAX_QUOTE:
        text = text[: _MAX_QUOTE - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def expected(types: Any) -> str:
    """A JSON Schema ``type`` value in words: "a string or an array"."""
    names = [types] if isinstance(types, str) else list(types)
    article = {"array": "an array", "object": "an object", "integer": "an integer", "null": "null"}
    return " or ".join(article.get(t, f"a {t}") for t in names)


def short(text: str, limit: int = 160) -> str:
    """Whitespace collapsed and cut at ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True)
class Conversation:
    """What the message rules learn while walking one conversation's messages in order."""

    #: the function names of the example's tools (None when it has no tools list)
    tool_names: set[str] | None
    #: the tool call ids of the assistant messages so far
    call_ids: set[str]
    #: whether some assistant message will be trained on (has no explicit weight 0)
    trainable: bool = False
    #: where deprecated function calling is first used
    deprecated_at: str | None = None
