"""Read records from JSONL and JSON-array files, streaming, and write output files atomically."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from .errors import InputError
from .model import Finding, Record, Severity
from .outputs import AtomicOutput

BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024
_CHUNK = 1 << 20
READER = "reader"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (only finite numbers are allowed)")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def loads(text: str) -> Any:
    """Parse one JSON document strictly (no NaN or Infinity)."""
    return _DECODER.decode(text)


def _finding(
    code: str,
    severity: Severity,
    path: str,
    line: int | None,
    message: str,
    hint: str | None = None,
    data: dict[str, Any] | None = None,
) -> Finding:
    return Finding(code, severity, message, READER, path, line, None, hint, data)


def _json_error(
    path: str, line: int, exc: ValueError | RecursionError, col_offset: int = 0, text: str = ""
) -> Finding:
    if isinstance(exc, json.JSONDecodeError):
        column = exc.colno + (col_offset if exc.lineno == 1 else 0)
        return _finding(
            "RDR001",
            Severity.ERROR,
            path,
            line,
            f"invalid JSON: {exc.msg} (column {column})",
            "each line must be one complete JSON object; check quoting, commas and escapes",
            {"column": column},
        )
    if isinstance(exc, RecursionError):
        return _finding("RDR001", Severity.ERROR, path, line, "invalid JSON: nested too deeply to parse")
    column = _constant_column(text)
    if column is not None:
        column += col_offset
        return _finding(
            "RDR001", Severity.ERROR, path, line, f"invalid JSON: {exc} (column {column})",
            "write null, or a finite number, instead", {"column": column},
        )
    return _finding("RDR001", Severity.ERROR, path, line, f"invalid JSON: {exc}")


def open_source(path: Path) -> BinaryIO:
    """Open a dataset for reading or raise InputError naming the file and the reason."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a dataset file")
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_records(
    path: Path,
    display: str | None = None,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    span: Span | None = None,
) -> Iterator[Record]:
    """Yield every record of a JSONL file, or of a .json file holding an array, in file order.

    Lines that cannot be used still come out as records whose ``problems`` say why, so that no
    line is lost silently; blank lines and file-level oddities come out as records with no value
    (index -1). ``span`` restricts reading to a byte range of a JSONL file (see ``split_lines``).
    """
    name = display if display is not None else str(path)
    if span is not None:
        with open_source(path) as f:
            f.seek(span.start)
            yield from _read_lines(f, name, max_line_bytes, span)
        return
    with open_source(path) as f:
        try:
            head = f.read(4096)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        f.seek(0)
        stripped = head[3:] if head.startswith(BOM) else head
        if path.suffix.lower() == ".json" and stripped.lstrip().startswith(b"["):
            yield from _read_array(f, name)
        else:
            yield from _read_lines(f, name, max_line_bytes)


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


def crlf_finding(path: str, first_line: int, count: int) -> Finding:
    """The one RDR004 finding of a file: how many lines end with CRLF, and the first."""
    return _finding(
        "RDR004", Severity.WARNING, path, first_line,
        f"{count} line(s) end with CRLF, first at this line",
        "convert line endings to LF (e.g. dos2unix)",
        {"lines": count},
    )


