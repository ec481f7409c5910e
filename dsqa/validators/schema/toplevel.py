"""The record's top level (SCH001, SCH002) and the catch-all schema codes (SCH004, SCH005, SCH018)."""

from __future__ import annotations

from ...model import Severity
from ..base import Code
from .common import Mapped, Spot, expected, json_type, short

CODES: dict[str, Code] = {
    "SCH001": Code(
        Severity.ERROR,
        "unexpected top-level key",
        why="""
            A chat record may hold only messages, tools, parallel_tool_calls and functions at
            its top level; OpenAI rejects the whole file for any other key (a stray top-level
            weight is the usual one). Move per-message settings such as weight into the
            assistant message, and drop bookkeeping keys (ids, sources) before uploading, or
            keep them in a separate file.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}], "weight": 0}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0}]}',
    ),
    "SCH002": Code(
        Severity.ERROR,
        "messages missing or empty",
        why="""
            A chat example is its messages array: without one, or with an empty one, there is
            nothing to train on and OpenAI rejects the file. Put the conversation's turns, each
            {"role": ..., "content": ...}, in "messages".
        """,
        failing='{"messages": []}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}',
    ),
    "SCH004": Code(
        Severity.ERROR,
        "required key missing",
        why="""
            Every message needs a role; system, user and tool messages need content, a tool
            message its tool_call_id, a tool call its id, type and function, and an image part
            its url. OpenAI rejects a file in which one is missing. Add the key the finding
            names.
        """,
        failing='{"messages": [{"role": "user"}, {"role": "assistant", "content": "Hello"}]}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}',
    ),
    "SCH005": Code(
        Severity.ERROR,
        "value of the wrong type",
        why="""
            A value has a JSON type the format does not allow: content that is a number or an
            object, a name that is not a string, an empty content array. OpenAI rejects the
            file. Give the value the type the finding names; content is a string or a
            non-empty list of parts.
        """,
        failing='{"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "Hello"}]}',
        passing='{"messages": [{"role": "user", "content": "42"}, {"role": "assistant", "content": "Hello"}]}',
    ),
    "SCH018": Code(
        Severity.ERROR,
        "other schema violation",
        why="""
            The record breaks the bundled JSON Schema in a way no more specific code covers,
            e.g. an empty tool call id or an image detail other than auto, low or high. The
            message is the schema validator's own; fix the value it points to.
        """,
        failing=(
            '{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png",'
            ' "detail": "max"}}]}, {"role": "assistant", "content": "A cat."}]}'
        ),
        passing=(
            '{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png",'
            ' "detail": "low"}}]}, {"role": "assistant", "content": "A cat."}]}'
        ),
    ),
}

_MESSAGES_HINT = "add \"messages\": [{\"role\": ..., \"content\": ...}, ...]"


def messages_missing(spot: Spot) -> list[Mapped] | None:
    """SCH002: a chat record without ``messages``."""
    if spot.keyword == "required" and not spot.path and spot.key == "messages":
        return [Mapped("SCH002", spot.pointer, "record has no 'messages' array", _MESSAGES_HINT)]
    return None


def messages_empty_or_not_array(spot: Spot) -> list[Mapped] | None:
    """SCH002: ``messages`` is empty or not an array."""
    if spot.path != ["messages"]:
        return None
    if spot.keyword == "minItems":
        return [Mapped("SCH002", spot.pointer, "messages is empty", "add the conversation's turns")]
    if spot.keyword == "type":
        return [Mapped("SCH002", spot.pointer, f"'messages' must be an array, got {json_type(spot.instance)}")]
    return None


def top_level_key(spot: Spot) -> list[Mapped] | None:
    """SCH001: a key the record may not hold at its top level."""
    if spot.keyword != "additionalProperties" or spot.path:
        return None
    if spot.key == "weight":
        return [Mapped(
            "SCH001", spot.pointer,
            "top-level 'weight' is not allowed; OpenAI rejects the file (\"contains an extra \\\"weight\\\"\")",
            "put weight on assistant messages: {\"role\": \"assistant\", \"content\": ..., \"weight\": 0}",
        )]
    allowed_keys = ", ".join(sorted(spot.schema.get("properties", {})))
    return [Mapped(
        "SCH001", spot.pointer, f"unexpected top-level key '{spot.key}' (allowed: {allowed_keys})",
        "remove it or move it out of the training file",
    )]


# -- the catch-alls, asked after every more specific rule ----------------------------------------


def missing_key(spot: Spot) -> list[Mapped] | None:
    """SCH004: any other missing key."""
    if spot.keyword != "required":
        return None
    return [Mapped("SCH004", spot.pointer, f"missing required key '{spot.key}'")]


def unexpected_key(spot: Spot) -> list[Mapped] | None:
    """SCH006: any other unexpected key."""
    if spot.keyword != "additionalProperties":
        return None
    return [Mapped("SCH006", spot.pointer, f"unexpected key '{spot.key}'")]


def wrong_type(spot: Spot) -> list[Mapped] | None:
    """SCH005: a value of the wrong JSON type, named by its place."""
    if spot.keyword != "type":
        return None
    path = spot.path
    name = path[-1] if path else "record"
    what = f"'{name}'" if isinstance(name, str) else f"item {name}"
    if isinstance(name, int) and len(path) >= 2 and path[-2] == "messages":
        what = f"message {name}"
    elif isinstance(name, int) and len(path) >= 2 and path[-2] == "content":
        what = "content part"
    return [Mapped("SCH005", spot.pointer, f"{what} must be {expected(spot.expected)}, got {json_type(spot.instance)}")]


def empty_content(spot: Spot) -> list[Mapped] | None:
    """SCH005: an empty content array."""
    if spot.keyword == "minItems" and spot.path and spot.path[-1] == "content":
        return [Mapped("SCH005", spot.pointer, "content array is empty", "use a string or at least one content part")]
    return None


def other(spot: Spot) -> list[Mapped]:
    """SCH018: whatever no rule above claims, in the schema validator's words."""
    return [Mapped("SCH018", spot.pointer, short(spot.text))]


GENERIC = (missing_key, unexpected_key, wrong_type, empty_content)
