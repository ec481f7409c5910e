"""A one-line progress bar on a terminal: records, records per second and the time left."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TextIO

#: seconds before the bar appears, so that short runs print nothing; DSQA_PROGRESS_DELAY overrides it
DEFAULT_DELAY = 1.0
#: seconds between redraws as records come in
INTERVAL = 0.2
#: seconds between redraws when no record comes in (a slow span, the dataset-level checks)
TICK = 0.5
WIDTH = 24


def _clock_text(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Progress over the bytes of each dataset, drawn on ``stream`` (the caller checks it is a TTY)."""

    def __init__(
        self, stream: TextIO, *, delay: float | None = None, clock: Callable[[], float] = time.monotonic,
        tick: float | None = TICK,
    ) -> None:
        self.stream = stream
        self.clock = clock
        env = os.environ.get("DSQA_PROGRESS_DELAY")
        self.delay = delay if delay is not None else float(env) if env else DEFAULT_DELAY
        self.path = ""
        self.total = 0
        self.done_bytes = 0
        self.records = 0
        #: what runs after the records are read (the dataset-level checks); "" while reading
        self.phase = ""
        self.started = clock()
        self.drawn_at: float | None = None
        self.visible = False
        # a worker's span or a dataset-level check can take longer than a second with no record
        # read here; the ticker redraws the elapsed time meanwhile (None: no thread, for tests)
        self.tick = tick
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self, path: str, total_bytes: int) -> None:
        """Begin a dataset of ``total_bytes`` (0 when unknown)."""
        with self._lock:
            self.path, self.total, self.done_bytes, self.records, self.phase = path, total_bytes, 0, 0, ""
            self.started = self.clock()
        if self.tick is not None and self._ticker is None:
            self._ticker = threading.Thread(target=self._run_ticker, name="dsqa-progress", daemon=True)
            self._ticker.start()

    def _run_ticker(self) -> None:
        assert self.tick is not None
        while not self._stop.wait(self.tick):
            self.redraw()

    def redraw(self) -> None:
        """Draw the bar now (once the delay has passed), whether or not records came in."""
        with self._lock:
            now = self.clock()
            if now - self.started >= self.delay:
                self.drawn_at = now
                self.draw(now)

    def advance(self, records: int, nbytes: int) -> None:
        """Count ``records`` more records spanning ``nbytes`` bytes of the file."""
        with self._lock:
            self.records += records
            self.done_bytes += nbytes
            now = self.clock()
            if now - self.started < self.delay:
                return
            if self.drawn_at is not None and now - self.drawn_at < INTERVAL:
                return
            self.drawn_at = now
            self.draw(now)

    def read_all(self, phase: str = "checking the whole dataset") -> None:
        """Every record of the dataset is read: show 100% and what runs now."""
        with self._lock:
            self.done_bytes = max(self.done_bytes, self.total)
            self.phase = phase
        self.redraw()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        noun = "record" if self.records == 1 else "records"
        if self.phase:
            text = f"{self.path}: {self.records:,} {noun} read, {self.phase}, {_clock_text(elapsed)} so far"
            return f"[{'#' * WIDTH}] 100% {text}" if self.total > 0 else text
        rate = self.records / elapsed
        text = f"{self.path}: {self.records:,} {noun}, {rate:,.0f} records/s"
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
        """Stop redrawing and erase the bar, so the report starts on a clean line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            if self.visible:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.visible = False
