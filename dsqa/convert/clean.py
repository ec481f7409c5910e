"""Keep the records of a checked file that have no errors, byte for byte; reject the others with their codes."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import check
from ..model import Record, Report, Severity
from ..outputs import AtomicOutput, write_entry_with_content
from ..reading import element_chunks, file_kind, line_chunks, over_limit, read_records, skipped_element
from .base import dumps
from .pipeline import check_three_files, commit_outputs, default_rejects

#: findings of the duplicates validator; with drop_duplicates the records they point at go too
DUPLICATE_PREFIX = "DUP"


@dataclass
class CleanResult:
    """Counts of a clean run (read = kept + rejected) and the report of the input."""

    read: int
    kept: int
    rejected: int
    duplicates: int
    report: Report
    #: where the rejected records were written; None when nothing was rejected and no file was asked for
    rejects_path: Path | None = None


def original_text(record: Record) -> dict[str, Any]:
    """The record's bytes as text, plus base64 when they are not valid UTF-8."""
    try:
        return {"text": record.raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {
            "text": record.raw.decode("utf-8", errors="replace"),
            "raw_base64": base64.b64encode(record.raw).decode("ascii"),
        }


def rejected_lines(report: Report, threshold: Severity, drop_duplicates: bool) -> dict[tuple[int, int | None], set[str]]:
    """(line, record) -> the codes that make the record go to the rejects file.

    ``record`` is the index a finding on a JSON array's record names (``data.record``; several
    records may share a line), else None: then the finding is about every record of its line.
    """
    bad: dict[tuple[int, int | None], set[str]] = {}
    for f in report.findings:
        if f.line is None:
            continue
        if f.severity >= threshold or (drop_duplicates and f.code.startswith(DUPLICATE_PREFIX)):
            index = (f.data or {}).get("record")
            bad.setdefault((f.line, index if isinstance(index, int) else None), set()).add(f.code)
    return bad


def _codes(bad: dict[tuple[int, int | None], set[str]], rec: Record, array: bool) -> set[str]:
    """The codes that reject ``rec``: those of its line, and in a JSON array those naming it."""
    codes = set(bad.get((rec.line, None), ()))
    if array:
        codes |= bad.get((rec.line, rec.index), set())
    return codes


def _write_rejected(rejecter: AtomicOutput, src: Path, rec: Record, codes: set[str], array: bool) -> None:
    """The rejects line of ``rec``: its line, its codes and its text."""
    element = skipped_element(rec) if array else None
    if element is not None:  # an array element the reader rejected: copied from where it found it
        head = dumps({"line": rec.line, "index": rec.index, "codes": sorted(codes)})
        write_entry_with_content(rejecter, head, partial(element_chunks, Path(src), *element))
    elif over_limit(rec) and not array:  # its bytes were not kept: copied from the file, piece by piece
        head = dumps({"line": rec.line, "codes": sorted(codes)})
        write_entry_with_content(rejecter, head, partial(line_chunks, Path(src), rec.line))
    elif array and rec.value is not None:  # an element has no line of its own: it is written as parsed
        entry = {"line": rec.line, "index": rec.index, "codes": sorted(codes), "text": dumps(rec.value)}
        rejecter.write_line(dumps(entry).encode("utf-8"))
    else:
        entry = {"line": rec.line, "codes": sorted(codes), **original_text(rec)}
        rejecter.write_line(dumps(entry).encode("utf-8"))


def _reject_file_error(rejecter: AtomicOutput, rec: Record, codes: set[str] | None) -> bool:
    """Write the rejects line (text null) of a file-level error with codes to reject; whether there was one."""
    if codes and any(p.severity >= Severity.ERROR for p in rec.problems):
        rejecter.write_line(dumps({"line": rec.line, "codes": sorted(codes), "text": None}).encode("utf-8"))
        return True
    return False


def clean_file(
    src: Path,
    out: Path,
    rejects: Path | None,
    config: Config,
    *,
    threshold: Severity = Severity.ERROR,
    drop_duplicates: bool = False,
    jobs: int = 1,
) -> CleanResult:
    """Check ``src``, then write its records without findings at ``threshold`` to ``out``.

    Kept JSONL records are the exact bytes of their line (line endings become LF, a byte-order
    mark is dropped); records of a .json array are written one per line as compact JSON. Each
    rejected record becomes one JSONL line in ``rejects``: ``line``, ``codes`` and ``text`` (and
    for an element of a .json array ``index``, its index: several may share a line).
    A file-level error that ends reading early (a broken JSON array) is a rejects line too.
    Without ``rejects`` they go next to ``out`` (``<name>.rejects.jsonl``), and that file is written
    only when something was rejected, as ``convert`` does.
    """
    asked = rejects is not None
    rejects = rejects if rejects is not None else default_rejects(out)
    check_three_files(src, out, rejects)
    report = check([src], config, jobs=jobs)
    bad = rejected_lines(report, threshold, drop_duplicates)
    is_array = False
    read = kept = rejected = duplicates = 0
    max_line = config.options("reader")["max_line_bytes"]
    array = file_kind(Path(src)).array  # an array element is not a line: it cannot be copied by line number
    with AtomicOutput(out) as writer, AtomicOutput(rejects) as rejecter:
        for rec in read_records(Path(src), str(src), max_line_bytes=max_line):
            codes = _codes(bad, rec, array)
            if rec.index < 0:
                if _reject_file_error(rejecter, rec, codes):
                    rejected += 1
                    read += 1
                continue
            read += 1
            if codes:
                _write_rejected(rejecter, Path(src), rec, codes, array)
                rejected += 1
                if all(c.startswith(DUPLICATE_PREFIX) for c in codes):
                    duplicates += 1
                continue
            if not rec.raw and rec.value is not None:
                is_array = True
            writer.write_line(dumps(rec.value).encode("utf-8") if is_array else rec.raw)
            kept += 1
        commit_outputs(writer, rejecter, rejects, bool(rejected or asked))
    return CleanResult(read, kept, rejected, duplicates, report, rejects if rejected or asked else None)
