"""The human text report: one line per finding, grouped by file, and a summary line."""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any, TextIO

from ..model import Finding, Report, Severity

#: renderers of a dataset's ``stats[key]`` as a short block of lines under its findings; a
#: validator's reporting module adds its entry here (e.g. "tokens", "diversity", "duplicates")
STAT_BLOCKS: dict[str, Callable[[Any], list[str]]] = {}

_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 or word == "info" else "s")


def _counts(findings: list[Finding]) -> str:
    counts = {s: 0 for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)}
    for f in findings:
        counts[f.severity] += 1
    return ", ".join(_plural(n, str(s)) for s, n in counts.items())


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    findings = report.sorted_findings()
    by_path = {path: list(group) for path, group in groupby(findings, key=lambda f: f.path)}
    hinted: set[str] = set()
    for ds in report.datasets:
        group = by_path.get(ds.path, [])
        for f in group:
            where = f"{f.path}:{f.line}:" if f.line is not None else f"{f.path}:"
            sev = _paint(str(f.severity), _COLORS[f.severity], color)
            at = f" (at {f.pointer})" if f.pointer else ""
            new = " [new]" if f.baseline == "new" else ""
            out.write(f"{where} {_paint(f.code, '1', color)} {sev} {f.message}{at}{new}\n")
            if f.hint and f.code not in hinted:
                hinted.add(f.code)
                out.write(f"    hint: {f.hint}\n")
        for key, block in STAT_BLOCKS.items():
            if key in ds.stats:
                for text in block(ds.stats[key]):
                    out.write(f"  {text}\n")
        fmt = ds.format or "unknown format"
        out.write(_paint(f"{ds.path}: {_plural(ds.records, 'record')} ({fmt}): {_counts(group)}", "2", color) + "\n")
        if group:
            out.write("\n")
    total = sum(ds.records for ds in report.datasets)
    verdict = "passed" if report.passed else "FAILED"
    verdict = _paint(verdict, "32" if report.passed else "31;1", color)
    files = _plural(len(report.datasets), "file")
    out.write(f"{verdict}: {_counts(findings)} in {files}, {_plural(total, 'record')} (fail-on: {report.fail_on})\n")
    if report.baseline is not None:
        b = report.baseline
        out.write(f"baseline {b.path}: {b.new} new, {b.fixed} fixed, {b.unchanged} unchanged (only new findings fail)\n")