def _read_lines(f: BinaryIO, path: str, max_line_bytes: int, span: Span | None = None) -> Iterator[Record]:
    line_no = span.line - 1 if span else 0
    index = span.index if span else 0
    end = span.end if span else None
    crlf_lines = 0
    first_crlf: int | None = None
    while True:
        if end is not None and f.tell() >= end:
            break
        raw = f.readline(_CHUNK)
        if not raw:
            break
        line_no += 1
        size = len(raw)
        if not raw.endswith(b"\n"):
            raw, size = _rest_of_line(f, raw, max_line_bytes)
        if raw is not None and len(raw) - (2 if raw.endswith(b"\r\n") else 1 if raw.endswith(b"\n") else 0) > max_line_bytes:
            raw = None
        if raw is None:
            yield Record(path, line_no, index, problems=(_finding(
                "RDR008", Severity.ERROR, path, line_no,
                f"line is {_size(size)}, over the {_size(max_line_bytes)} limit; not parsed",
                "split the example or raise validators.reader.max_line_bytes in the rule pack",
                {"bytes": size},
            ),))
            index += 1
            continue
        content = raw[:-1] if raw.endswith(b"\n") else raw
        if raw.endswith(b"\r\n"):
            content = content[:-1]
            crlf_lines += 1
            if first_crlf is None:
                first_crlf = line_no
        problems: list[Finding] = []
        col_offset = 0
        if line_no == 1 and content.startswith(BOM):
            content = content[3:]
            col_offset = 1
            problems.append(_finding(
                "RDR003", Severity.WARNING, path, 1,
                "file starts with a UTF-8 byte-order mark",
                "save the file as UTF-8 without BOM; many JSONL readers reject it",
            ))
        if not content.strip():
            problems.append(_finding(
                "RDR005", Severity.WARNING, path, line_no, "blank line",
                "remove blank lines; every line of a JSONL file must hold one example",
            ))
            yield Record(path, line_no, -1, problems=tuple(problems))
            continue
        record = Record(path, line_no, index, raw=content)
        index += 1
        nul = content.find(b"\x00")
        if nul >= 0:
            problems.append(_finding(
                "RDR007", Severity.ERROR, path, line_no,
                f"NUL byte at byte {nul + 1}; line not parsed",
                "a NUL byte usually means a UTF-16 or binary file; re-export as UTF-8 JSONL",
                {"column": nul + 1},
            ))
        else:
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(_finding(
                    "RDR002", Severity.ERROR, path, line_no,
                    f"invalid UTF-8 at byte {exc.start + 1}: {exc.reason}; line not parsed",
                    "re-encode the file as UTF-8",
                    {"column": exc.start + 1},
                ))
            else:
                try:
                    value = loads(text)
                except (ValueError, RecursionError) as exc:
                    problems.append(_json_error(path, line_no, exc, col_offset, text))
                else:
                    if isinstance(value, dict):
                        record.value = value
                    else:
                        problems.append(_not_object(path, line_no, value))
        record.problems = tuple(problems)
        yield record
    if crlf_lines and first_crlf is not None:
        yield Record(path, first_crlf, -1, problems=(crlf_finding(path, first_crlf, crlf_lines),))


def _rest_of_line(f: BinaryIO, head: bytes, max_line_bytes: int) -> tuple[bytes | None, int]:
    """Finish a line longer than one read; past the limit, drop it while counting its size."""
    parts = [head]
    size = len(head)
    while size <= max_line_bytes + 2:
        more = f.readline(_CHUNK)
        if not more:
            return b"".join(parts), size
        parts.append(more)
        size += len(more)
        if more.endswith(b"\n"):
            return b"".join(parts), size
    parts.clear()
    while True:
        more = f.readline(_CHUNK)
        size += len(more)
        if not more or more.endswith(b"\n"):
            return None, size


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


def _constant_column(text: str) -> int | None:
    """Column (1-based) of the first NaN or Infinity outside a string, for RDR001."""
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "NI" or (ch == "-" and text.startswith("-Infinity", i)):
            return i + 1
    return None


