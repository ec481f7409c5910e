"""Parallel spans: a JSONL file cut into runs of whole lines, each checked in a worker process."""

from __future__ import annotations

import multiprocessing
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
            if stripped.strip():
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
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
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
