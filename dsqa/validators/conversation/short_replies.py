"""DLG006: a reply trivially short for a long prompt, in a dataset where such replies are rare."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...model import Finding, Severity
from ...wording import plural
from ..base import Code

CODES: dict[str, Code] = {
    "DLG006": Code(
        Severity.WARNING,
        "reply trivially short for its prompt",
        why="""
            A reply of at most short_reply_words words to a user turn of at least
            short_prompt_words words ("OK." to a long question), in a dataset where such
            short replies are rare (under short_reply_share of all replies): there it is
            usually a truncated or placeholder answer. In a dataset made of short answers
            (labels, yes/no), none is flagged.
        """,
        failing="a dataset of long answers where one 120-word question is answered with \"OK.\"",
        passing="a classification dataset where most replies are one word",
        options=("short_reply_words", "short_prompt_words", "short_reply_share"),
    ),
}
OPTIONS: dict[str, Any] = {
    "short_reply_words": {"type": "integer", "minimum": 1, "description": "a reply of at most this many words is short (DLG006)"},
    "short_prompt_words": {"type": "integer", "minimum": 1, "description": "a user turn of at least this many words is long (DLG006)"},
    "short_reply_share": {
        "type": "number", "minimum": 0, "maximum": 1,
        "description": "DLG006 fires only when short replies are under this share of all replies",
    },
}
DEFAULTS: dict[str, Any] = {"short_reply_words": 3, "short_prompt_words": 50, "short_reply_share": 0.05}
#: at most this many candidates are kept; more means short replies are not rare
MAX_CANDIDATES = 10_000


@dataclass
class ShortReplies:
    """The dataset-level state of DLG006: replies seen, short ones, and short ones to long prompts."""

    words: int
    prompt_words: int
    replies: int = 0
    short: int = 0
    #: (line, pointer, reply words, prompt words)
    candidates: list[tuple[int, str, int, int]] = field(default_factory=list)

    def add(self, line: int, index: int, reply: str, prompt: str | None) -> None:
        """Count one trained assistant reply and the user turn before it."""
        self.replies += 1
        # a word is rarely longer than 40 characters in any language: no split for long replies
        if len(reply) > 40 * self.words:
            return
        n = len(reply.split())
        if n > self.words:
            return
        self.short += 1
        if prompt is None or len(prompt) < 2 * self.prompt_words - 1:
            return
        words = len(prompt.split())
        if words >= self.prompt_words and len(self.candidates) < MAX_CANDIDATES:
            self.candidates.append((line, f"/messages/{index}/content", n, words))

    def merge(self, other: ShortReplies) -> None:
        """Fold in the state of the chunk of records after ours."""
        self.replies += other.replies
        self.short += other.short
        self.candidates.extend(other.candidates[: MAX_CANDIDATES - len(self.candidates)])

    def findings(self, share_limit: float, path: str, validator: str) -> Iterator[Finding]:
        """DLG006 at each candidate, when short replies are rare in the dataset."""
        if not (self.candidates and self.replies) or len(self.candidates) >= MAX_CANDIDATES:
            return
        share = self.short / self.replies
        if share >= share_limit:
            return
        for line, pointer, n, words in self.candidates:
            yield Finding(
                code="DLG006", severity=CODES["DLG006"].severity, validator=validator, path=path,
                line=line, pointer=pointer,
                message=(f"a reply of {plural(n, 'word')} to a user turn of {words:,} words, while only "
                         f"{share:.1%} of the replies in this file are this short"),
                hint="write the full answer, or drop the example if the reply was cut off",
                data={"reply_words": n, "prompt_words": words, "short_share": round(share, 4)},
            )
