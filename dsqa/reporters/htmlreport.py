"""The HTML report: one self-contained page with inline SVG charts and a filterable findings table.

Nothing is loaded from anywhere: styles and the filter script are inline, charts are inline SVG,
and a Content-Security-Policy forbids every fetch, so the page opens offline and leaks nothing.

Charts per dataset, each drawn when its statistics are in the report (all read by `_read_stats`):

- tokens per example: the ``tokens`` validator's power-of-two histogram, with the model's
  per-example limit drawn where it falls, or named as beyond the data;
- messages per example and messages per role: ``stats.shape`` (the ``shape`` validator);
- findings by code: from the findings;
- duplicate clusters: ``stats.duplicates.top_clusters``, the largest first.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any, NamedTuple, TextIO

from .. import charts
from ..model import Report
from ..safetext import for_humans
from ..wording import plural
from .common import fmt_number, rule_docs, where

#: findings rows written into the page; the JSON report has all of them
MAX_ROWS = 5000
#: duplicate clusters drawn, largest first
TOP_CLUSTERS = 15
_SEVERITIES = ("error", "warning", "info")

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { --error: #c62828; --warning: #b26a00; --info: #1565c0; --ok: #2e7d32; --muted: #666; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
h3 { font-size: 14px; margin: 12px 0 4px; color: #444; }
.verdict.passed { color: var(--ok); } .verdict.failed { color: var(--error); }
.muted { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 8px 24px; } figure { margin: 0; }
.chart { max-width: 100%; height: auto; }
.chart .bar { fill: #5c7cfa; } .chart .bar.error { fill: var(--error); } .chart .bar.warning { fill: var(--warning); }
.chart .bar.info { fill: var(--info); } .chart .bar.over { fill: var(--error); }
.chart .grid { stroke: #e5e5e5; } .chart .tick, .chart .value { font-size: 11px; fill: #555; }
.chart .axis { font-size: 12px; fill: #333; } .chart .limit { stroke: var(--error); stroke-width: 2; stroke-dasharray: 5 3; }
.chart .limit-label { font-size: 11px; fill: var(--error); } .chart .frame { stroke: #999; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #fafafa; } td.num { text-align: right; }
.sev-error { color: var(--error); font-weight: 600; } .sev-warning { color: var(--warning); font-weight: 600; } .sev-info { color: var(--info); }
code.excerpt { display: block; white-space: pre-wrap; word-break: break-all; font-size: 12px; color: #444; background: #f6f6f6; padding: 2px 4px; margin-top: 2px; }
.hint { color: var(--muted); font-size: 12px; } .new { background: #fff3cd; font-size: 11px; padding: 0 4px; border-radius: 3px; }
.filters { margin: 8px 0; display: flex; gap: 16px; align-items: center; }
"""

SCRIPT = """
(function () {
  var severity = document.getElementById("filter-severity");
  var code = document.getElementById("filter-code");
  var shown = document.getElementById("shown-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#findings tbody tr"));
  function apply() {
    var s = severity.value, c = code.value, n = 0;
    rows.forEach(function (row) {
      var ok = (!s || row.dataset.severity === s) && (!c || row.dataset.code === c);
      row.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = n + " of " + rows.length + " findings shown";
  }
  severity.addEventListener("change", apply);
  code.addEventListener("change", apply);
  apply();
})();
"""


class _Stats(NamedTuple):
    """The statistics this page shows, as the validators emit them today."""

    tokens: dict[str, Any]  # stats.tokens (the tokens validator), shown in the header
    bins: list[tuple[int, int, int]]  # stats.tokens.histogram: (lo, hi, count), bins [lo, hi)
    limit: int | None  # stats.tokens.max_tokens_per_example (None when the model has none)
    duplicates: dict[str, Any]  # stats.duplicates, shown in the header
    clusters: list[tuple[int, int]]  # stats.duplicates.top_clusters: (representative line, size)
    messages: dict[int, int]  # stats.shape.messages: examples by number of messages
    roles: dict[str, int]  # stats.shape.roles: messages by role


