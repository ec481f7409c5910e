"""PRP001 and PRP002: the same text at the end of (almost) every prompt or reply, or at the start of every reply."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...model import Finding, Severity
from ..base import Code

CODES: dict[str, Code] = {
    "PRP001": Code(
        Severity.WARNING,
        "the same ending on (almost) every reply or prompt",
        why="""
            Nearly every assistant reply (or nearly every last user turn) ends with the same
            text: a stop marker such as "!!!", " END" or "\\n\\n###\\n\\n", or a fixed line such
            as "Solution:". These are left from preparing data for the legacy prompt/completion
            format, where the marker told the model where to stop; a chat model has its own end
            of turn, and learns to print the marker. Reported once per file, with the shared
            text, how many have it and the first lines without it, when at least
            shared_min_share of at least shared_min_texts texts share it. Endings that are just
            a full stop or a question mark are normal and not reported. Strip the marker.
        """,
        failing='449 replies that all end with "!!!" (a GSM8K file converted from prompt/completion)',
        passing="replies that end in different ways, most with a full stop",
        options=("shared_min_share", "shared_min_texts"),
    ),
    "PRP002": Code(
        Severity.WARNING,
        "the same start on (almost) every reply",
        why="""
            Nearly every assistant reply starts with the same space (legacy completions began
            with one so that the tokenizer saw a word boundary), the same label such as
            "Answer:", or the same marks such as "### ". The model learns to start every reply
            that way. (A shared opening phrase is DIV003's.)
            Reported once per file with the shared text and the count, under the same limits
            as PRP001. Remove the shared start.
        """,
        failing="449 replies that all start with a space",
        passing="replies that start with their first word",
        options=("shared_min_share", "shared_min_texts"),
    ),
}
OPTIONS: dict[str, Any] = {
    "shared_min_share": {
        "type": "number", "minimum": 0.5, "maximum": 1,
        "description": "PRP001 and PRP002 fire when at least this share of the texts share an end",
    },
    "shared_min_texts": {"type": "integer", "minimum": 2, "description": "PRP001 and PRP002 look at files with at least this many replies"},
}
DEFAULTS: dict[str, Any] = {"shared_min_share": 0.9, "shared_min_texts": 20}

#: the longest shared end looked for, in characters
WIDTH = 16
#: distinct ends kept before they are cut to half their length: memory stays a few tens of KB
MAX_KEYS = 512
#: endings that most sentences have: sharing them is normal
_ORDINARY = frozenset({"", ".", "!", "?", "。", "！", "？", "…", ")", '"', "'", "”", "’", "`", "*", ":", ";", ","})
_LADDER = (16, 8, 4, 2, 1)


@dataclass
class Ends:
    """Counts of the first (or last) ``width`` characters of a kind of text, cut shorter when too many.

    Memory stays under ``MAX_KEYS`` entries: when there are more distinct ends, every key is cut
    to the next shorter width. A shared end shorter than the width is still found at finish.
    """

    start: bool
    width: int = WIDTH
    texts: int = 0
    #: a plain dict: Counter's __missing__ is Python code, and most ends are new
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, text: str) -> None:
        """Count one text's end."""
        self.texts += 1
        w = self.width
        key = text[:w] if self.start else text[-w:]
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        if len(counts) > MAX_KEYS:
            self._narrow()

    def _narrow(self, width: int | None = None) -> None:
        # cut every key to the next rung: the result depends only on the texts, not on when it
        # happens, so a run split over workers and merged gets the same counts as one run
        while len(self.counts) > MAX_KEYS or (width is not None and self.width > width):
            nxt = next(w for w in _LADDER if w < self.width)
            cut: dict[str, int] = {}
            for key, n in self.counts.items():
                short = key[:nxt] if self.start else key[-nxt:]
                cut[short] = cut.get(short, 0) + n
            self.counts, self.width = cut, nxt
            if self.width == 1:
                break

    def merge(self, other: Ends) -> None:
        """Fold in the texts of the chunk of records after ours."""
        width = min(self.width, other.width)
        self._narrow(width)
        other._narrow(width)
        self.texts += other.texts
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        if len(self.counts) > MAX_KEYS:
            self._narrow()

    def shared(self, min_share: float) -> tuple[str, int] | None:
        """The longest end that at least ``min_share`` of the texts have, unless it is an ordinary one."""
        for width in range(self.width, 0, -1):
            agg: Counter[str] = Counter()
            for key, n in self.counts.items():
                if len(key) >= width:
                    agg[key[:width] if self.start else key[-width:]] += n
            if not agg:
                continue
            end, n = agg.most_common(1)[0]
            if n >= min_share * self.texts:
                return None if end.strip() in _ORDINARY and end.strip() == end else (end, n)
        return None


def _label(start: str) -> str | None:
    """The part of a shared start that preparation leaves: leading whitespace, a short label
    ending in ':' (Answer:), or marks (### ); None for an opening phrase, which is DIV003's."""
    if start[:1].isspace():
        return start[: len(start) - len(start.lstrip())]
    colon = start.find(":")
    head = start[:colon].strip()
    if 0 < colon and len(head) <= 12 and all(c.isalpha() or c == " " for c in head):
        return start[: colon + 1]
    marks = len(start) - len(start.lstrip("#>*-=_~|[(<"))
    return start[:marks] if marks else None


_LAST_TOKEN = re.compile(r"\s*\S+\s*$")


def _marker(end: str) -> str | None:
    """The part of a shared ending that preparation leaves: marks or whitespace (!!!, " ->",
    "\n\n###\n\n"), or a last token that does not end a sentence (" END", "Solution:"); None
    when the texts end with the same sentence (a template, DIV003's business)."""
    if not any(c.isalnum() for c in end):
        return end
    body = end.rstrip()
    if body[-1:] in ".?!。？！" and body[-2:-1] not in ".?!":
        return None
    m = _LAST_TOKEN.search(end)
    return m.group() if m else None


def findings(ends: Ends, what: str, code: str, options: Mapping[str, Any], path: str, validator: str) -> Iterator[Finding]:
    """PRP001 or PRP002 for one kind of text, when its shared end is not an ordinary one."""
    if ends.texts < options["shared_min_texts"]:
        return
    start = ends.start
    found = ends.shared(options["shared_min_share"])
    if found is None:
        return
    end, n = found
    part = _label(end) if start else _marker(end)
    if part is None:
        return
    if not start and part == end and len(end) >= ends.width:
        # the window cut a word in two ("nswer!!!"): show the marks after it
        part = re.sub(r"^\w+", "", part) or part
    end = part
    where = "start with" if start else "end with"
    yield Finding(
        code=code, severity=CODES[code].severity, validator=validator, path=path,
        message=f"{n:,} of {ends.texts:,} {what} ({n / ends.texts:.1%}) {where} {end!r}",
        hint=f"remove {end!r} from the {what}: it is left from preparing prompt/completion data",
        data={"text": end, "count": n, "of": ends.texts, "texts": what},
    )
