"""DLG001-DLG003: who speaks when — no user turn, one role twice in a row, a system message after the start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from ...model import Finding, Record, Severity
from ...wording import plural
from ..base import Code
from .messages import Conversation

if TYPE_CHECKING:
    from . import ConversationValidator

CODES: dict[str, Code] = {
    "DLG001": Code(
        Severity.WARNING,
        "conversation has no user turn",
        why="""
            The example has assistant replies but no user message (often a system prompt
            followed straight by the reply, left over from a prompt/completion conversion).
            The model learns to speak unprompted; OpenAI's cookbook checker counts it as a
            format error. Put the request in a user message.
        """,
        failing='{"messages": [{"role": "system", "content": "Summarise the memo."}, {"role": "assistant", "content": "The memo asks for budgets by Friday."}]}',
        passing='{"messages": [{"role": "system", "content": "You summarise memos."}, {"role": "user", "content": "Budgets are due Friday, says the memo."}, {"role": "assistant", "content": "Budgets by Friday."}]}',
    ),
    "DLG002": Code(
        Severity.WARNING,
        "two turns of the same role in a row",
        why="""
            Two user messages, two assistant replies or two system messages follow each
            other. Chat models are trained on alternating turns; a run of one role usually
            means a lost turn or two examples glued together. Merge the two turns, or put the
            missing turn between them. An assistant turn that makes tool calls may be
            followed by tool results and another assistant turn; that is not flagged.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Are you there?"}, {"role": "assistant", "content": "Yes, how can I help?"}]}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Are you there?"}, {"role": "assistant", "content": "Yes, how can I help?"}]}',
    ),
    "DLG003": Code(
        Severity.WARNING,
        "system message after the conversation has started",
        why="""
            A system message that comes after a user or assistant turn teaches the model to
            take new standing instructions in the middle of a conversation, which few
            deployments do. Move it to the start, or make it a user turn.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."}, {"role": "assistant", "content": "Hi!"}]}',
        passing='{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hi!"}]}',
    ),
}

_TALK = frozenset(("system", "user", "assistant"))
#: roles the schema knows; with any other role the schema error says what is wrong, not DLG001
_KNOWN = frozenset(("system", "developer", "user", "assistant", "tool", "function"))


class Shape(NamedTuple):
    """What the sequence of roles says, the same for every example of that sequence."""

    no_user: bool
    #: indices of turns that follow a turn of the same role (DLG002) and of late system messages (DLG003)
    same: tuple[int, ...]
    late: tuple[int, ...]
    #: some role speaks more than once, so a turn may repeat another (DLG004)
    repeats: bool


#: the examples of a dataset come in few shapes: each is worked out once
_SHAPES: dict[Any, Shape] = {}


def shape_of(conv: Conversation) -> Shape:
    """The shape of a conversation, from its roles and which turns make calls."""
    # most conversations make no calls: their roles alone are the key
    key: Any = (conv.roles, tuple(conv.calls)) if True in conv.calls else conv.roles
    shape = _SHAPES.get(key)
    if shape is None:
        if len(_SHAPES) >= 4096:
            _SHAPES.clear()
        shape = _SHAPES[key] = _make_shape(conv.roles, tuple(conv.calls))
    return shape


def _make_shape(roles: tuple[str, ...], calls: tuple[bool, ...]) -> Shape:
    same: list[int] = []
    late: list[int] = []
    started = False
    for i, role in enumerate(roles):
        # an assistant turn that calls tools is followed by the results and another assistant turn
        if i and role in _TALK and role == roles[i - 1] and not calls[i - 1]:
            same.append(i)
        if role == "system" and started:
            late.append(i)
        started = started or role != "system"
    talk = [r for r in roles if r in _TALK]
    no_user = "assistant" in roles and "user" not in roles and _KNOWN.issuperset(roles)
    return Shape(no_user, tuple(same), tuple(late), len(talk) != len(set(talk)))


def check(v: ConversationValidator, record: Record, conv: Conversation, shape: Shape) -> Iterator[Finding]:
    """DLG001-DLG003 of one example."""
    if shape.no_user and v.wants("DLG001"):
        yield v.finding(
            "DLG001", record, "the conversation has no user turn; the assistant speaks unprompted",
            "/messages", "put the request in a user message before the reply",
        )
    same, late = shape.same, shape.late
    if same and v.wants("DLG002"):
        i = same[0]
        more = f" ({plural(len(same), 'place')} in this example)" if len(same) > 1 else ""
        yield v.finding(
            "DLG002", record, f"two {conv.roles[i]} turns in a row at message {i}{more}", f"/messages/{i}/role",
            "merge the two turns, or put the missing turn between them", {"messages": list(same)},
        )
    if late and v.wants("DLG003"):
        more = f" ({plural(len(late), 'system message')} in all)" if len(late) > 1 else ""
        yield v.finding(
            "DLG003", record, f"system message {late[0]} comes after the conversation has started{more}",
            f"/messages/{late[0]}/role", "move standing instructions to the first message", {"messages": list(late)},
        )