def _read_stats(stats: dict[str, Any]) -> _Stats:
    """Every read of a dataset's stats block, in one place."""
    tokens = stats.get("tokens") or {}
    dups = stats.get("duplicates") or {}
    shape = stats.get("shape") or {}
    return _Stats(
        tokens=tokens,
        bins=[(b["lo"], b["hi"], b["count"]) for b in tokens.get("histogram") or ()],
        limit=tokens.get("max_tokens_per_example"),
        duplicates=dups,
        clusters=[(c["representative"], c["size"]) for c in dups.get("top_clusters") or ()],
        messages={int(n): c for n, c in (shape.get("messages") or {}).items()},
        roles=dict(shape.get("roles") or {}),
    )


def _tokens_svg(view: _Stats) -> str | None:
    if not view.bins:
        return None
    return charts.histogram(
        "tokens", "Tokens per example", view.bins, x_title="tokens per example", y_title="examples",
        limit=view.limit, limit_text=f"limit {view.limit:,}" if view.limit else "",
    )


def tokens_chart(tokens: dict[str, Any]) -> str | None:
    """The tokens-per-example histogram of a ``stats.tokens`` block with the limit marked, or None without one."""
    return _tokens_svg(_read_stats({"tokens": tokens}))


def _messages_svg(view: _Stats) -> str | None:
    if not view.messages:
        return None
    # every count from the fewest to the most messages, so an empty bin shows as a gap, not a missing tick
    keys = list(range(min(view.messages), max(view.messages) + 1))
    return charts.bars(
        "messages", "Messages per example", [f"{k:,}" for k in keys], [view.messages.get(k, 0) for k in keys],
        x_title="messages in the example", y_title="examples",
    )


def _chart(title: str, svg: str | None) -> str:
    return f'<figure><h3>{escape(title)}</h3>{svg}</figure>' if svg else ""


def _charts(view: _Stats, findings: list[dict[str, Any]]) -> str:
    parts = [_chart("Tokens per example", _tokens_svg(view)), _chart("Messages per example", _messages_svg(view))]
    if view.roles:
        parts.append(_chart("Messages by role", charts.hbars("roles", "Messages by role", list(view.roles), list(view.roles.values()))))
    by_code = Counter((f["code"], f["severity"]) for f in findings)
    if by_code:
        ordered = sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0][0]))
        parts.append(_chart("Findings by code", charts.hbars(
            "codes", "Findings by code", [c for (c, _), _ in ordered], [n for _, n in ordered],
            classes=[s for (_, s), _ in ordered])))
    if view.clusters:
        top = view.clusters[:TOP_CLUSTERS]
        parts.append(_chart("Near-duplicate clusters", charts.hbars(
            "duplicates", "Largest near-duplicate clusters", [f"line {rep:,}" for rep, _ in top], [n for _, n in top])))
    return '<div class="charts">' + "".join(parts) + "</div>"


def _field(name: str, value: Any) -> str | None:
    """One header field: a number or word, or a distribution such as tokens per example (min ... max)."""
    label = escape(name.replace("_", " "))
    if value is None:
        return f"{label}: <b>unknown</b>"
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return f"{label}: <b>{escape(fmt_number(value))}</b>"
    if isinstance(value, dict) and value and all(isinstance(v, (int, float)) or v is None for v in value.values()):
        return f"{label}: " + ", ".join(f"{escape(k)} <b>{escape(fmt_number(v) if v is not None else 'unknown')}</b>"
                                        for k, v in value.items())
    return None


def _fields(key: str, block: dict[str, Any]) -> str:
    shown = [text for text in (_field(k, v) for k, v in block.items()) if text]
    return f"<p class=\"{key}\"><b>{key}</b>: " + " · ".join(shown) + "</p>" if shown else ""


def _severity_counts(findings: list[dict[str, Any]]) -> str:
    counts = Counter(f["severity"] for f in findings)
    # only a severity that occurs gets its colour; a red "0 error" reads as a problem
    return ", ".join(
        f'<span class="{f"sev-{s}" if counts[s] else "muted"}">{plural(counts[s], s)}</span>'
        for s in _SEVERITIES
    )


