"""Every chart dsqa draws: the HTML report's bar charts and the loss curves of `dsqa metrics --chart`.

A chart is first laid out as a list of marks (lines, rectangles, texts, polylines, dots) in pixel
coordinates; the same marks are then written as SVG or, for loss charts, painted into a PNG with
Pillow (the optional ``dsqa[charts]`` extra). Layout lives here once, so the SVG and the PNG agree.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal, overload

from .errors import DsqaError

#: size of the HTML report's vertical bar charts
W, H = 560, 232
#: plot margins of those charts: room for y tick labels and the rotated y title, x ticks and x title
PAD_L, PAD_R, PAD_T, PAD_B = 62, 30, 18, 44
#: colour and, for text, font size of each class in a standalone chart (loss SVG and PNG);
#: in the HTML report the page's stylesheet colours the same classes
INK: dict[str, tuple[str, float]] = {
    "background": ("#ffffff", 0),
    "title": ("#222222", 15),
    "axis": ("#333333", 12),
    "tick": ("#555555", 11),
    "legend": ("#333333", 12),
    "grid": ("#e5e5e5", 1),
    "frame": ("#333333", 1),
    "series-0": ("#1f77b4", 2),
    "series-1": ("#ff7f0e", 2),
    "series-2": ("#2ca02c", 2),
    "series-3": ("#d62728", 2),
}
SERIES_CLASSES = ("series-0", "series-1", "series-2", "series-3")
PNG_EXTRA = "pip install 'dsqa[charts]'"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    tip: str = ""


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    cls: str
    anchor: Literal["start", "middle", "end"] = "start"
    vertical: bool = False


@dataclass(frozen=True)
class Polyline:
    points: tuple[tuple[float, float], ...]
    cls: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    cls: str


Mark = Line | Rect | Text | Polyline | Dot


@dataclass
class Canvas:
    """A chart laid out in pixels: its name (``data-chart``), accessible label, size and marks."""

    kind: str
    label: str
    width: int
    height: int
    marks: list[Mark] = field(default_factory=list)


# --- scales ------------------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, *, integer: bool = False, most: int = 5) -> list[float]:
    """Evenly spaced round ticks (steps of 1, 2, 2.5 or 5 times a power of ten) covering lo..hi."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / most
    magnitude = 10 ** math.floor(math.log10(raw))
    step = max(10 * magnitude, 1.0) if integer else 10 * magnitude
    for m in (1, 2, 2.5, 5, 10):
        candidate = m * magnitude
        if integer and (candidate < 1 or not float(candidate).is_integer()):
            continue
        if candidate * most >= hi - lo - 1e-9:
            step = candidate
            break
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def tick_text(value: float, ticks: Sequence[float]) -> str:
    """A tick value with thousands separators and as many decimals as the tick step needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = next((d for d in range(7) if abs(round(step * 10**d) - step * 10**d) < 1e-6), 6)
    return f"{value:,.{decimals}f}"


def count_text(value: float) -> str:
    """A count or measurement as shown on a bar's tooltip or end."""
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


@dataclass(frozen=True)
class Frame:
    """The plot area inside a canvas and the value ranges it shows."""

    left: float
    top: float
    right: float
    bottom: float
    x_ticks: Sequence[float]
    y_ticks: Sequence[float]

    def x(self, value: float) -> float:
        lo, hi = self.x_ticks[0], self.x_ticks[-1]
        return self.left + (value - lo) / ((hi - lo) or 1) * (self.right - self.left)

    def y(self, value: float) -> float:
        lo, hi = self.y_ticks[0], self.y_ticks[-1]
        return self.bottom - (value - lo) / ((hi - lo) or 1) * (self.bottom - self.top)


def _y_axis(frame: Frame, title: str) -> list[Mark]:
    """Grid lines with their values, and the y title written upwards along the axis."""
    marks: list[Mark] = []
    for value in frame.y_ticks:
        y = frame.y(value)
        marks.append(Line(frame.left, y, frame.right, y, "grid"))
        marks.append(Text(frame.left - 5, y + 4, tick_text(value, frame.y_ticks), "tick", "end"))
    if title:
        marks.append(Text(14, (frame.top + frame.bottom) / 2, title, "axis", "middle", vertical=True))
    return marks


