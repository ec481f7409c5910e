"""The one chart module: round axes, the limit line where the limit is, HTML header fields, loss charts in SVG and PNG."""

from __future__ import annotations

import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dsqa import charts
from dsqa.errors import DsqaError
from dsqa.reporters.htmlreport import tokens_chart
from helpers import run_cli
from test_finetune import MODEL, _dsqa, data, fake  # noqa: F401  (fixtures of the fake OpenAI server)

LOSS = {"training loss": [(1.0, 1.0), (2.0, 0.6667), (3.0, 0.5)], "validation loss": [(2.0, 0.7333)]}


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text.replace('xmlns="http://www.w3.org/2000/svg" ', ""))


def _texts(svg: ET.Element, cls: str) -> list[ET.Element]:
    return [t for t in svg.iter("text") if t.get("class") == cls]


def _bars(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter("rect") if (r.get("class") or "").split()[0] == "bar"]


@pytest.mark.parametrize(("top", "integer", "want"), [
    (14, True, [0, 5, 10, 15]),
    (17, True, [0, 5, 10, 15, 20]),
    (10, True, [0, 2, 4, 6, 8, 10]),
    (4, True, [0, 1, 2, 3, 4]),
    (1, True, [0, 1]),
    (0.7333, False, [0, 0.2, 0.4, 0.6, 0.8]),
    (2.31, False, [0, 0.5, 1, 1.5, 2, 2.5]),
])
def test_ticks_are_round_and_end_at_or_just_above_the_top(top: float, integer: bool, want: list[float]) -> None:
    assert charts.nice_ticks(0, top, integer=integer) == want


def test_tick_text_has_the_decimals_the_step_needs() -> None:
    assert [charts.tick_text(v, [0, 0.25]) for v in (0, 0.25, 1.5)] == ["0.00", "0.25", "1.50"]
    assert [charts.tick_text(v, [0, 0.2]) for v in (0, 0.6000000000000001)] == ["0.0", "0.6"]
    assert charts.tick_text(65536, [0, 16384]) == "65,536"


def _limit_x(svg: ET.Element) -> float:
    (line,) = [ln for ln in svg.iter("line") if ln.get("class") == "limit"]
    assert line.get("x1") == line.get("x2")
    return float(line.get("x1", "nan"))


def test_limit_line_is_drawn_where_the_limit_falls_between_the_edges() -> None:
    bins = [(512, 1024, 2), (1024, 2048, 5), (2048, 4096, 1)]
    svg = _svg(tokens_chart({"max_tokens_per_example": 2048, "histogram": [{"lo": a, "hi": b, "count": c} for a, b, c in bins]}) or "")
    ticks = {t.text: float(t.get("x", "nan")) for t in _texts(svg, "tick") if t.get("y") == _texts(svg, "tick")[-1].get("y")}
    assert list(ticks) == ["512", "1,024", "2,048", "4,096"]  # the x axis labels the bin edges
    assert _limit_x(svg) == pytest.approx(ticks["2,048"])
    bars = _bars(svg)
    assert [b.get("class") for b in bars] == ["bar", "bar", "bar over"]
    assert float(bars[1].get("x", "0")) + float(bars[1].get("width", "0")) < _limit_x(svg) < float(bars[2].get("x", "0"))
    # inside a power-of-two bin the limit is placed on a log scale: 1,448 is half way from 1,024 to 2,048
    mid = _svg(charts.histogram("tokens", "t", bins, x_title="", y_title="", limit=1448, limit_text="limit 1,448"))
    assert _limit_x(mid) == pytest.approx((ticks["1,024"] + ticks["2,048"]) / 2, abs=0.2)


def test_a_limit_past_the_data_is_named_not_drawn_after_the_last_bar() -> None:
    svg_text = tokens_chart({"max_tokens_per_example": 65536, "histogram": [
        {"lo": 16, "hi": 32, "count": 10}, {"lo": 32, "hi": 64, "count": 0}, {"lo": 64, "hi": 128, "count": 3}]})
    svg = _svg(svg_text or "")
    assert not [ln for ln in svg.iter("line") if ln.get("class") == "limit"]
    assert [t.text for t in _texts(svg, "limit-label")] == ["limit 65,536, beyond the data"]
    assert [b.get("class") for b in _bars(svg)] == ["bar", "bar", "bar"]
    assert tokens_chart({"max_tokens_per_example": 65536, "histogram": []}) is None


def test_y_axis_runs_to_a_round_value_just_above_the_tallest_bar_with_ticks_and_a_title() -> None:
    svg = _svg(charts.bars("messages", "m", ["2", "3", "4"], [2, 14, 0], x_title="messages", y_title="examples"))
    y_ticks = [t for t in _texts(svg, "tick") if t.get("text-anchor") == "end"]
    assert [t.text for t in y_ticks] == ["0", "5", "10", "15"]
    top_tick_y = float(y_ticks[-1].get("y", "nan")) - 4
    tallest = min(float(b.get("y", "nan")) for b in _bars(svg))
    assert top_tick_y < tallest < top_tick_y + (float(y_ticks[0].get("y", "nan")) - 4 - top_tick_y) * 0.1
    (title,) = [t for t in _texts(svg, "axis") if t.get("transform", "").startswith("rotate(-90")]
    assert title.text == "examples"
    assert float(_bars(svg)[2].get("height", "nan")) == 0  # an empty bin keeps its place with no bar


