"""Markdown summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from collections import Counter
from typing import Any, TextIO

from ..model import Report
from ..safetext import for_humans
from ..wording import plural
from . import tokenstats
from .common import findings_at_or_above, rule_docs, where

#: findings listed one by one; the rest are counted by code
TOP = 15
_SEVERITIES = ("error", "warning", "info")


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell (no pipes, newlines or raw HTML)."""
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    )


def _header(data: dict[str, Any], out: TextIO) -> None:
    s = data["summary"]
    verdict = "✅ passed" if data["passed"] else "❌ failed"
    records = sum(d["records"] for d in data["datasets"])
    out.write(f"## dsqa: {verdict}\n\n")
    out.write(
        f"**{plural(s['error'], 'error')}, {plural(s['warning'], 'warning')}, {plural(s['info'], 'info')}** "
        f"in {plural(len(data['datasets']), 'file')}, {plural(records, 'record')} (fail-on: `{data['fail_on']}`)\n\n"
    )
    if "baseline" in data:
        b = data["baseline"]
        out.write(
            f"Baseline `{cell(b['path'])}`: **{b['new']:,} new**, {b['fixed']:,} fixed, {b['unchanged']:,} unchanged "
            "(only new findings fail)\n\n"
        )


def _files(data: dict[str, Any], out: TextIO) -> None:
    out.write("| file | format | records | errors | warnings | info |\n|---|---|---:|---:|---:|---:|\n")
    for ds in data["datasets"]:
        counts = Counter(f["severity"] for f in data["findings"] if f["path"] == ds["path"])
        out.write(
            f"| `{cell(ds['path'])}` | {cell(ds['format'] or 'unknown')} | {ds['records']:,} | "
            + " | ".join(f"{counts[sev]:,}" for sev in _SEVERITIES) + " |\n"
        )
    out.write("\n")


def _tokens(report: Report, out: TextIO) -> None:
    """Every figure of the text report's tokens block, cost included, per file."""
    counted = [ds for ds in report.datasets if "tokens" in ds.stats]
    if not counted:
        return
    out.write("### Tokens and cost\n\n")
    for ds in counted:
        tokens = ds.stats["tokens"]
        out.write(f"`{cell(ds.path)}` ({cell(tokenstats.heading(tokens))}):\n\n")
        out.write("".join(f"- {cell(line)}\n" for line in tokenstats.facts(tokens, ds.records)) + "\n")


def _by_code(data: dict[str, Any], out: TextIO) -> None:
    docs = rule_docs()
    by_code = Counter((f["code"], f["severity"]) for f in data["findings"])
    out.write("### Findings by code\n\n| code | severity | count | what |\n|---|---|---:|---|\n")
    rank = {sev: i for i, sev in enumerate(_SEVERITIES)}
    for (code, sev), n in sorted(by_code.items(), key=lambda kv: (rank[kv[0][1]], -kv[1], kv[0][0])):
        what = docs[code].summary if code in docs else ""
        out.write(f"| `{code}` | {sev} | {n:,} | {cell(what)} |\n")
    out.write("\n")


def _top(data: dict[str, Any], out: TextIO) -> None:
    gating = findings_at_or_above(data)
    gating_ids = {id(f) for f in gating}
    rest = [f for f in data["findings"] if id(f) not in gating_ids]
    top = (gating + rest)[:TOP]
    title = "Top findings" if len(data["findings"]) > TOP else "Findings"
    out.write(f"### {title}\n\n| where | code | severity | message |\n|---|---|---|---|\n")
    for f in top:
        new = " **new**" if f.get("baseline") == "new" else ""
        at = f" (at `{cell(f['pointer'])}`)" if f["pointer"] else ""
        out.write(f"| `{cell(where(f))}` | `{f['code']}`{new} | {f['severity']} | {cell(f['message'])}{at} |\n")
    if len(data["findings"]) > TOP:
        out.write(f"\n…and {len(data['findings']) - TOP:,} more; run `dsqa check` locally or see the full report.\n")


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    report = for_humans(report)
    data = report.to_dict()
    _header(data, out)
    _files(data, out)
    _tokens(report, out)
    if data["findings"]:
        _by_code(data, out)
        _top(data, out)
