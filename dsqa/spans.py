"""Parallel spans: a JSONL file cut into runs of whole lines, each checked in a worker process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple, TypeVar

from .reading import BOM, open_source

T = TypeVar("T")


class Span(NamedTuple):
    """A byte range of a JSONL file that starts at a line, with that line's number and index."""

    start: int
    end: int
    line: int
    index: int


def split_lines(path: Path, parts: int) -> list[Span]:
    """Cut a JSONL file into about ``parts`` contiguous spans of whole lines.

    One pass over the lines finds the cut points and counts blank lines, so that every span
    knows the number and the record index of its first line.
    """
    size = path.stat().st_size
    step = max(size // max(parts, 1), 1)
    spans: list[Span] = []
    start, start_line, start_index = 0, 1, 0
    pos, line, index = 0, 0, 0
    with open_source(path) as f:
        for raw in f:
            line += 1
            stripped = raw[3:] if line == 1 and raw.startswith(BOM) else raw
            if stripped and not stripped.isspace():  # what strip() strips, without a copy of the line
                index += 1
            pos += len(raw)
            if pos - start >= step and pos < size:
                spans.append(Span(start, pos, start_line, start_index))
                start, start_line, start_index = pos, line + 1, index
    spans.append(Span(start, size, start_line, start_index))
    return spans


def map_spans(work: Callable[[Span], T], spans: list[Span], jobs: int, done: Callable[[Span, T], None] | None = None) -> list[T]:
    """``work`` on every span in ``jobs`` forked workers; the results in span order.

    Workers are forked so that what the parent loaded (vocabularies, compiled schemas) is shared.
    ``done`` is told of each result in order as it arrives (for a progress bar).
    """
    ctx = multiprocessing.get_context("fork")
    read_end, write_end = os.pipe()  # the workers' watchdog: EOF on it means the parent is gone
    try:
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(), read_end, write_end)
        ) as pool:
            return _gather(pool, work, spans, done)
    finally:
        os.close(read_end)
        os.close(write_end)


def _gather(
    pool: ProcessPoolExecutor, work: Callable[[Span], T], spans: list[Span], done: Callable[[Span, T], None] | None
) -> list[T]:
    futures = [pool.submit(work, span) for span in spans]
    try:
        parts = []
        for span, future in zip(spans, futures):
            parts.append(future.result())
            if done is not None:
                done(span, parts[-1])
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return parts


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, read_end: int, write_end: int) -> None:
    """Make this worker end when the process that started it ends, however it ends (even SIGKILL).

    Without this, a killed ``dsqa clean`` or ``check --jobs`` left its workers running and holding
    its standard output. On Linux the kernel sends the death signal; elsewhere a thread waits on
    a pipe whose only writer left is the parent, and reading EOF means the parent is gone.
    """
    os.close(write_end)  # this worker's copy; the parent's is then the last one
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the death signal was set
        os._exit(1)
    threading.Thread(target=_watch, args=(read_end,), daemon=True, name="dsqa-parent-watchdog").start()


def _watch(read_end: int) -> None:
    try:
        while os.read(read_end, 1):
            pass
    except OSError:
        pass
    os._exit(1)