def test_html_fills_empty_bins_and_shows_every_token_and_cost_field(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    proc = run_cli("check", "sample_data/chat_clean.jsonl", "-q", "-f", "html", "-o", str(report))
    assert proc.returncode == 0, proc.stderr
    page = report.read_text(encoding="utf-8")
    stats = json.loads(run_cli("check", "sample_data/chat_clean.jsonl", "-q", "-f", "json").stdout)["datasets"][0]["stats"]
    messages = _svg(re.search(r'<svg class="chart" data-chart="messages".*?</svg>', page).group(0))  # type: ignore[union-attr]
    shape = {int(k): v for k, v in stats["shape"]["messages"].items()}
    assert sorted(shape) == [2, 3, 5, 6, 7, 9]
    assert [b.findtext("title") for b in _bars(messages)] == [f"{n}: {shape.get(n, 0)}" for n in range(2, 10)]
    tokens = stats["tokens"]
    header = re.search(r'<p class="tokens">(.*?)</p>', page).group(1)  # type: ignore[union-attr]
    assert f"billed tokens: <b>{tokens['billed_tokens']:,}</b>" in header
    assert f"estimated cost usd: <b>{tokens['estimated_cost_usd']}</b>" in header
    dist = tokens["tokens_per_example"]
    assert f"tokens per example: min <b>{dist['min']}</b>, p10 <b>{dist['p10']}</b>, median <b>{dist['median']}</b>" in header
    assert '<span class="muted">0 errors</span>' in page and 'class="sev-error">0' not in page  # zero is not red


def test_loss_svg_has_title_axis_titles_ticks_and_legend() -> None:
    svg = _svg(charts.loss_chart(LOSS, "ftjob-1 loss"))
    assert [t.text for t in _texts(svg, "title")] == ["ftjob-1 loss"]
    assert sorted(t.text or "" for t in _texts(svg, "axis")) == ["loss", "step"]
    ticks = [t.text for t in _texts(svg, "tick")]
    assert ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"] == ticks[:6] and ["0", "1", "2", "3"] == ticks[6:]
    assert [t.text for t in _texts(svg, "legend")] == ["training loss", "validation loss"]
    lines = {p.get("class"): p.get("stroke") for p in svg.iter("polyline")}
    assert lines == {"series-0": "#1f77b4", "series-1": "#ff7f0e"}
    assert len([c for c in svg.iter("circle") if c.get("class") == "series-1"]) == 1  # a lone validation point shows


def test_loss_png_is_painted_with_pillow() -> None:
    Image = pytest.importorskip("PIL.Image", reason="PNG charts need the charts extra (Pillow)")
    blob = charts.loss_chart(LOSS, "ftjob-1 loss", "png")
    with Image.open(io.BytesIO(blob)) as image:
        assert image.format == "PNG" and image.size == (charts.LOSS_W, charts.LOSS_H)
        rgb = image.convert("RGB")
    colours = {c for _, c in rgb.getcolors(charts.LOSS_W * charts.LOSS_H)}
    assert {(0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)} <= colours
    # the title is written: dark pixels in the band above the plot, centred
    title_band = [rgb.getpixel((x, y)) for x in range(250, 390) for y in range(8, 32)]
    assert sum(1 for p in title_band if sum(p) < 300) > 50
    # the y title is written upwards in the left margin
    assert sum(1 for x in range(0, 22) for y in range(150, 220) if sum(rgb.getpixel((x, y))) < 400) > 20


def test_png_without_pillow_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(DsqaError) as caught:
        charts.loss_chart(LOSS, "ftjob-1 loss", "png")
    message = str(caught.value)
    assert "\n" not in message and "pip install 'dsqa[charts]'" in message
    assert charts.loss_chart(LOSS, "ftjob-1 loss").startswith("<svg")  # SVG needs nothing extra


def test_metrics_png_without_pillow_fails_with_that_line(fake, data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    assert _dsqa("submit", str(data[0]), "--model", MODEL, "--watch", "--interval", "0").returncode == 0
    (job_id,) = fake.state.jobs
    monkeypatch.setitem(sys.modules, "PIL", None)
    proc = _dsqa("metrics", job_id, "-o", str(tmp_path / "m.csv"), "--chart", str(tmp_path / "loss.png"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "dsqa: error: a PNG chart needs Pillow, which is not installed: pip install 'dsqa[charts]' (or write an .svg chart)"]
    assert not (tmp_path / "loss.png").exists()


def test_empty_series_is_an_error_not_an_empty_chart() -> None:
    with pytest.raises(DsqaError, match="ftjob-1 loss: nothing to chart"):
        charts.loss_chart({"training loss": [], "validation loss": [(1.0, float("nan"))]}, "ftjob-1 loss")
    svg = _svg(charts.loss_chart({"training loss": [(1.0, 2.0), (2.0, float("inf")), (3.0, 1.0)]}, "ftjob-1 loss"))
    assert [len((p.get("points") or "").split()) for p in svg.iter("polyline")] == [2]  # the inf point is left out
