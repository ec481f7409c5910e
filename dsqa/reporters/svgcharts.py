"""Small inline SVG charts for the HTML report: vertical bars, horizontal bars, a marker line."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H = 560, 220
PAD_L, PAD_R, PAD_T, PAD_B = 48, 12, 12, 40


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(value)


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:,.2g}"


def _open(kind: str, label: str, width: int, height: int) -> list[str]:
    return [
        f'<svg class="chart" data-chart="{escape(kind)}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(label)}</title>",
    ]


def bars(
    kind: str,
    label: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    x_title: str = "",
    marker: tuple[int, str] | None = None,
    hline: tuple[float, str] | None = None,
    classes: Sequence[str] | None = None,
) -> str:
    """A vertical bar chart.

    ``marker`` = (index of the first bar at or past a limit, label) draws a vertical limit line;
    ``hline`` = (value, label) draws a horizontal one.
    """
    n = max(len(values), 1)
    top = _nice_max(max([*values, hline[0] if hline else 0], default=0))
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    step = plot_w / n
    out = _open(kind, label, W, H)
    for frac in (0, 0.5, 1):
        y = PAD_T + plot_h * (1 - frac)
        out.append(f'<line class="grid" x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">{_num(top * frac)}</text>')
    every = max(1, round(n / 12))
    for i, (name, value) in enumerate(zip(labels, values)):
        h = plot_h * value / top
        x = PAD_L + i * step
        cls = f"bar {classes[i]}" if classes else "bar"
        out.append(
            f'<rect class="{escape(cls)}" x="{x + step * 0.1:.1f}" y="{PAD_T + plot_h - h:.1f}" '
            f'width="{max(step * 0.8, 1):.1f}" height="{h:.1f}"><title>{escape(name)}: {_num(value)}</title></rect>'
        )
        if i % every == 0:
            out.append(f'<text class="tick" x="{x + step / 2:.1f}" y="{H - PAD_B + 14}" text-anchor="middle">{escape(name)}</text>')
    if marker is not None:
        x = PAD_L + marker[0] * step
        out.append(f'<line class="limit" x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{PAD_T + plot_h}"/>')
        out.append(f'<text class="limit-label" x="{x - 4:.1f}" y="{PAD_T + 12}" text-anchor="end">{escape(marker[1])}</text>')
    if hline is not None:
        y = PAD_T + plot_h * (1 - hline[0] / top)
        out.append(f'<line class="limit" x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}"/>')
        out.append(f'<text class="limit-label" x="{W - PAD_R - 2}" y="{y - 4:.1f}" text-anchor="end">{escape(hline[1])}</text>')
    if x_title:
        out.append(f'<text class="axis" x="{PAD_L + plot_w / 2:.1f}" y="{H - 6}" text-anchor="middle">{escape(x_title)}</text>')
    out.append("</svg>")
    return "".join(out)


def hbars(kind: str, label: str, labels: Sequence[str], values: Sequence[float], *, classes: Sequence[str] | None = None) -> str:
    """A horizontal bar chart, one row per category, with the value at the end of each bar."""
    row = 20
    left = 110
    height = PAD_T + row * max(len(values), 1) + 8
    top = max(values, default=0) or 1
    plot_w = W - left - 60
    out = _open(kind, label, W, height)
    for i, (name, value) in enumerate(zip(labels, values)):
        y = PAD_T + i * row
        w = plot_w * value / top
        cls = f"bar {classes[i]}" if classes else "bar"
        out.append(f'<text class="tick" x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        out.append(
            f'<rect class="{escape(cls)}" x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 6}">'
            f"<title>{escape(name)}: {_num(value)}</title></rect>"
        )
        out.append(f'<text class="value" x="{left + w + 4:.1f}" y="{y + 14}">{_num(value)}</text>')
    out.append("</svg>")
    return "".join(out)