# --- the HTML report's bar charts ----------------------------------------------------------------


def _bar_frame(values: Sequence[float]) -> Frame:
    top = max(values, default=0)
    return Frame(PAD_L, PAD_T, W - PAD_R, H - PAD_B, (0.0, 1.0), nice_ticks(0, top or 1, integer=True))


def _bar_marks(frame: Frame, values: Sequence[float], tips: Sequence[str], classes: Sequence[str]) -> list[Mark]:
    step = (frame.right - frame.left) / max(len(values), 1)
    marks: list[Mark] = []
    for i, (value, tip, cls) in enumerate(zip(values, tips, classes)):
        y = frame.y(value)
        name = f"bar {cls}" if cls else "bar"
        marks.append(Rect(frame.left + i * step + step * 0.1, y, max(step * 0.8, 1), frame.bottom - y, name, tip))
    marks.append(Line(frame.left, frame.bottom, frame.right, frame.bottom, "frame"))
    return marks


def _x_labels(frame: Frame, labels: Sequence[str], *, edges: bool) -> list[Mark]:
    """Labels under the bars (categories) or on the bar boundaries (histogram edges), thinned to fit."""
    slots = len(labels) - 1 if edges else len(labels)
    step = (frame.right - frame.left) / max(slots, 1)
    widest = max((len(s) for s in labels), default=1) * 6.5 + 6
    every = max(1, math.ceil(widest / step))
    offset = 0.0 if edges else step / 2
    return [
        Text(frame.left + i * step + offset, frame.bottom + 14, name, "tick", "middle")
        for i, name in enumerate(labels) if i % every == 0
    ]


def bars(kind: str, label: str, labels: Sequence[str], values: Sequence[float], *, x_title: str, y_title: str) -> str:
    """A vertical bar chart of counts by category, the y axis running to a round value at or above the tallest bar."""
    frame = _bar_frame(values)
    canvas = Canvas(kind, label, W, H, _y_axis(frame, y_title))
    tips = [f"{name}: {count_text(v)}" for name, v in zip(labels, values)]
    canvas.marks += _bar_marks(frame, values, tips, [""] * len(values))
    canvas.marks += _x_labels(frame, labels, edges=False)
    canvas.marks.append(Text((frame.left + frame.right) / 2, H - 6, x_title, "axis", "middle"))
    return svg(canvas)


def _limit_marks(frame: Frame, edges: Sequence[float], limit: float, text: str) -> list[Mark]:
    """A vertical line where ``limit`` falls among the bins, or a note when it lies past the last one."""
    if limit >= edges[-1]:
        return [Text(frame.right, frame.top - 5, f"{text}, beyond the data", "limit-label", "end")]
    step = (frame.right - frame.left) / (len(edges) - 1)
    i = next(k for k in range(len(edges) - 1) if edges[k + 1] > limit)  # exists: limit < edges[-1]
    lo, hi = edges[i], edges[i + 1]
    # bins of a power-of-two histogram are even on a log scale, so interpolate on that scale
    share = math.log(limit / lo) / math.log(hi / lo) if lo > 0 and limit > lo else max(0.0, (limit - lo) / (hi - lo))
    x = frame.left + (i + share) * step
    # the label sits above the plot, on whichever side of the line has room for it
    label = Text(x - 4, frame.top - 5, text, "limit-label", "end") if x > (frame.left + frame.right) / 2 \
        else Text(x + 4, frame.top - 5, text, "limit-label", "start")
    return [Line(x, frame.top, x, frame.bottom, "limit"), label]


def _over(bins: Sequence[tuple[float, float, int]], limit: float | None) -> list[str]:
    """``over`` for each bin that starts at or past the limit and holds something (an empty bin is not a problem)."""
    if limit is None:
        return [""] * len(bins)
    return ["over" if lo >= limit and count > 0 else "" for lo, _, count in bins]


