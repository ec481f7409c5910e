"""The fast path for the common chat record (plain-text turns on a clean line): its digests and scope text straight from its turns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xxhash import xxh3_64, xxh3_64_intdigest

from .texts import _SYSTEM_ROLES, _TOOL_ROLES

#: role sequences remembered per validator (a dataset has few; past this many, new ones are worked out each time)
MAX_SHAPES = 4096


@dataclass(frozen=True, slots=True)
class Shape:
    """What a record's sequence of roles decides about its texts."""

    #: whether the fast path takes records of these roles (no tool results, a system prompt only first)
    ok: bool
    #: the exact text's pieces around the contents: "t<role> ", None, "\xff<role> ", None, ..., "\xff"
    pieces: tuple[str | None, ...] = ()
    #: the first turn is the system prompt (left out of the conversation scope)
    system: bool = False
    #: the last assistant turn (-1: none)
    last: int = -1
    #: the bytes that the roles of the turns after the last assistant turn take in the exact text
    tail: int = 0

    @classmethod
    def of(cls, roles: list[str]) -> Shape:
        """The shape of a record with these roles (strings of a clean line: ASCII)."""
        system = sum(r in _SYSTEM_ROLES for r in roles)
        if any(r in _TOOL_ROLES for r in roles) or system > 1 or (system and roles[0] not in _SYSTEM_ROLES):
            return cls(False)
        pieces: list[str | None] = []
        for i, r in enumerate(roles):
            pieces += [("t" if i == 0 else "\xff") + "<" + r + "> ", None]
        last = len(roles) - 1
        while last >= 0 and roles[last] != "assistant":
            last -= 1
        tail = sum(len(r) + 4 for r in roles[last + 1:]) if last >= 0 else 0
        return cls(True, (*pieces, "\xff"), bool(system), last, tail)


def plain_chat(value: dict[str, Any], shapes: dict[str, Shape]) -> tuple[int, int, int, bytes] | None:
    """The exact, context and answer digests and the conversation-scope text of a chat record on a
    clean line (``clean_line``) whose only key is ``messages`` and whose turns are each a role and
    a content, both strings; None for any other record (``shapes``: the validator's cache).

    The contents are taken as normal text (no space at either end, none doubled), as they are in
    most records; then the digests are those of ``texts.digests`` and the text is the scope text
    of ``texts.texts_of``, encoded. The system prompt and the text's end are checked here (None
    when they are not normal); every other content is normal unless the text holds two spaces in
    a row, which the caller must look for (the sketch does: ``Sketcher.sketch``).
    """
    messages = value.get("messages")
    if len(value) != 1 or type(messages) is not list:
        return None
    try:
        if max(map(len, messages)) != 2:
            return None
        roles = [m["role"] for m in messages]
        texts = [m["content"] for m in messages]
        key = "\0".join(roles)
    except (TypeError, KeyError, ValueError):  # a turn that is no role and content, a role that is no string, no turns
        return None
    shape = shapes.get(key)
    if shape is None:
        shape = Shape.of(roles)
        if len(shapes) < MAX_SHAPES:
            shapes[key] = shape
    if not shape.ok:
        return None
    pieces = list(shape.pieces)
    pieces[1::2] = texts
    try:
        # a clean line's strings are ASCII, so Latin-1 makes their UTF-8 and "\xff" the byte 0xFF
        data = "".join(pieces).encode("latin-1")  # type: ignore[arg-type]
    except TypeError:  # a content that is no string
        return None
    if shape.system:
        system = texts[0]
        if "  " in system or system[:1] == " " or system[-1:] == " ":
            return None
        text = data[len(pieces[0]) + len(system) + 1:-1].replace(b"\xff", b" ")  # type: ignore[arg-type]
    else:
        text = data[1:-1].replace(b"\xff", b" ")
    if text[-1:] == b" ":  # the last content ends with a space (or is empty)
        return None
    return (*_digests(data, texts, shape), text)


def _digests(data: bytes, texts: list[str], shape: Shape) -> tuple[int, int, int]:
    """The exact, context and answer digests of a record from its exact text's bytes (``plain_chat``)."""
    last = shape.last
    if last < 0:
        return xxh3_64_intdigest(data) or 1, 0, 0
    # the answer's turn ends before the turns after it; the context before its "\xff<assistant> "
    answer_end = len(data) - 1 - (shape.tail + sum(map(len, texts[last + 1:])) if shape.tail else 0)
    context_end = answer_end - len(texts[last]) - 13 if last else 1
    view = memoryview(data)
    h = xxh3_64(view[:context_end])
    context = h.intdigest() or 1
    h.update(view[context_end:answer_end])
    answer = h.intdigest() or 1
    h.update(view[answer_end:])
    return h.intdigest() or 1, context, answer
