"""PRP003: calculator and annotation tags such as <<48/2=24>> left in replies."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...model import Finding, Record, Severity
from ..base import Code
from ...wording import plural
from .messages import text_pointer

if TYPE_CHECKING:
    from . import ConversationValidator

CODES: dict[str, Code] = {
    "PRP003": Code(
        Severity.WARNING,
        "calculator or annotation tags in a reply",
        why="""
            The reply holds tags like <<48/2=24>>, which some datasets (GSM8K among them) use
            to mark a calculator call inside the solution. In chat data they are noise the
            model learns to write. Remove the tags and keep the arithmetic as text.
        """,
        failing='{"messages": [{"role": "user", "content": "Natalia sold 48 clips in April and half as many in May. How many in all?"}, {"role": "assistant", "content": "In May she sold 48/2 = <<48/2=24>>24 clips, so 48+24 = <<48+24=72>>72 in all."}]}',
        passing='{"messages": [{"role": "user", "content": "Natalia sold 48 clips in April and half as many in May. How many in all?"}, {"role": "assistant", "content": "In May she sold 48/2 = 24 clips, so 48+24 = 72 in all."}]}',
    ),
}

_TAG = re.compile(r"<<[^<>\n=]{1,80}=[^<>\n]{1,40}>>")


def tags_in(text: str) -> list[str]:
    """The annotation tags in ``text``."""
    if "<<" not in text:  # the prefilter: every tag starts with it
        return []
    return _TAG.findall(text)


def finding(v: ConversationValidator, record: Record, messages: list[Any], tagged: list[tuple[int, list[str]]]) -> Finding:
    """PRP003 of one example, at its first reply with tags."""
    i, found = tagged[0]
    count = sum(len(f) for _, f in tagged)
    return v.finding(
        "PRP003", record, f"{found[0]!r} in the reply is a calculator annotation ({plural(count, 'tag')} in this example)",
        text_pointer(messages, i, found[0]), "remove the <<...>> tags and keep the arithmetic as text",
        {"tags": count, "first": found[0]},
    )