def _not_object(path: str, line: int, value: Any) -> Finding:
    kind = _json_type(value)
    return _finding(
        "RDR006", Severity.ERROR, path, line,
        f"record is a JSON {kind}, not an object",
        "each line must be one JSON object such as {\"messages\": [...]}",
        {"type": kind},
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _BadUtf8(Exception):
    """Invalid UTF-8 in a JSON-array file, with the line that holds the bad byte."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class _ArrayStream:
    """A growing text window over a binary file, with line counting for consumed text."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.eof = False
        self.chunk = _CHUNK
        # newlines are counted once, from where the last count stopped: counting from the start
        # of a window of up to 64 MiB for every element made large arrays quadratic
        self.counted = 0
        self.counted_line = 1

    def more(self) -> bool:
        if self.eof:
            return False
        data = self.f.read(self.chunk)
        if not data:
            self.eof = True
            try:
                self.buf += self.decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:  # the file ends inside a multi-byte character
                raise _BadUtf8(self.line + self.buf.count("\n"), exc.reason) from None
            return False
        self.chunk = min(self.chunk * 2, 64 * _CHUNK)
        if self.pos > _CHUNK:
            self.line += self.buf.count("\n", 0, self.pos)
            self.buf = self.buf[self.pos:]
            self.pos = 0
            self.counted, self.counted_line = 0, self.line
        try:
            self.buf += self.decoder.decode(data)
        except UnicodeDecodeError as exc:
            line = self.line + self.buf.count("\n") + data.count(b"\n", 0, exc.start)
            raise _BadUtf8(line, exc.reason) from None
        return True

    def current_line(self) -> int:
        if self.pos < self.counted:
            self.counted, self.counted_line = 0, self.line
        self.counted_line += self.buf.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.counted_line

    def last_line(self) -> int:
        """The line of the last non-blank character read so far."""
        end = len(self.buf.rstrip())
        return self.line + self.buf.count("\n", 0, max(end - 1, 0))

    def skip_ws(self) -> str:
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < n:
                return self.buf[self.pos]
            if not self.more():
                return ""


def _read_array(f: BinaryIO, path: str) -> Iterator[Record]:
    stream = _ArrayStream(f)
    index = 0
    try:
        stream.more()
        if stream.buf.startswith("\ufeff"):
            stream.pos = 1
            yield Record(path, 1, -1, problems=(_finding(
                "RDR003", Severity.WARNING, path, 1, "file starts with a UTF-8 byte-order mark",
                "save the file as UTF-8 without BOM; many JSON readers reject it",
            ),))
        stream.skip_ws()
        stream.pos += 1  # the opening bracket, already seen by read_records
        first = True
        while True:
            ch = stream.skip_ws()
            if ch == "]":
                stream.pos += 1
                break
            if not ch:
                yield _array_error(path, stream.last_line(), "the file ends before the closing ']'")
                return
            if not first:
                if ch != ",":
                    yield _array_error(path, stream.current_line(), "expected ',' or ']' between array elements")
                    return
                stream.pos += 1
                after = stream.skip_ws()
                if after == "]":
                    yield _array_error(path, stream.current_line(), "trailing comma before the closing ']'")
                    return
                if not after:
                    yield _array_error(path, stream.last_line(), "the file ends before the closing ']'")
                    return
            first = False
            line = stream.current_line()
            while True:
                try:
                    value, end = _DECODER.raw_decode(stream.buf, stream.pos)
                except (ValueError, RecursionError) as exc:
                    if stream.more():
                        continue
                    at = stream.line + exc.lineno - 1 if isinstance(exc, json.JSONDecodeError) else line
                    yield Record(path, line, index, problems=(_json_error(path, at, exc),))
                    return
                if end >= len(stream.buf) and stream.more():
                    continue
                break
            stream.pos = end
            record = Record(path, line, index, value=value if isinstance(value, dict) else None)
            if not isinstance(value, dict):
                record.problems = (_not_object(path, line, value),)
            index += 1
            yield record
        if stream.skip_ws():
            yield _array_error(path, stream.current_line(), "unexpected data after the closing ']' of the array")
    except _BadUtf8 as exc:
        yield Record(path, exc.line, -1, problems=(_finding(
            "RDR002", Severity.ERROR, path, exc.line,
            f"invalid UTF-8 ({exc.reason}); the rest of the file was not read",
            "re-encode the file as UTF-8",
        ),))


def _array_error(path: str, line: int, message: str) -> Record:
    return Record(path, line, -1, problems=(_finding(
        "RDR009", Severity.ERROR, path, line, f"malformed JSON array: {message}; the rest of the file was not read",
        "a .json dataset must be one array of objects: [{...}, {...}]",
    ),))


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so that readers see either the old or the complete new content, never a part."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with AtomicOutput(Path(path)) as out:
        out.write(payload)
        out.commit()
