"""Fixtures shared by the test files: the fake API servers of a test and a virtual clock for the retry transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import FakeAPIs


@pytest.fixture
def apis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeAPIs]:
    """Starts fake API servers on request (``apis.openai(KEY)``, ...) with a clean environment; stops them after the test."""
    started = FakeAPIs(monkeypatch, tmp_path)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def virtual_time(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits pass on a virtual clock: the real backoff code runs, no real time is slept. Returns the waits, in order."""
    from dsqa.finetune import transport

    now = [1000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(transport, "CLOCK", lambda: now[0])
    monkeypatch.setattr(transport, "SLEEP", sleep)
    return waits
