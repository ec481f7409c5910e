"""The HTML report in a real headless Chromium: loads offline, no console errors, charts, filters,
and the charts as laid out: the limit marker against the bars and x ticks, the y ticks against the bars.

Chromium is driven over the DevTools protocol (a websocket); `.ci/run` installs Debian's chromium
when it is missing. The test skips only when no Chromium binary exists at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import ROOT, run_cli

websockets_sync = pytest.importorskip("websockets.sync.client", reason="the test extra installs websockets")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: a guard against a hung browser, not a measurement: no assertion depends on time
DEADLINE = 60.0


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium found (install Debian's chromium: apt-get install -y chromium; .ci/run does this)")


class DevTools:
    """A minimal DevTools-protocol client over one page session."""

    def __init__(self, url: str) -> None:
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(websockets_sync.connect(url, max_size=None, open_timeout=DEADLINE))
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not browser:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=DEADLINE))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = json.loads(self.ws.recv(timeout=DEADLINE))
            self.events.append(event)
            if event.get("method") == method:
                return event

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        self.stack.close()


@pytest.fixture()
def page(tmp_path: Path) -> Iterator[DevTools]:
    proc = subprocess.Popen(
        [
            _browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--no-first-run", "--no-default-browser-check",
            f"--user-data-dir={tmp_path / 'profile'}", "--remote-debugging-port=0", "about:blank",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        url = _devtools_url(proc)
        tools = DevTools(url)
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        tools.session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable")
        yield tools
        tools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _devtools_url(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stderr is not None
    buf = b""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            m = re.search(rb"DevTools listening on (ws://\S+)", buf)
            if m:
                return m.group(1).decode()
    raise AssertionError(f"Chromium did not start: {buf.decode(errors='replace')[-2000:]}")


def test_html_report_in_chromium(tmp_path: Path, page: DevTools) -> None:
    report = tmp_path / "report.html"
    proc = run_cli("check", "sample_data/defects.jsonl", "--validation", "sample_data/chat_clean.jsonl",
                   "-f", "html", "-o", str(report))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(run_cli("check", "sample_data/defects.jsonl", "--validation", "sample_data/chat_clean.jsonl",
                              "-f", "json").stdout)
    url = report.as_uri()
    page.send("Page.navigate", {"url": url})
    page.wait_for("Page.loadEventFired")

    assert page.evaluate("document.title").startswith("dsqa report")
    requests = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
    assert requests == [url]  # the file itself and nothing else
    errors = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert errors == []

    charts = page.evaluate("Array.from(document.querySelectorAll('svg.chart')).map(s => s.dataset.chart)")
    assert {"messages", "roles", "codes"} <= set(charts)
    assert charts.count("messages") == 2  # one per dataset
    if any("tokens" in d["stats"] for d in data["datasets"]):
        assert "tokens" in charts
    empty = page.evaluate("Array.from(document.querySelectorAll('svg.chart')).filter(s => s.getBoundingClientRect().height < 30"
                          " || s.querySelectorAll('rect.bar').length === 0).map(s => s.dataset.chart)")
    assert empty == []  # every chart is laid out with bars in it

    def visible() -> int:
        return page.evaluate("Array.from(document.querySelectorAll('#findings tbody tr')).filter(r => r.offsetParent !== null).length")

    def choose(select_id: str, value: str) -> None:
        page.evaluate(f"(() => {{ const s = document.getElementById('{select_id}'); s.value = '{value}';"
                      " s.dispatchEvent(new Event('change')); })()")

    total = len(data["findings"])
    by_severity = {s: sum(1 for f in data["findings"] if f["severity"] == s) for s in ("error", "warning", "info")}
    assert visible() == total
    choose("filter-severity", "warning")
    assert visible() == by_severity["warning"] > 0
    assert page.evaluate("document.getElementById('shown-count').textContent") == f"{by_severity['warning']} of {total} findings shown"
    choose("filter-code", "SCH016")
    assert visible() == sum(1 for f in data["findings"] if f["code"] == "SCH016" and f["severity"] == "warning") == 2
    choose("filter-severity", "")
    choose("filter-code", "SCH003")
    assert visible() == 2
    choose("filter-code", "")
    assert visible() == total
    excerpt = page.evaluate("document.querySelector('#findings tbody tr code.excerpt').textContent")
    assert '"weight": 1' in excerpt  # line 1's record, shown next to its finding


def _near_limit(path: Path) -> Path:
    """Examples of 600 to 70,000 words (one token each), so the longest approach and pass the 65,536 limit."""
    words = (600, 2_500, 9_000, 15_000, 21_000, 40_000, 52_000, 61_000, 64_000, 70_000)
    with path.open("w", encoding="utf-8") as f:
        for i, n in enumerate(words):
            messages = [{"role": "user", "content": f"Summarise document {i}: " + " word" * n},
                        {"role": "assistant", "content": f"Document {i} repeats one word."}]
            f.write(json.dumps({"messages": messages}) + "\n")
    return path


#: boxes of a chart's parts as the browser laid them out
GEOMETRY = """(kind => {
  const svg = document.querySelector(`svg.chart[data-chart="${kind}"]`);
  const box = e => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height, text: e.textContent,
                     cls: e.getAttribute('class'), fill: getComputedStyle(e).fill, transform: e.getAttribute('transform')}; };
  const texts = cls => Array.from(svg.querySelectorAll(`text.${cls}`)).map(box);
  return {bars: Array.from(svg.querySelectorAll('rect.bar')).map(box), ticks: texts('tick'), axis: texts('axis'),
          limits: Array.from(svg.querySelectorAll('line.limit')).map(box), labels: texts('limit-label')};
})"""


def _geometry(page: DevTools, kind: str) -> dict[str, Any]:
    return page.evaluate(f"{GEOMETRY}('{kind}')")


def _x_ticks(chart: dict[str, Any]) -> dict[str, float]:
    """x-axis tick labels (the row below the plot) by text, at their centres."""
    bottom = max(t["y"] for t in chart["ticks"])
    return {t["text"]: t["x"] + t["w"] / 2 for t in chart["ticks"] if t["y"] == bottom}


def _y_ticks(chart: dict[str, Any]) -> list[tuple[str, float]]:
    """y-axis tick labels from the bottom up, at their vertical centres."""
    left = min(t["x"] for t in chart["ticks"])
    row = [t for t in chart["ticks"] if t["x"] + t["w"] < left + 60 and t["y"] < max(u["y"] for u in chart["ticks"])]
    return sorted(((t["text"], t["y"] + t["h"] / 2) for t in row), key=lambda p: -p[1])


def test_limit_marker_and_axes_in_chromium(tmp_path: Path, page: DevTools) -> None:
    data_file = _near_limit(tmp_path / "near_limit.jsonl")
    report = tmp_path / "near.html"
    proc = run_cli("check", str(data_file), "-q", "-f", "html", "-o", str(report))
    assert proc.returncode == 0, proc.stderr
    tokens = json.loads(run_cli("check", str(data_file), "-q", "-f", "json").stdout)["datasets"][0]["stats"]["tokens"]
    assert tokens["max_tokens_per_example"] == 65_536 and tokens["over_limit"] == 1
    page.send("Page.navigate", {"url": report.as_uri()})
    page.wait_for("Page.loadEventFired")
    chart = _geometry(page, "tokens")
    bins = tokens["histogram"]
    assert len(chart["bars"]) == len(bins)

    # the limit line stands on the x tick labelled 65,536, between the last bar under it and the first over it
    (limit,) = chart["limits"]
    ticks = _x_ticks(chart)
    assert list(ticks) == [f"{bins[0]['lo']:,}", *(f"{b['hi']:,}" for b in bins)]
    assert abs(limit["x"] + limit["w"] / 2 - ticks["65,536"]) < 2
    under = next(i for i, b in enumerate(bins) if b["hi"] == 65_536)
    assert chart["bars"][under]["x"] + chart["bars"][under]["w"] < limit["x"] < chart["bars"][under + 1]["x"]
    assert [b["cls"] for b in chart["bars"]] == ["bar over" if b["lo"] >= 65_536 else "bar" for b in bins]
    assert chart["bars"][under + 1]["fill"] == "rgb(198, 40, 40)" != chart["bars"][under]["fill"]
    (label,) = chart["labels"]
    assert label["text"] == "limit 65,536" and label["y"] + label["h"] <= min(b["y"] for b in chart["bars"] if b["h"] > 0) + 1

    # the y axis: round ticks up to the tallest bin, whose bar reaches the top tick; a title written upwards
    tallest = max(b["count"] for b in bins)
    y_ticks = _y_ticks(chart)
    assert [t for t, _ in y_ticks] == [str(n) for n in range(tallest + 1)]  # 0, 1, ... 4
    top_bar = min(b["y"] for b in chart["bars"])
    assert abs(top_bar - y_ticks[-1][1]) < 2 and abs(max(b["y"] + b["h"] for b in chart["bars"]) - y_ticks[0][1]) < 2
    (y_title,) = [a for a in chart["axis"] if a["transform"]]
    assert y_title["text"] == "examples" and y_title["h"] > y_title["w"]


def test_limit_past_the_data_and_empty_bins_in_chromium(tmp_path: Path, page: DevTools) -> None:
    report = tmp_path / "defects.html"
    assert run_cli("check", "sample_data/defects.jsonl", "-q", "-f", "html", "-o", str(report)).returncode == 1
    page.send("Page.navigate", {"url": report.as_uri()})
    page.wait_for("Page.loadEventFired")
    tokens = _geometry(page, "tokens")
    assert tokens["limits"] == [] and [t["text"] for t in tokens["labels"]] == ["limit 65,536, beyond the data"]
    right = max(b["x"] + b["w"] for b in tokens["bars"])
    assert tokens["labels"][0]["x"] + tokens["labels"][0]["w"] >= right - 1  # at the right edge, over no bar's label
    messages = _geometry(page, "messages")
    assert list(_x_ticks(messages)) == ["0", "1", "2", "3", "4"]  # the empty bin 1 keeps its place
    assert [t for t, _ in _y_ticks(messages)] == ["0", "5", "10", "15"]  # tallest bar 14
    colours = page.evaluate("Array.from(document.querySelectorAll('section.dataset > p:first-of-type span'))"
                            ".map(s => [s.textContent, getComputedStyle(s).color])")
    assert [c for t, c in colours if t.startswith("0 ")] == ["rgb(102, 102, 102)"]  # 0 info in grey, not a severity colour
    header = page.evaluate("document.querySelector('p.tokens').textContent")
    assert "billed tokens: " in header and "estimated cost usd: " in header and "tokens per example: min " in header
