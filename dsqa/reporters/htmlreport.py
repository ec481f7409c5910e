"""The HTML report: one self-contained page with inline SVG charts and a filterable findings table.

Nothing is loaded from anywhere: styles and the filter script are inline, charts are inline SVG,
and a Content-Security-Policy forbids every fetch, so the page opens offline and leaks nothing.

Charts per dataset, each drawn when its statistics are in the report:

- tokens per example: ``stats.tokens.histogram`` as ``[{"lo", "hi", "count"}]`` or
  ``{"edges": [...], "counts": [...]}``, with the model limit (``stats.tokens.max_tokens_per_example``,
  or ``limit``/``max_tokens``/``token_limit``) marked; without a histogram, the percentiles
  (``min``, ``p10``, ``median``, ``p90``, ``max`` under ``stats.tokens.tokens_per_example``)
  against the limit (named in the axis title when it is far above the longest example);
- messages per example and messages per role: ``stats.shape`` (the ``shape`` validator);
- findings by code: from the findings;
- duplicate clusters: ``stats.duplicates.top_clusters`` (objects with ``representative`` and
  ``size``), the largest first, with the duplicate counts above the charts.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any, TextIO

from ..model import Report
from . import svgcharts
from .common import fmt_number, rule_docs, scalar_stats, where

#: findings rows written into the page; the JSON report has all of them
MAX_ROWS = 5000
#: duplicate clusters drawn, largest first
TOP_CLUSTERS = 15
_SEVERITIES = ("error", "warning", "info")
_LIMIT_KEYS = ("limit", "max_tokens", "token_limit", "max_example_tokens", "max_tokens_per_example")
_PERCENTILES = ("min", "p10", "p25", "median", "p50", "p75", "p90", "p95", "p99", "max")

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
.chart .limit-label { font-size: 11px; fill: var(--error); }
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


def _limit(tokens: dict[str, Any]) -> float | None:
    for key in _LIMIT_KEYS:
        value = tokens.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def _bins(hist: Any) -> list[tuple[float, float, float]]:
    """(lo, hi, count) per bin from the histogram shapes this report understands."""
    if isinstance(hist, dict) and isinstance(hist.get("edges"), list) and isinstance(hist.get("counts"), list):
        edges, counts = hist["edges"], hist["counts"]
        return [(float(edges[i]), float(edges[i + 1]), float(c)) for i, c in enumerate(counts) if i + 1 < len(edges)]
    if isinstance(hist, list):
        out = []
        for b in hist:
            if isinstance(b, dict) and "count" in b:
                lo = b.get("lo", b.get("min", b.get("start", 0)))
                hi = b.get("hi", b.get("max", b.get("end", lo)))
                out.append((float(lo), float(hi), float(b["count"])))
        return out
    return []


def tokens_chart(tokens: Any) -> str | None:
    """The tokens-per-example chart with the limit marked, or None without token statistics."""
    if not isinstance(tokens, dict):
        return None
    limit = _limit(tokens)
    limit_text = f"limit {fmt_number(int(limit))}" if limit else ""
    bins = _bins(tokens.get("histogram"))
    if bins:
        labels = [fmt_number(int(lo)) for lo, _, _ in bins]
        values = [c for _, _, c in bins]
        marker = None
        classes = None
        if limit is not None:
            at = next((i for i, (lo, hi, _) in enumerate(bins) if hi > limit), len(bins))
            marker = (at, limit_text)
            classes = ["over" if lo >= limit else "" for lo, _, _ in bins]
        return svgcharts.bars("tokens", "Tokens per example", labels, values, x_title="tokens per example",
                              marker=marker, classes=classes)
    source = next((tokens[k] for k in ("tokens_per_example", "per_example") if isinstance(tokens.get(k), dict)), tokens)
    points = [(k, float(source[k])) for k in _PERCENTILES if isinstance(source.get(k), (int, float)) and not isinstance(source.get(k), bool)]
    if not points:
        return None
    longest = max(v for _, v in points)
    title = "tokens per example, by percentile"
    hline = None
    if limit is not None and limit <= 2 * longest:
        hline = (limit, limit_text)
    elif limit is not None:
        # drawn to scale the limit would flatten every bar; say where it is instead
        title = f"by percentile; the {limit_text} is off the chart ({longest / limit:.1%} used)"
    return svgcharts.bars(
        "tokens", "Tokens per example (percentiles)", [k for k, _ in points], [v for _, v in points],
        x_title=title, hline=hline,
    )


def _cluster_size(cluster: Any) -> int | None:
    if isinstance(cluster, list):
        return len(cluster)
    if isinstance(cluster, dict):
        if isinstance(cluster.get("size"), int):
            return int(cluster["size"])
        for key in ("lines", "members", "records"):
            if isinstance(cluster.get(key), list):
                return len(cluster[key]) + (1 if "representative" in cluster else 0)
    return None


def duplicates_chart(dups: Any) -> str | None:
    """The largest duplicate clusters (examples per cluster), or None without duplicate statistics."""
    if not isinstance(dups, dict):
        return None
    clusters = dups.get("top_clusters", dups.get("clusters"))
    if not isinstance(clusters, list):
        return None
    rows = []
    for cluster in clusters[:TOP_CLUSTERS]:
        size = _cluster_size(cluster)
        if size:
            rep = cluster.get("representative") if isinstance(cluster, dict) else None
            rows.append((f"line {rep}" if isinstance(rep, int) else f"cluster {len(rows) + 1}", size))
    if not rows:
        return None
    return svgcharts.hbars("duplicates", "Largest near-duplicate clusters", [r for r, _ in rows], [n for _, n in rows])


def _chart(title: str, svg: str | None) -> str:
    return f'<figure><h3>{escape(title)}</h3>{svg}</figure>' if svg else ""


def _dataset_section(ds: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    stats = ds["stats"]
    counts = Counter(f["severity"] for f in findings)
    parts = [f"<section class=\"dataset\"><h2>{escape(ds['path'])}</h2>"]
    parts.append(
        f"<p>{ds['records']:,} records ({escape(str(ds['format'] or 'unknown format'))}): "
        + ", ".join(f'<span class="sev-{s}">{counts[s]:,} {s}</span>' for s in _SEVERITIES) + "</p>"
    )
    for key in ("tokens", "duplicates"):
        numbers = scalar_stats(stats.get(key))
        if numbers:
            parts.append(
                f"<p class=\"{key}\"><b>{key}</b>: "
                + " · ".join(f"{escape(k.replace('_', ' '))}: <b>{escape(fmt_number(v))}</b>" for k, v in numbers) + "</p>"
            )
    charts = [_chart("Tokens per example", tokens_chart(stats.get("tokens")))]
    shape = stats.get("shape") if isinstance(stats.get("shape"), dict) else {}
    messages = shape.get("messages") or {}
    if messages:
        keys = sorted(messages, key=int)
        charts.append(_chart("Messages per example", svgcharts.bars(
            "messages", "Messages per example", keys, [messages[k] for k in keys], x_title="messages in the example")))
    roles = shape.get("roles") or {}
    if roles:
        charts.append(_chart("Messages by role", svgcharts.hbars("roles", "Messages by role", list(roles), list(roles.values()))))
    by_code = Counter((f["code"], f["severity"]) for f in findings)
    if by_code:
        ordered = sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0][0]))
        charts.append(_chart("Findings by code", svgcharts.hbars(
            "codes", "Findings by code", [c for (c, _), _ in ordered], [n for _, n in ordered],
            classes=[s for (_, s), _ in ordered])))
    charts.append(_chart("Near-duplicate clusters", duplicates_chart(stats.get("duplicates"))))
    parts.append('<div class="charts">' + "".join(charts) + "</div></section>")
    return "".join(parts)


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


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    data = report.to_dict()
    s = data["summary"]
    verdict = "passed" if data["passed"] else "failed"
    records = sum(d["records"] for d in data["datasets"])
    out.write(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>dsqa report: {verdict}</title><style>{STYLE}</style></head><body>\n"
    )
    out.write(
        f"<h1>dsqa: <span class=\"verdict {verdict}\">{verdict}</span></h1>"
        f"<p>{s['error']:,} errors, {s['warning']:,} warnings, {s['info']:,} info in {len(data['datasets']):,} file(s), "
        f"{records:,} records (fail-on: <code>{escape(data['fail_on'])}</code>). "
        f"<span class=\"muted\">dsqa {escape(data['version'])}</span></p>\n"
    )
    if "baseline" in data:
        b = data["baseline"]
        out.write(
            f"<p class=\"baseline\">Baseline <code>{escape(b['path'])}</code>: <b>{b['new']:,} new</b>, "
            f"{b['fixed']:,} fixed, {b['unchanged']:,} unchanged (only new findings fail).</p>\n"
        )
    for ds in data["datasets"]:
        out.write(_dataset_section(ds, [f for f in data["findings"] if f["path"] == ds["path"]]) + "\n")
    findings = data["findings"]
    out.write("<h2>Findings</h2>\n")
    if not findings:
        out.write("<p>No findings.</p>\n</body></html>\n")
        return
    docs = rule_docs()
    codes = sorted({f["code"] for f in findings})
    options = "".join(
        f"<option value=\"{escape(c)}\">{escape(c)}{' — ' + escape(docs[c].summary) if c in docs else ''}</option>" for c in codes
    )
    out.write(
        "<div class=\"filters\"><label>Severity <select id=\"filter-severity\"><option value=\"\">all</option>"
        + "".join(f"<option value=\"{sev}\">{sev}</option>" for sev in _SEVERITIES)
        + f"</select></label><label>Code <select id=\"filter-code\"><option value=\"\">all</option>{options}</select></label>"
        "<span id=\"shown-count\" class=\"muted\"></span></div>\n"
    )
    if len(findings) > MAX_ROWS:
        out.write(f"<p class=\"muted\">The first {MAX_ROWS:,} of {len(findings):,} findings; the JSON report has all of them.</p>\n")
    out.write("<table id=\"findings\"><thead><tr><th>where</th><th>code</th><th>severity</th><th>finding</th></tr></thead><tbody>\n")
    for f in findings[:MAX_ROWS]:
        out.write(_row(f) + "\n")
    out.write(f"</tbody></table>\n<script>{SCRIPT}</script>\n</body></html>\n")
