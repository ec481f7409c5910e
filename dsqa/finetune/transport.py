"""Retrying API calls that are safe to repeat: the server's retry-after, else backoff with jitter, within a time budget."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .backend import BackendError

T = TypeVar("T")
Echo = Callable[[str], None]

#: default total time (seconds) dsqa keeps retrying one call before it gives up (`--max-wait`)
DEFAULT_MAX_WAIT = 600.0
#: first backoff delay and the largest single delay when the server gives no retry-after
BASE_DELAY = 1.0
MAX_DELAY = 60.0

# the clock and sleep used by every Retry; tests swap them for a virtual clock so that a
# minute of backoff takes no real time while the delays themselves are computed for real
CLOCK: Callable[[], float] = time.monotonic
SLEEP: Callable[[float], None] = time.sleep


def backoff_delay(attempt: int, rand: Callable[[], float] = random.random, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Exponential backoff with jitter: ``min(cap, base * 2**attempt)`` scaled into [50 %, 100 %]."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return ceiling * (0.5 + 0.5 * rand())


def retry_after(response: Any) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms`` or ``retry-after``), if it says."""
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def _seconds(value: float) -> str:
    if value < 10:
        return f"{value:.1f} s"
    return f"{value:,.0f} s"


@dataclass
class Retry:
    """How long and how visibly a backend retries transient failures (429, 5xx, timeouts, dropped connections)."""

    max_wait: float = DEFAULT_MAX_WAIT
    echo: Echo | None = None
    rand: Callable[[], float] = random.random
    waits: list[float] = field(default_factory=list)

    def run(self, what: str, fn: Callable[[], T], translate: Callable[[Exception], BackendError | None], *,
            rate_limits_only: bool = False) -> T:
        """Call ``fn`` until it succeeds, a non-transient error occurs, or the budget is spent.

        ``translate`` turns an SDK exception into a BackendError (None: not an API error, re-raise).
        ``rate_limits_only``: repeat only after HTTP 429 (the request was refused, so it did nothing);
        for calls that must not run twice, such as creating a job or uploading a file.
        """
        start = CLOCK()
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as raw:  # noqa: BLE001 - the SDK's errors are translated, anything else re-raised
                exc = translate(raw)
                if exc is None:
                    raise
            if exc.kind != "transient" or (rate_limits_only and exc.status != 429):
                raise exc from None
            elapsed = CLOCK() - start
            left = self.max_wait - elapsed
            if exc.retry_after is not None and exc.retry_after >= 0:
                delay, why = exc.retry_after, "as the server asked (retry-after)"
            else:
                delay, why = backoff_delay(attempt, self.rand), "backing off"
            attempts = attempt + 1
            if delay > left:
                spent = f"{attempts:,} attempt{'s' if attempts != 1 else ''} in {_seconds(elapsed)}"
                asked = f"; the server asked to wait {_seconds(delay)}" if exc.retry_after is not None else ""
                raise BackendError(f"{exc}; gave up after {spent} (--max-wait {self.max_wait:,g} s{asked})", "transient",
                                   retry_after=exc.retry_after, code=exc.code, status=exc.status) from None
            if self.echo is not None:
                self.echo(f"dsqa: {exc.short or 'transient error'} while {what}; waiting {_seconds(delay)} {why}, "
                          f"then attempt {attempts + 1} ({_seconds(elapsed)} of --max-wait {self.max_wait:,g} s used)")
            self.waits.append(delay)
            SLEEP(delay)
            attempt += 1
