"""The progress bar: drawn on a terminal's stderr only, never into a pipe or with --quiet."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from dsqa.progress import Progress
from helpers import ROOT, chat


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bar_appears_after_the_delay_with_rate_and_time_left() -> None:
    out, clock = io.StringIO(), FakeClock()
    bar = Progress(out, delay=1.0, clock=clock)
    bar.start("train.jsonl", 1000)
    clock.now += 0.5
    bar.advance(100, 250)
    assert out.getvalue() == ""  # a short run prints nothing
    clock.now += 1.5  # 2 s in, a quarter of the bytes read
    bar.advance(100, 250)
    text = out.getvalue()
    assert "train.jsonl: 200 records, 100 records/s" in text
    assert " 50%" in text and "0:02 left" in text
    bar.close()
    assert out.getvalue().endswith("\r\x1b[K")


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(chat(i)) + "\n" for i in range(600)), encoding="utf-8")
    return path


def _run_with_tty_stderr(*args: str) -> tuple[int, str]:
    master, slave = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "DSQA_PROGRESS_DELAY": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "dsqa", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_progress_on_a_terminal(tmp_path: Path) -> None:
    code, err = _run_with_tty_stderr("check", str(_data(tmp_path)), "--jobs", "1")
    assert code == 0
    assert "records/s" in err and "left" in err


def test_no_progress_with_quiet_on_a_terminal(tmp_path: Path) -> None:
    code, err = _run_with_tty_stderr("check", str(_data(tmp_path)), "--jobs", "1", "--quiet")
    assert code == 0
    assert "records/s" not in err


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "DSQA_PROGRESS_DELAY": "0"}
    proc = subprocess.run([sys.executable, "-m", "dsqa", "check", str(_data(tmp_path)), "--jobs", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_bar_reaches_100_percent_when_every_record_is_read() -> None:
    out, clock = io.StringIO(), FakeClock()
    bar = Progress(out, delay=0.0, clock=clock, tick=None)
    bar.start("train.jsonl", 1000)
    clock.now += 1.0
    bar.advance(255, 990)  # the last records of a file seldom fill a whole report batch
    bar.advance(1, 10)
    clock.now += 3.0
    bar.read_all()
    last = out.getvalue().rsplit("\r\x1b[K", 1)[-1]
    assert last == "[########################] 100% train.jsonl: 256 records read, checking the whole dataset, 0:04 so far"


def test_bar_is_redrawn_while_no_record_comes_in() -> None:
    out = io.StringIO()
    bar = Progress(out, delay=0.0, tick=0.05)
    bar.start("big.jsonl", 1000)
    bar.advance(1, 10)
    drawn = out.getvalue().count("\r\x1b[K")
    deadline = time.monotonic() + 5
    while out.getvalue().count("\r\x1b[K") < drawn + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    bar.close()
    assert out.getvalue().count("\r\x1b[K") >= drawn + 3  # at least three redraws with nothing read
    assert "1 record," in out.getvalue()
    size = len(out.getvalue())
    time.sleep(0.2)
    assert len(out.getvalue()) == size  # closed: the ticker has stopped


def test_progress_on_a_terminal_ends_at_100_percent(tmp_path: Path) -> None:
    code, err = _run_with_tty_stderr("check", str(_data(tmp_path)), "--jobs", "1")
    assert code == 0
    assert "100% " in err and "600 records read" in err
