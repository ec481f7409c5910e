"""The human text report: one line per finding (grouped by code on big runs), grouped by file, and a summary line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, TextIO

from ..model import DatasetResult, Finding, Report, Severity
from ..safetext import for_humans
from ..wording import plural
from .common import record_suffix

#: renderers of a dataset's ``stats[key]`` as a short block of lines under its findings, called
#: with the stats block and the file's record count; a validator's reporting module adds its
#: entry here (e.g. "tokens", "diversity", "duplicates")
STAT_BLOCKS: dict[str, Callable[..., list[str]]] = {}

#: above this many findings the report lists them by code, with the first few lines of each
GROUP_ABOVE = 200
#: findings listed under each code when grouped
FIRST_LINES = 3

_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}
_SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def used_of(used: int, records: int | None, verb: str, only: str) -> str:
    """``21 of the 27 records counted (only ...)``: how many of a file's records a stats block uses, and which."""
    if records is None:
        return f"{plural(used, 'record')} {verb}"
    if used == records:
        return f"{'the' if records == 1 else 'all'} {plural(records, 'record')} {verb}"
    return f"{used:,} of the {plural(records, 'record')} {verb} (only {only})"


def counts(findings: Sequence[Finding]) -> str:
    """``3 errors, 1 warning, 0 info``."""
    tally = Counter(f.severity for f in findings)
    return ", ".join(plural(tally[s], str(s)) for s in _SEVERITIES)


def by_code(findings: Sequence[Finding]) -> list[tuple[str, Severity, list[Finding]]]:
    """Findings per (code, severity), the most severe first, then the most frequent."""
    groups: dict[tuple[str, Severity], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.code, f.severity), []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (-kv[0][1], -len(kv[1]), kv[0][0]))
    return [(code, sev, items) for (code, sev), items in ordered]


def _summary(code: str) -> str:
    from .common import rule_docs

    doc = rule_docs().get(code)
    return doc.summary if doc is not None else ""


@dataclass
class _Writer:
    """Writes findings one per line or grouped by code, with each code's hint once."""

    out: TextIO
    color: bool
    hinted: set[str] = field(default_factory=set)

    def finding(self, f: Finding, indent: str = "") -> None:
        where = f"{f.path}:{f.line}{record_suffix(f.data)}:" if f.line is not None else f"{f.path}:"
        sev = _paint(str(f.severity), _COLORS[f.severity], self.color)
        at = f" (at {f.pointer})" if f.pointer else ""
        new = " [new]" if f.baseline == "new" else ""
        self.out.write(f"{indent}{where} {_paint(f.code, '1', self.color)} {sev} {f.message}{at}{new}\n")
        self.hint(f, indent + "    ")

    def hint(self, f: Finding, indent: str) -> None:
        if f.hint and f.code not in self.hinted:
            self.hinted.add(f.code)
            self.out.write(f"{indent}hint: {f.hint}\n")

    def grouped(self, path: str, findings: Sequence[Finding]) -> None:
        self.out.write(f"{path}: {plural(len(findings), 'finding')} by code (--show-all lists every one):\n")
        for code, sev, items in by_code(findings):
            what = _summary(code)
            head = f"  {_paint(code, '1', self.color)} {_paint(str(sev), _COLORS[sev], self.color)} ×{len(items):,}"
            self.out.write(head + (f": {what}\n" if what else "\n"))
            for f in items[:FIRST_LINES]:
                where = f"line {f.line:,}" if f.line is not None else "file"
                at = f" (at {f.pointer})" if f.pointer else ""
                self.out.write(f"    {where}: {f.message}{at}" + (" [new]" if f.baseline == "new" else "") + "\n")
            if len(items) > FIRST_LINES:
                self.out.write(f"    … and {len(items) - FIRST_LINES:,} more\n")
            self.hint(items[0], "    ")

    def stats(self, ds: DatasetResult) -> None:
        stats: dict[str, Any] = dict(ds.stats)
        for key, block in STAT_BLOCKS.items():
            if key in stats:
                for text in block(stats[key], ds.records):
                    self.out.write(f"  {text}\n")


def render(
    report: Report, out: TextIO, *, color: bool = False, show_all: bool = False, max_findings: int | None = None
) -> None:
    """The text report; above ``GROUP_ABOVE`` findings they are grouped by code unless ``show_all``
    or ``max_findings`` (list at most that many, one per line) says otherwise."""
    report = for_humans(report)
    findings = report.sorted_findings()
    grouped = not show_all and max_findings is None and len(findings) > GROUP_ABOVE
    room = len(findings) if show_all or max_findings is None else max_findings
    by_path = {path: list(group) for path, group in groupby(findings, key=lambda f: f.path)}
    writer = _Writer(out, color)
    for ds in report.datasets:
        group = by_path.get(ds.path, [])
        if grouped and group:
            writer.grouped(ds.path, group)
        else:
            for f in group[:room]:
                writer.finding(f)
            room -= min(room, len(group))
        writer.stats(ds)
        fmt = ds.format or "unknown format"
        checked_as = ds.stats.get("checked_as")
        if checked_as:
            fmt = f"{fmt}, checked as {checked_as}"  # a source format checked in place (dsqa.sourcemap)
        out.write(_paint(f"{ds.path}: {plural(ds.records, 'record')} ({fmt}): {counts(group)}", "2", color) + "\n")
        if group:
            out.write("\n")
    if not show_all and max_findings is not None and len(findings) > max_findings:
        out.write(f"… {plural(len(findings) - max_findings, 'more finding')} not shown (--max-findings {max_findings:,}; "
                  "--show-all lists every one)\n")
    _verdict(report, findings, out, color)


def _verdict(report: Report, findings: Sequence[Finding], out: TextIO, color: bool) -> None:
    total = sum(ds.records for ds in report.datasets)
    verdict = _paint("passed" if report.passed else "FAILED", "32" if report.passed else "31;1", color)
    files = plural(len(report.datasets), "file")
    out.write(f"{verdict}: {counts(findings)} in {files}, {plural(total, 'record')} (fail-on: {report.fail_on})\n")
    if report.baseline is not None:
        b = report.baseline
        out.write(f"baseline {b.path}: {b.new:,} new, {b.fixed:,} fixed, {b.unchanged:,} unchanged (only new findings fail)\n")


def render_statistics(report: Report, out: TextIO) -> None:
    """One line per code, as ``ruff --statistics`` prints: count, code, severity and what the code means."""
    rows = by_code(report.findings)
    width = max((len(f"{len(items):,}") for _, _, items in rows), default=1)
    for code, sev, items in rows:
        what = _summary(code)
        out.write(f"{len(items):>{width},}  {code:<7} {str(sev):<7}  {what}".rstrip() + "\n")


# the stat blocks register themselves in STAT_BLOCKS, in the order the report shows them; they
# import this module, so they come last
from . import tokenstats  # noqa: E402, F401, I001
from . import dupstats  # noqa: E402, F401
from . import diversitystats  # noqa: E402, F401
