"""A one-line progress bar on a terminal: records, records per second and the time left."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

#: seconds before the bar appears, so that short runs print nothing; DSQA_PROGRESS_DELAY overrides it
DEFAULT_DELAY = 1.0
#: seconds between redraws
INTERVAL = 0.2
WIDTH = 24


def _clock_text(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Progress over the bytes of each dataset, drawn on ``stream`` (the caller checks it is a TTY)."""

    def __init__(self, stream: TextIO, *, delay: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        env = os.environ.get("DSQA_PROGRESS_DELAY")
        self.delay = delay if delay is not None else float(env) if env else DEFAULT_DELAY
        self.path = ""
        self.total = 0
        self.done_bytes = 0
        self.records = 0
        self.started = clock()
        self.drawn_at: float | None = None
        self.visible = False

    def start(self, path: str, total_bytes: int) -> None:
        """Begin a dataset of ``total_bytes`` (0 when unknown)."""
        self.path, self.total, self.done_bytes, self.records = path, total_bytes, 0, 0
        self.started = self.clock()

    def advance(self, records: int, nbytes: int) -> None:
        """Count ``records`` more records spanning ``nbytes`` bytes of the file."""
        self.records += records
        self.done_bytes += nbytes
        now = self.clock()
        if now - self.started < self.delay:
            return
        if self.drawn_at is not None and now - self.drawn_at < INTERVAL:
            return
        self.drawn_at = now
        self.draw(now)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.records / elapsed
        text = f"{self.path}: {self.records:,} records, {rate:,.0f} records/s"
        if self.total > 0:
            frac = min(self.done_bytes / self.total, 1.0)
            filled = int(frac * WIDTH)
            left = elapsed * (1 - frac) / frac if frac > 0 else 0.0
            text = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {frac:4.0%} {text}, {_clock_text(left)} left"
        return text

    def draw(self, now: float) -> None:
        self.stream.write("\r\x1b[K" + self.line(now))
        self.stream.flush()
        self.visible = True

    def close(self) -> None:
        """Erase the bar, so the report starts on a clean line."""
        if self.visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.visible = False