def _dataset_section(ds: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    view = _read_stats(ds["stats"])
    return (
        f"<section class=\"dataset\"><h2>{escape(ds['path'])}</h2>"
        f"<p>{plural(ds['records'], 'record')} ({escape(str(ds['format'] or 'unknown format'))}): {_severity_counts(findings)}</p>"
        + _fields("tokens", view.tokens) + _fields("duplicates", view.duplicates)
        + _charts(view, findings) + "</section>"
    )


def _row(f: dict[str, Any]) -> str:
    new = ' <span class="new">new</span>' if f.get("baseline") == "new" else ""
    at = f"<div class=\"hint\">at <code>{escape(f['pointer'])}</code></div>" if f["pointer"] else ""
    hint = f"<div class=\"hint\">hint: {escape(f['hint'])}</div>" if f["hint"] else ""
    excerpt = f"<code class=\"excerpt\">{escape(f['excerpt'])}</code>" if f.get("excerpt") else ""
    return (
        f"<tr data-severity=\"{f['severity']}\" data-code=\"{escape(f['code'])}\">"
        f"<td>{escape(where(f))}</td><td><code>{escape(f['code'])}</code>{new}</td>"
        f"<td class=\"sev-{f['severity']}\">{f['severity']}</td>"
        f"<td>{escape(f['message'])}{at}{hint}{excerpt}</td></tr>"
    )


def _head(data: dict[str, Any]) -> str:
    s = data["summary"]
    verdict = "passed" if data["passed"] else "failed"
    records = sum(d["records"] for d in data["datasets"])
    out = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>dsqa report: {verdict}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>dsqa: <span class=\"verdict {verdict}\">{verdict}</span></h1>"
        f"<p>{plural(s['error'], 'error')}, {plural(s['warning'], 'warning')}, {s['info']:,} info "
        f"in {plural(len(data['datasets']), 'file')}, {plural(records, 'record')} (fail-on: <code>{escape(data['fail_on'])}</code>). "
        f"<span class=\"muted\">dsqa {escape(data['version'])}</span></p>\n"
    )
    if "baseline" in data:
        b = data["baseline"]
        out += (
            f"<p class=\"baseline\">Baseline <code>{escape(b['path'])}</code>: <b>{b['new']:,} new</b>, "
            f"{b['fixed']:,} fixed, {b['unchanged']:,} unchanged (only new findings fail).</p>\n"
        )
    return out


def _filters(findings: list[dict[str, Any]]) -> str:
    docs = rule_docs()
    codes = sorted({f["code"] for f in findings})
    options = "".join(
        f"<option value=\"{escape(c)}\">{escape(c)}{' — ' + escape(docs[c].summary) if c in docs else ''}</option>" for c in codes
    )
    return (
        "<div class=\"filters\"><label>Severity <select id=\"filter-severity\"><option value=\"\">all</option>"
        + "".join(f"<option value=\"{sev}\">{sev}</option>" for sev in _SEVERITIES)
        + f"</select></label><label>Code <select id=\"filter-code\"><option value=\"\">all</option>{options}</select></label>"
        "<span id=\"shown-count\" class=\"muted\"></span></div>\n"
    )


def _findings_table(findings: list[dict[str, Any]], out: TextIO) -> None:
    out.write("<h2>Findings</h2>\n")
    if not findings:
        out.write("<p>No findings.</p>\n</body></html>\n")
        return
    out.write(_filters(findings))
    if len(findings) > MAX_ROWS:
        out.write(f"<p class=\"muted\">The first {MAX_ROWS:,} of {len(findings):,} findings; the JSON report has all of them.</p>\n")
    out.write("<table id=\"findings\"><thead><tr><th>where</th><th>code</th><th>severity</th><th>finding</th></tr></thead><tbody>\n")
    for f in findings[:MAX_ROWS]:
        out.write(_row(f) + "\n")
    out.write(f"</tbody></table>\n<script>{SCRIPT}</script>\n</body></html>\n")


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    report = for_humans(report)
    data = report.to_dict()
    out.write(_head(data))
    for ds in data["datasets"]:
        out.write(_dataset_section(ds, [f for f in data["findings"] if f["path"] == ds["path"]]) + "\n")
    _findings_table(data["findings"], out)
