"""PRF009 and PRF010: an opening only one side uses, and a length that decides the pair."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...model import Finding, Severity
from ...stats import PreferenceStats
from ..base import Code

CODES: dict[str, Code] = {
    "PRF009": Code(
        Severity.WARNING,
        "an opening used by one side of the pairs only",
        why="""
            Many outputs on one side start with the same words and (almost) none on the other
            side does, e.g. "Sure, I'd be happy to help!" opening a third of the rejected
            outputs and no preferred one. The model can then tell the sides apart by the
            opening and learns to avoid (or use) it, not the preference the data is about.
            Reported once per opening, for openings of the first opening_words words (of
            longer outputs) used by at least opening_min_share of one side and at most a tenth
            as often on the other, with counts and the first lines. Rewrite or vary the openings, or drop the pairs.
        """,
        failing="300 pairs where 126 rejected outputs start \"Sure, I'd be happy to help!\" and no preferred one does",
        passing="pairs whose preferred and rejected outputs start in the same mix of ways",
        options=("opening_words", "opening_min_share", "bias_min_pairs"),
    ),
    "PRF010": Code(
        Severity.WARNING,
        "the preferred output is systematically longer (or shorter)",
        why="""
            In most pairs the preferred output is longer than the rejected one (or shorter), by
            a large factor: at least length_bias_share of the pairs, with a median length ratio
            of length_bias_ratio or more. Preference training then rewards length itself, a
            known cause of verbose models. Balance the lengths, or add pairs where the shorter
            output is preferred.
        """,
        failing="200 pairs where the preferred output is longer in 180, with a median ratio of 2.3",
        passing="pairs where the longer output is preferred about as often as the shorter",
        options=("length_bias_share", "length_bias_ratio", "bias_min_pairs"),
    ),
}
OPTIONS: dict[str, Any] = {
    "opening_words": {"type": "integer", "minimum": 1, "description": "how many first words make an output's opening (PRF009)"},
    "opening_min_share": {
        "type": "number", "minimum": 0, "maximum": 1,
        "description": "an opening is reported when at least this share of one side uses it (PRF009)",
    },
    "length_bias_share": {
        "type": "number", "minimum": 0.5, "maximum": 1,
        "description": "PRF010 needs the preferred output longer (or shorter) in at least this share of pairs",
    },
    "length_bias_ratio": {
        "type": "number", "minimum": 1,
        "description": "PRF010 needs the median length ratio of the pairs to be at least this (or its inverse)",
    },
    "bias_min_pairs": {"type": "integer", "minimum": 1, "description": "PRF009 and PRF010 look at files with at least this many pairs"},
}
DEFAULTS: dict[str, Any] = {
    "opening_words": 5, "opening_min_share": 0.1, "length_bias_share": 0.8, "length_bias_ratio": 1.5, "bias_min_pairs": 50,
}
#: distinct openings kept per side; past this, openings seen once are dropped (a frequent one stays)
MAX_OPENINGS = 100_000
#: lines kept per opening for the message
EXAMPLES = 3
_WORD = re.compile(r"\S+")


def opening(text: str, words: int) -> str:
    """The first ``words`` words of ``text``, in lower case, as an output's opening; "" for a short output.

    An output of no more words than that is all answer ("Yes.", "No, it is not."): the same
    short answer on one side is the preference itself, not a preamble.
    """
    found = _WORD.findall(text[: 24 * (words + 1)], 0)
    if len(found) <= words:
        return ""
    return " ".join(found[:words]).casefold()


@dataclass
class SideStats:
    """Openings and lengths of the preferred and rejected outputs of a file."""

    words: int
    pairs: int = 0
    openings: tuple[Counter[str], Counter[str]] = field(default_factory=lambda: (Counter(), Counter()))
    lines: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    #: preferred length / rejected length, per pair (rounded: only the median is used)
    ratios: list[float] = field(default_factory=list)

    def add(self, line: int, preferred: str, rejected: str) -> None:
        """Count one pair."""
        self.pairs += 1
        for side, text in enumerate((preferred, rejected)):
            key = opening(text, self.words)
            if not key:
                continue
            counts = self.openings[side]
            counts[key] += 1
            where = self.lines.setdefault((side, key), [])
            if len(where) < EXAMPLES:
                where.append(line)
            if len(counts) > MAX_OPENINGS:
                self._prune(side)
        if preferred and rejected:
            self.ratios.append(round(len(preferred) / len(rejected), 3))

    def _prune(self, side: int) -> None:
        counts = self.openings[side]
        for key in [k for k, c in counts.items() if c == 1]:
            del counts[key]
            self.lines.pop((side, key), None)

    def merge(self, other: SideStats) -> None:
        """Fold in the pairs of the chunk of records after ours."""
        self.pairs += other.pairs
        for side in (0, 1):
            self.openings[side].update(other.openings[side])
        for key, where in other.lines.items():
            mine = self.lines.setdefault(key, [])
            mine.extend(where[: EXAMPLES - len(mine)])
        self.ratios.extend(other.ratios)

    def stats(self) -> PreferenceStats:
        """``stats.preference`` of the report."""
        longer = sum(1 for r in self.ratios if r > 1)
        return {
            "pairs": self.pairs,
            "preferred_longer_share": round(longer / len(self.ratios), 4) if self.ratios else None,
            "median_length_ratio": statistics.median(self.ratios) if self.ratios else None,
        }


_SIDES = ("preferred", "rejected")


def opening_findings(sides: SideStats, options: Mapping[str, Any], path: str, validator: str) -> Iterator[Finding]:
    """PRF009 for each opening one side uses often and the other (almost) never."""
    if sides.pairs < options["bias_min_pairs"]:
        return
    floor = max(2, options["opening_min_share"] * sides.pairs)
    for side in (0, 1):
        other = 1 - side
        for key, count in sorted(sides.openings[side].items(), key=lambda kv: (-kv[1], kv[0])):
            if count < floor:
                break
            theirs = sides.openings[other].get(key, 0)
            if theirs * 10 > count:
                continue
            lines = sides.lines.get((side, key), [])
            yield Finding(
                code="PRF009", severity=CODES["PRF009"].severity, validator=validator, path=path,
                message=(f"{count:,} of {sides.pairs:,} {_SIDES[side]} outputs ({count / sides.pairs:.1%}) start "
                         f"{key!r}, and {theirs:,} {_SIDES[other]} ones do; first at "
                         + ("line " if len(lines) == 1 else "lines ") + ", ".join(f"{n:,}" for n in lines)),
                hint="vary or remove the opening, so that the sides differ in what the preference is about",
                data={"opening": key, "side": _SIDES[side], "count": count, "other_side": theirs, "lines": lines},
            )


def length_findings(sides: SideStats, options: Mapping[str, Any], path: str, validator: str) -> Iterator[Finding]:
    """PRF010 when one side is longer in most pairs, by a large factor."""
    ratios = sides.ratios
    if len(ratios) < options["bias_min_pairs"]:
        return
    median = statistics.median(ratios)
    longer = sum(1 for r in ratios if r > 1) / len(ratios)
    shorter = sum(1 for r in ratios if r < 1) / len(ratios)
    share, factor = options["length_bias_share"], options["length_bias_ratio"]
    if longer >= share and median >= factor:
        how, part, times = "longer", longer, median
    elif shorter >= share and median <= 1 / factor:
        how, part, times = "shorter", shorter, 1 / median
    else:
        return
    yield Finding(
        code="PRF010", severity=CODES["PRF010"].severity, validator=validator, path=path,
        message=(f"the preferred output is {how} than the rejected one in {part:.0%} of {len(ratios):,} pairs, "
                 f"{times:.1f} times as long in the median pair"),
        hint=f"add pairs where the {'shorter' if how == 'longer' else 'longer'} output is preferred, or balance the lengths",
        data={"direction": how, "share": round(part, 4), "median_ratio": round(median, 3), "pairs": len(ratios)},
    )
