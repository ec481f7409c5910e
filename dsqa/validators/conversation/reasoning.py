"""TPL002 and TPL003: reasoning blocks in some replies and not in others, and a block never closed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...model import Finding, Severity
from ...wording import plural
from ..base import Code

CODES: dict[str, Code] = {
    "TPL002": Code(
        Severity.WARNING,
        "reasoning blocks in some replies and not in others",
        why="""
            Some assistant replies start with a reasoning block (<think>…</think> and the
            like) and others do not, both in large numbers. The model learns to reason only
            sometimes, and not when it matters. Reported once per file, when at least
            reasoning_min_replies replies are checked and the share with a block is between
            reasoning_mixed_share and one minus it, with the lines of the first replies of
            the smaller side. Make every reply reason, or none.
        """,
        failing="a file of 300 replies where 120 start with <think>…</think> and 180 do not",
        passing="a file where every reply starts with a reasoning block, or none does",
        options=("reasoning_min_replies", "reasoning_mixed_share"),
    ),
    "TPL003": Code(
        Severity.WARNING,
        "reasoning block opened and never closed",
        why="""
            An assistant reply opens a reasoning block (<think>) and never closes it, so the
            answer is trained as part of the reasoning, or the reasoning was cut off. Close
            the block before the answer. A reply that only closes a block (</think>), as
            templates that open it in the prompt produce, is not flagged.
        """,
        failing='{"messages": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "<think>Two and two make four. The answer is 4."}]}',
        passing='{"messages": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "<think>Two and two make four.</think>The answer is 4."}]}',
    ),
}
OPTIONS: dict[str, Any] = {
    "reasoning_min_replies": {
        "type": "integer", "minimum": 1,
        "description": "TPL002 looks at a file with at least this many assistant replies",
    },
    "reasoning_mixed_share": {
        "type": "number", "minimum": 0, "maximum": 0.5,
        "description": "TPL002 fires when the share of replies with a reasoning block is between this and one minus it",
    },
}
DEFAULTS: dict[str, Any] = {"reasoning_min_replies": 50, "reasoning_mixed_share": 0.02}
#: lines kept of each side for TPL002's message
EXAMPLES = 5

#: opening and closing tags of a reasoning block
_OPEN = re.compile(r"<(think|thinking|reasoning|thought)>", re.I)
_CLOSE = {name: re.compile(rf"</{name}>", re.I) for name in ("think", "thinking", "reasoning", "thought")}


@dataclass
class Reasoning:
    """The dataset-level state of TPL002: replies with and without a reasoning block."""

    with_block: int = 0
    without_block: int = 0
    lines_with: list[int] = field(default_factory=list)
    lines_without: list[int] = field(default_factory=list)

    def add(self, line: int, text: str, calls: bool) -> bool:
        """Count one assistant reply; True when it opens a reasoning block it never closes (TPL003)."""
        m = None
        has = False
        if "<" in text:  # every reasoning tag has one, most replies have none, and memchr is fast
            head = text[:48].lstrip()
            m = _OPEN.match(head) if head[:1] == "<" else None
            has = m is not None or ("</" in text and any(p.search(text) for p in _CLOSE.values()))
        if has:
            self.with_block += 1
            if len(self.lines_with) < EXAMPLES:
                self.lines_with.append(line)
        elif not calls and text and not text.isspace():
            self.without_block += 1
            if len(self.lines_without) < EXAMPLES:
                self.lines_without.append(line)
        return m is not None and not _CLOSE[m.group(1).lower()].search(text)

    def merge(self, other: Reasoning) -> None:
        """Fold in the state of the chunk of records after ours."""
        self.with_block += other.with_block
        self.without_block += other.without_block
        self.lines_with = (self.lines_with + other.lines_with)[:EXAMPLES]
        self.lines_without = (self.lines_without + other.lines_without)[:EXAMPLES]

    def findings(self, options: dict[str, Any], path: str, validator: str) -> Iterator[Finding]:
        """TPL002, when enough replies are checked and both sides are large."""
        total = self.with_block + self.without_block
        if total < options["reasoning_min_replies"]:
            return
        share = self.with_block / total
        low = options["reasoning_mixed_share"]
        if not low <= share <= 1 - low:
            return
        fewer = "with" if self.with_block <= self.without_block else "without"
        lines = self.lines_with if fewer == "with" else self.lines_without
        yield Finding(
            code="TPL002", severity=CODES["TPL002"].severity, validator=validator, path=path,
            message=(f"{self.with_block:,} of {plural(total, 'reply', 'replies')} ({share:.1%}) start with a reasoning block and "
                     f"{self.without_block:,} do not; the first replies {fewer} one are at "
                     + ("line " if len(lines) == 1 else "lines ") + ", ".join(f"{n:,}" for n in lines)),
            hint="give every reply a reasoning block, or none",
            data={"with_block": self.with_block, "without_block": self.without_block, "lines": lines},
        )