def histogram(
    kind: str, label: str, bins: Sequence[tuple[float, float, int]], *, x_title: str, y_title: str,
    limit: float | None = None, limit_text: str = "",
) -> str:
    """Counts in adjacent bins ``(lo, hi, count)``, labelled at the bin edges, with an optional limit line.

    Bins that start at or past the limit and hold something are drawn as ``over``.
    """
    counts = [c for _, _, c in bins]
    edges = [bins[0][0], *(hi for _, hi, _ in bins)] if bins else [0.0, 1.0]
    frame = _bar_frame(counts)
    canvas = Canvas(kind, label, W, H, _y_axis(frame, y_title))
    tips = [f"{count_text(lo)}–{count_text(hi)}: {count_text(c)}" for lo, hi, c in bins]
    classes = _over(bins, limit)
    canvas.marks += _bar_marks(frame, counts, tips, classes)
    canvas.marks += _x_labels(frame, [count_text(e) for e in edges], edges=True)
    canvas.marks.append(Text((frame.left + frame.right) / 2, H - 6, x_title, "axis", "middle"))
    if limit is not None and bins:
        canvas.marks += _limit_marks(frame, edges, limit, limit_text)
    return svg(canvas)


def hbars(kind: str, label: str, labels: Sequence[str], values: Sequence[float], *, classes: Sequence[str] | None = None) -> str:
    """A horizontal bar chart, one row per category, with the value at the end of each bar."""
    row, left = 20, 110
    canvas = Canvas(kind, label, W, 12 + row * max(len(values), 1) + 8)
    top = max(values, default=0) or 1
    plot_w = W - left - 60
    for i, (name, value) in enumerate(zip(labels, values)):
        y = 12 + i * row
        w = plot_w * value / top
        cls = f"bar {classes[i]}" if classes and value else "bar"
        canvas.marks.append(Text(left - 6, y + 14, name, "tick", "end"))
        canvas.marks.append(Rect(left, y + 3, max(w, 1), row - 6, cls, f"{name}: {count_text(value)}"))
        canvas.marks.append(Text(left + w + 4, y + 14, count_text(value), "value"))
    return svg(canvas)


# --- loss curves ------------------------------------------------------------------------------------

LOSS_W, LOSS_H = 640, 360


def _loss_frame(series: Mapping[str, Sequence[tuple[float, float]]]) -> Frame:
    points = [p for pts in series.values() for p in pts]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_ticks = nice_ticks(min(0.0, min(xs)), max(xs), integer=True, most=8)
    y_ticks = nice_ticks(min(0.0, min(ys)), max(ys), most=5)
    return Frame(64, 40, LOSS_W - 16, LOSS_H - 48, x_ticks, y_ticks)


def _legend(frame: Frame, names: Sequence[str]) -> list[Mark]:
    """One swatch and name per series, stacked in the top right corner of the plot."""
    width = max(len(n) for n in names) * 7 + 34
    x = frame.right - width - 6
    marks: list[Mark] = [Rect(x, frame.top + 6, width, 18 * len(names) + 6, "legend-box")]
    for i, (name, cls) in enumerate(zip(names, SERIES_CLASSES)):
        y = frame.top + 18 + 18 * i
        marks.append(Line(x + 6, y - 4, x + 24, y - 4, cls))
        marks.append(Text(x + 30, y, name, "legend"))
    return marks


def _finite(series: Mapping[str, Sequence[tuple[float, float]]]) -> dict[str, list[tuple[float, float]]]:
    """The series that have points, without nan or inf (a diverged run logs them; the rest of its curve still shows)."""
    finite = {name: [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)] for name, pts in series.items()}
    return {name: pts for name, pts in finite.items() if pts}


def _x_axis(frame: Frame, title: str) -> list[Mark]:
    """Tick values under the plot, the two axis lines, and the x title."""
    marks: list[Mark] = [
        Text(frame.x(value), frame.bottom + 16, tick_text(value, frame.x_ticks), "tick", "middle") for value in frame.x_ticks
    ]
    marks.append(Line(frame.left, frame.bottom, frame.right, frame.bottom, "frame"))
    marks.append(Line(frame.left, frame.top, frame.left, frame.bottom, "frame"))
    marks.append(Text((frame.left + frame.right) / 2, LOSS_H - 10, title, "axis", "middle"))
    return marks


