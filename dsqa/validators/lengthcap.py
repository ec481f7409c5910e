"""TOK006: replies piled up at one token count and cut off there — data generated with a max_tokens limit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Finding, Severity
from .base import Code

CODE = Code(
    Severity.WARNING,
    "replies piled up at one length and cut off there",
    why="""
        Many final replies end at (nearly) the same token count, most of them mid-sentence: the
        data was generated with a max_tokens limit, and those replies stop where the generator
        was cut off. A model trained on them learns to stop mid-sentence at that length.
        Reported once per file when at least cap_min_share of the replies (and at least 20) fall
        in a window of 2% of a length, at eight times the density of the lengths just below, and
        most of them do not end a sentence. Regenerate those replies with a higher limit, or drop
        them. Counts are the target model's tokens, so a cap of another tokenizer shows as a
        narrow band rather than one number.
    """,
    failing="3,000 replies of which 400 stop at 498–512 tokens, most mid-sentence",
    passing="replies whose lengths spread smoothly, or that end at similar lengths with full sentences",
    options=("cap_min_share", "cap_min_replies"),
)
OPTIONS: dict[str, Any] = {
    "cap_min_share": {
        "type": "number", "minimum": 0, "maximum": 1,
        "description": "TOK006 needs at least this share of the final replies in the pile",
    },
    "cap_min_replies": {"type": "integer", "minimum": 1, "description": "TOK006 looks at files with at least this many final replies"},
}
DEFAULTS: dict[str, Any] = {"cap_min_share": 0.05, "cap_min_replies": 100}
_ENDS_SENTENCE = frozenset(".!?…。！？\"'”’)]}`*")
#: lines kept per length for the message
LINES = 3


def ends_sentence(text: str) -> bool:
    """Whether a reply ends a sentence (or a quote, a list, a code block) rather than mid-word."""
    tail = text.rstrip()[-1:]
    return tail in _ENDS_SENTENCE or not tail


@dataclass
class ReplyLengths:
    """Token counts of final replies: how many at each length, how many of those cut off, first lines."""

    counts: dict[int, list[int]] = field(default_factory=dict)
    lines: dict[int, list[int]] = field(default_factory=dict)
    replies: int = 0

    def add(self, tokens: int, cut: bool, line: int) -> None:
        """Count one final reply of ``tokens`` tokens, ``cut`` when it does not end a sentence."""
        self.replies += 1
        slot = self.counts.get(tokens)
        if slot is None:
            self.counts[tokens] = [1, 1 if cut else 0]
            self.lines[tokens] = [line]
            return
        slot[0] += 1
        slot[1] += cut
        lines = self.lines[tokens]
        if len(lines) < LINES:
            lines.append(line)

    def merge(self, other: ReplyLengths) -> None:
        """Fold in the chunk of records after ours."""
        self.replies += other.replies
        for n, (c, k) in other.counts.items():
            slot = self.counts.setdefault(n, [0, 0])
            slot[0] += c
            slot[1] += k
            mine = self.lines.setdefault(n, [])
            mine.extend(other.lines[n][: LINES - len(mine)])

    def pile(self, min_share: float) -> tuple[int, int, int, int] | None:
        """(lowest, highest length, replies, cut ones) of the largest pile, or None."""
        if not self.counts:
            return None
        top = max(self.counts)
        count = [0] * (top + 2)
        cut = [0] * (top + 2)
        for n, (c, k) in self.counts.items():
            count[n + 1], cut[n + 1] = c, k
        for i in range(1, top + 2):  # prefix sums: count[i] = replies of fewer than i tokens
            count[i] += count[i - 1]
            cut[i] += cut[i - 1]
        best = None
        floor = max(20, min_share * self.replies)
        for high in sorted(self.counts):
            if high < 32:
                continue
            width = max(2, high // 50)
            low = high - width
            inside = count[high + 1] - count[low]
            if inside < floor:
                continue
            below_lo = max(0, low - 9 * width)
            below = count[low] - count[below_lo]
            density_in = inside / (width + 1)
            density_below = below / max(low - below_lo, 1)
            cut_in = cut[high + 1] - cut[low]
            if density_in >= 8 * density_below and 2 * cut_in > inside and (best is None or inside > best[2]):
                best = (low, high, inside, cut_in)
        return best

    def findings(self, options: Mapping[str, Any], path: str, validator: str) -> Iterator[Finding]:
        """TOK006 for the largest pile of replies at one length, when there is one."""
        if self.replies < options["cap_min_replies"]:
            return
        found = self.pile(options["cap_min_share"])
        if found is None:
            return
        low, high, inside, cut_in = found
        first = sorted(line for n in range(low, high + 1) for line in self.lines.get(n, []))[:LINES]
        yield Finding(
            code="TOK006", severity=CODE.severity, validator=validator, path=path,
            message=(f"{inside:,} of {self.replies:,} final replies ({inside / self.replies:.1%}) end at {low:,}–{high:,} "
                     f"tokens, {cut_in:,} of them mid-sentence: generated with a max_tokens limit of about {high:,}; "
                     "first at lines " + ", ".join(f"{n:,}" for n in first)),
            hint="regenerate those replies with a higher limit, or drop them",
            data={"tokens": high, "from": low, "replies": inside, "cut": cut_in, "lines": first},
        )
