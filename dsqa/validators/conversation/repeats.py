"""DLG004 and DLG005: a turn said twice in one example, and a reply that echoes the user's turn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...model import Finding, Record, Severity
from ...textnorm import squash
from ...wording import plural
from ..base import Code
from .messages import Conversation, text_pointer

if TYPE_CHECKING:
    from . import ConversationValidator

CODES: dict[str, Code] = {
    "DLG004": Code(
        Severity.WARNING,
        "the same turn twice in one example",
        why="""
            One message of the example is word for word another one of the same role,
            usually a copy-and-paste slip or a generation loop across turns. A repeated
            assistant reply teaches the model to repeat itself. Turns shorter than
            repeat_min_chars (after trimming) are not compared, so "Thanks!" twice is fine.
        """,
        failing='{"messages": [{"role": "user", "content": "Plan a day in Rome."}, {"role": "assistant", "content": "Start at the Colosseum, then the Forum."}, {"role": "user", "content": "And after lunch?"}, {"role": "assistant", "content": "Start at the Colosseum, then the Forum."}]}',
        passing='{"messages": [{"role": "user", "content": "Plan a day in Rome."}, {"role": "assistant", "content": "Start at the Colosseum, then the Forum."}, {"role": "user", "content": "And after lunch?"}, {"role": "assistant", "content": "Walk to the Pantheon and Piazza Navona."}]}',
        options=("repeat_min_chars",),
    ),
    "DLG005": Code(
        Severity.WARNING,
        "assistant reply repeats the user's turn",
        why="""
            The reply is the user's message again (letter case and spacing aside), or holds
            nearly all of it (nine tenths of its length or more), in a reply of at least
            copy_min_words words. The
            model learns to echo its input. A reply that is a part of the prompt, such as the
            chosen option of a multiple-choice question or the text an editing task was
            given, is not flagged.
        """,
        failing='{"messages": [{"role": "user", "content": "Translate into French: The train leaves at noon."}, {"role": "assistant", "content": "Translate into French: The train leaves at noon."}]}',
        passing='{"messages": [{"role": "user", "content": "Is the capital of Australia Sydney or Canberra?"}, {"role": "assistant", "content": "Canberra"}]}',
        options=("copy_min_words",),
    ),
}
OPTIONS: dict[str, Any] = {
    "repeat_min_chars": {
        "type": "integer", "minimum": 1,
        "description": "turns shorter than this (after trimming) are not compared for DLG004",
    },
    "copy_min_words": {
        "type": "integer", "minimum": 1,
        "description": "replies shorter than this many words are not compared with the user's turn (DLG005)",
    },
}
DEFAULTS: dict[str, Any] = {"repeat_min_chars": 20, "copy_min_words": 4}

def repeated(v: ConversationValidator, record: Record, messages: list[Any], conv: Conversation) -> Iterator[Finding]:
    """DLG004: a message word for word the same as an earlier one of the same role."""
    seen: dict[tuple[str, str], int] = {}
    repeats: list[tuple[int, int]] = []
    floor = v.options["repeat_min_chars"]
    for i, text in enumerate(conv.texts):
        if text is None or len(text) < floor:
            continue
        text = text.strip()
        if len(text) < floor:
            continue
        key = (conv.roles[i], text)
        if key in seen:
            repeats.append((i, seen[key]))
        else:
            seen[key] = i
    if repeats:
        i, first = repeats[0]
        more = f" ({plural(len(repeats), 'repeated turn')} in this example)" if len(repeats) > 1 else ""
        yield v.finding(
            "DLG004", record, f"{conv.roles[i]} message {i} says word for word what message {first} said{more}",
            text_pointer(messages, i, ""), "remove the copy, or write the turn that belongs there",
            {"message": i, "same_as": first, "repeats": len(repeats)},
        )


def copy_of(reply: str, prompt: str, min_words: int) -> str:
    """How ``reply`` copies ``prompt``, in words for the message; "" when it does not.

    A copy is the prompt again up to letter case and spacing, or a reply that holds nine tenths
    of the prompt's length or more and is inside it.
    """
    if 10 * len(reply) < 9 * len(prompt) or len(reply) > len(prompt) + 16:
        return ""
    r, p = squash(reply), squash(prompt)
    if not r:
        return ""
    words = r.count(" ") + 1
    if words < min_words:
        return ""
    if r == p:
        return "repeats the user's turn"
    if r in p:
        return f"copies the user's turn ({plural(words, 'word')} of it)"
    return ""


def copied(v: ConversationValidator, record: Record, messages: list[Any], found: list[tuple[int, str]]) -> Iterator[Finding]:
    """DLG005 of one example, from the replies ``copy_of`` found."""
    i, how = found[0]
    more = f" ({plural(len(found), 'reply', 'replies')} in this example)" if len(found) > 1 else ""
    yield v.finding(
        "DLG005", record, f"the assistant reply at message {i} {how}{more}", text_pointer(messages, i, ""),
        "write the answer the user asked for; the model learns to echo its input", {"messages": [c[0] for c in found]},
    )