def _loss_canvas(series: Mapping[str, Sequence[tuple[float, float]]], title: str, x_title: str, y_title: str) -> Canvas:
    drawn = _finite(series)
    if not drawn:
        raise DsqaError(f"{title}: nothing to chart (no series has a finite point)")
    if len(drawn) > len(SERIES_CLASSES):
        raise DsqaError(f"{title}: at most {len(SERIES_CLASSES)} series fit one chart, not {len(drawn)}")
    frame = _loss_frame(drawn)
    canvas = Canvas("loss", title, LOSS_W, LOSS_H, [Rect(0, 0, LOSS_W, LOSS_H, "background")])
    canvas.marks.append(Text(LOSS_W / 2, 24, title, "title", "middle"))
    canvas.marks += _y_axis(frame, y_title)
    canvas.marks += _x_axis(frame, x_title)
    for (name, pts), cls in zip(drawn.items(), SERIES_CLASSES):
        scaled = tuple((frame.x(x), frame.y(y)) for x, y in pts)
        canvas.marks.append(Polyline(scaled, cls))
        if len(scaled) <= 60:  # sparse series (validation loss is often a few points) need visible points
            canvas.marks += [Dot(x, y, cls) for x, y in scaled]
    canvas.marks += _legend(frame, list(drawn))
    return canvas


@overload
def loss_chart(series: Mapping[str, Sequence[tuple[float, float]]], title: str, fmt: Literal["svg"] = "svg", *,
               x_title: str = "step", y_title: str = "loss") -> str: ...
@overload
def loss_chart(series: Mapping[str, Sequence[tuple[float, float]]], title: str, fmt: Literal["png"], *,
               x_title: str = "step", y_title: str = "loss") -> bytes: ...
def loss_chart(series: Mapping[str, Sequence[tuple[float, float]]], title: str, fmt: Literal["svg", "png"] = "svg", *,
               x_title: str = "step", y_title: str = "loss") -> str | bytes:
    """Curves of ``{legend name: [(step, value), ...]}`` with a title, axis titles, ticks and a legend.

    Returns a standalone SVG document (text) for ``fmt="svg"`` and PNG bytes for ``fmt="png"``;
    the PNG needs Pillow (``dsqa[charts]``). Empty series are left out; more than four is an error.
    """
    canvas = _loss_canvas(series, title, x_title, y_title)
    return png(canvas) if fmt == "png" else svg(canvas, standalone=True)


# --- output: SVG ----------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate: integers as they are, computed positions to a tenth of a pixel."""
    return str(value) if isinstance(value, int) else f"{value:.1f}"


def _style(cls: str, standalone: bool, *, text: bool = False, filled: bool = False) -> str:
    """The class attribute, plus explicit colours when the SVG has no page stylesheet to rely on."""
    out = f' class="{escape(cls)}"'
    ink = INK.get(cls.split()[-1])
    if not standalone or ink is None:
        return out
    colour, size = ink
    if text:
        return out + f' fill="{colour}" font-size="{size:g}" font-family="sans-serif"'
    if filled:
        return out + f' fill="{colour}"'
    return out + f' fill="none" stroke="{colour}" stroke-width="{size:g}"'


def _svg_text(m: Text, standalone: bool) -> str:
    turn = f' transform="rotate(-90 {_n(m.x)} {_n(m.y)})"' if m.vertical else ""
    anchor = f' text-anchor="{m.anchor}"' if m.anchor != "start" else ""
    return f'<text{_style(m.cls, standalone, text=True)} x="{_n(m.x)}" y="{_n(m.y)}"{anchor}{turn}>{escape(m.text)}</text>'


def _svg_mark(m: Mark, standalone: bool) -> str:
    if isinstance(m, Line):
        return f'<line{_style(m.cls, standalone)} x1="{_n(m.x1)}" y1="{_n(m.y1)}" x2="{_n(m.x2)}" y2="{_n(m.y2)}"/>'
    if isinstance(m, Rect):
        tip = f"<title>{escape(m.tip)}</title>" if m.tip else ""
        box = f'x="{_n(m.x)}" y="{_n(m.y)}" width="{_n(m.w)}" height="{_n(m.h)}"'
        paint = ' fill="white" stroke="#cccccc"' if standalone and m.cls == "legend-box" else ""
        return f'<rect{_style(m.cls, standalone, filled=True)}{paint} {box}>{tip}</rect>'
    if isinstance(m, Text):
        return _svg_text(m, standalone)
    if isinstance(m, Polyline):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in m.points)
        return f'<polyline{_style(m.cls, standalone)} points="{points}"/>'
    return f'<circle{_style(m.cls, standalone, filled=True)} cx="{_n(m.x)}" cy="{_n(m.y)}" r="3"/>'


