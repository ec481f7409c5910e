"""The HTML report in a real headless Chromium: loads offline, no console errors, charts, filters.

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