def svg(canvas: Canvas, *, standalone: bool = False) -> str:
    """The chart as an inline ``<svg>`` for the HTML report, or as a standalone document with its colours."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(canvas.kind)}" role="img" '
        if standalone else f'<svg class="chart" data-chart="{escape(canvas.kind)}" role="img" '
    )
    out = [
        head + f'aria-label="{escape(canvas.label)}" viewBox="0 0 {canvas.width} {canvas.height}" '
        f'width="{canvas.width}" height="{canvas.height}">',
        f"<title>{escape(canvas.label)}</title>",
        *(_svg_mark(m, standalone) for m in canvas.marks),
        "</svg>",
    ]
    return "\n".join(out) + "\n" if standalone else "".join(out)


# --- output: PNG (Pillow) ---------------------------------------------------------------------------

#: the PNG is painted at this multiple of its size and scaled down, which smooths lines and text
SUPERSAMPLE = 3


class _Painter:
    """Paints marks into a Pillow image drawn at SUPERSAMPLE times the chart's size."""

    def __init__(self, canvas: Canvas) -> None:
        try:
            from PIL import Image, ImageDraw, ImageFont
        except ImportError:
            raise DsqaError(f"a PNG chart needs Pillow, which is not installed: {PNG_EXTRA} (or write an .svg chart)") from None
        self.Image, self.ImageDraw, self.ImageFont = Image, ImageDraw, ImageFont
        self.canvas = canvas
        self.k = SUPERSAMPLE
        self.image = Image.new("RGB", (canvas.width * self.k, canvas.height * self.k), "#ffffff")
        self.draw = ImageDraw.Draw(self.image)
        self.fonts: dict[float, Any] = {}

    def font(self, size: float) -> Any:
        if size not in self.fonts:
            self.fonts[size] = self.ImageFont.load_default(size=size * self.k)
        return self.fonts[size]

    def text(self, m: Text) -> None:
        """Text anchored like SVG's text-anchor at its baseline; vertical text is drawn flat and turned."""
        colour, size = INK.get(m.cls, ("#333333", 12))
        font, k = self.font(size), self.k
        if not m.vertical:
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[m.anchor]
            self.draw.text((m.x * k, m.y * k), m.text, fill=colour, font=font, anchor=anchor)
            return
        box = self.draw.textbbox((0, 0), m.text, font=font, anchor="lt")
        flat = self.Image.new("RGBA", (box[2] + 2, box[3] + 2), (255, 255, 255, 0))
        self.ImageDraw.Draw(flat).text((0, 0), m.text, fill=colour, font=font, anchor="lt")
        turned = flat.rotate(90, expand=True)
        self.image.paste(turned, (round(m.x * k - turned.width), round(m.y * k - turned.height / 2)), turned)

    def mark(self, m: Mark) -> None:
        k, draw = self.k, self.draw
        colour, size = INK.get(m.cls.split()[-1], ("#333333", 1))
        if isinstance(m, Line):
            draw.line([(m.x1 * k, m.y1 * k), (m.x2 * k, m.y2 * k)], fill=colour, width=round(size * k))
        elif isinstance(m, Rect):
            box = [m.x * k, m.y * k, (m.x + m.w) * k, (m.y + m.h) * k]
            if m.cls == "legend-box":
                draw.rectangle(box, fill="#ffffff", outline="#cccccc", width=k)
            else:
                draw.rectangle(box, fill=colour)
        elif isinstance(m, Text):
            self.text(m)
        elif isinstance(m, Polyline):
            draw.line([(x * k, y * k) for x, y in m.points], fill=colour, width=round(size * k), joint="curve")
        else:
            r = 3 * k
            draw.ellipse([m.x * k - r, m.y * k - r, m.x * k + r, m.y * k + r], fill=colour)

    def png(self) -> bytes:
        for m in self.canvas.marks:
            self.mark(m)
        small = self.image.resize((self.canvas.width, self.canvas.height), self.Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True)
        return out.getvalue()


def png(canvas: Canvas) -> bytes:
    """The chart painted with Pillow, as PNG bytes (a one-line error naming ``dsqa[charts]`` without Pillow)."""
    return _Painter(canvas).png()
