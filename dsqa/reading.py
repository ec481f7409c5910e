"""The one reader: every first read and every re-read of a dataset (JSONL or a JSON array) goes through here."""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from itertools import islice
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from .errors import InputError
from .jsontypes import json_type
from .model import Finding, Record, Severity

if TYPE_CHECKING:
    from .spans import Span

BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024
_CHUNK = 1 << 20
#: bytes read from the start of a file to tell what it holds
_HEAD = 1 << 16
READER = "reader"
#: the code of a file that is not JSONL at all (compressed, CSV, an array): one finding, not one per line
WRONG_KIND = "RDR010"
#: suffixes of the compressed files dsqa reads as they are (see inputs.py)
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


#: objects nested deeper than this are not checked (RDR014): the checks walk records, and a few
#: hundred levels would exhaust Python's stack in them; real records nest a dozen levels at most
MAX_DEPTH = 100
#: what the parse hooks saw in the document being parsed, the first of each kind: "key" -> a key
#: that an object holds twice, "number" -> a number too large for a float; cleared before each parse
_ODD: dict[str, str] = {}
_INF = float("inf")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (only finite numbers are allowed)")


def _float(text: str) -> float:
    value = float(text)
    if value == _INF or value == -_INF:
        _ODD.setdefault("number", text)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # the C parser keeps the last value of a repeated key without a word; the pairs show it
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                _ODD.setdefault("key", key)
                break
            seen.add(key)
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_float, object_pairs_hook=_object)
#: the C scanner with no pairs hook (a Python call and a list of pairs per object): objects are
#: built in C, and ``may_repeat_key`` says which records the hooked decoder must read again
_SCAN = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_float).scan_once


def loads(text: str) -> Any:
    """Parse one JSON document strictly (no NaN or Infinity)."""
    _ODD.clear()
    return _DECODER.decode(text)


class _TooDeep(Exception):
    """A value nests deeper than MAX_DEPTH: the walk of ``keys_and_colons`` stops."""


def keys_and_colons(value: dict[str, Any]) -> int:
    """How many keys ``value`` and every object in it hold, plus the colons in the strings it
    holds (not in its keys); -1 when it nests over MAX_DEPTH levels."""
    try:
        return _object_keys(value, MAX_DEPTH)
    except _TooDeep:
        return -1


def _object_keys(node: dict[str, Any] | list[Any], room: int) -> int:
    """``keys_and_colons`` of an object or a list, ``room`` levels from MAX_DEPTH."""
    if not room:
        raise _TooDeep
    if node.__class__ is dict:
        n, items = len(node), node.values()  # type: ignore[union-attr]
    else:
        n, items = 0, node
    for item in items:
        kind = item.__class__
        if kind is str:
            n += item.count(":")
        elif kind is dict or kind is list:
            n += _object_keys(item, room - 1)
    return n


def may_repeat_key(text: str | bytes, value: dict[str, Any], start: int = 0, end: int = sys.maxsize) -> bool:
    """Prefilter of RDR011 and RDR014: False only when no object in ``value``, parsed from
    ``text[start:end]``, holds a key twice in the text, and ``value`` nests MAX_DEPTH levels at most.

    Every key written in the text is followed by its own colon outside any string, so the text
    holds at least as many colons as keys, and as many keys as the parsed objects hold, one fewer
    for each repeat: when the colons are as many as the parsed keys, no key repeats.

    The keys of the objects near the top (``_near_keys``) are counted first; when the colons are
    as many, the objects further down hold no key, so they are empty, and only lists (one '['
    each) nest there. Else colons in strings (times, URLs, "Note:") are counted too
    (``keys_and_colons``): a colon in a string value is in the text as it is, unless it is
    written as an escape (\\u003a); those in keys are left out, which only makes the test stricter.
    """
    is_bytes = text.__class__ is bytes
    colons = text.count(b":" if is_bytes else ":", start, end)
    if colons == _near_keys(value):
        bracket = b"[" if is_bytes else "["
        # two memchr calls tell the usual line (one list) quicker than a count
        first = text.find(bracket, start, end)
        if first < 0 or text.find(bracket, first + 1, end) < 0 or text.count(bracket, start, end) + 3 <= MAX_DEPTH:
            return False
    return colons != keys_and_colons(value) or text.find(b"\\u003" if is_bytes else "\\u003", start, end) >= 0


def _near_keys(value: dict[str, Any]) -> int:
    """The keys of ``value``, of the objects in it, and of the objects in its lists (most records'
    objects: a chat record's messages), at most the keys of every object in it."""
    n = len(value)
    for item in value.values():
        kind = item.__class__
        if kind is list:
            for inner in item:
                if inner.__class__ is dict:
                    n += len(inner)
        elif kind is dict:
            n += len(item)
    return n


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any) -> tuple[str, str] | None:
    """The JSON pointer and escape of the first string (or key) holding a lone surrogate, walked without recursion."""
    # in document order: a key is looked at just before its value
    stack: list[tuple[str, Any, str]] = [("", value, "")]
    while stack:
        pointer, node, key = stack.pop()
        m = _LONE_SURROGATE.search(key)
        if m is None and isinstance(node, str):
            m = _LONE_SURROGATE.search(node)
        if m is not None:
            return pointer or "/", f"\\u{ord(m.group()):04x}"
        if isinstance(node, dict):
            stack.extend((f"{pointer}/{_escape_pointer(k)}", item, k) for k, item in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((f"{pointer}/{i}", item, "") for i, item in reversed(list(enumerate(node))))
    return None


def _escape_pointer(key: str) -> str:
    key = key.replace("~", "~0").replace("/", "~1")
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", key)


def depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` nests (0 for a string or number), without recursion."""
    deepest = 0
    level: list[Any] = [value]
    while level:
        nested = [v for v in level if isinstance(v, (dict, list))]
        if not nested:
            break
        deepest += 1
        level = [item for v in nested for item in (v.values() if isinstance(v, dict) else v)]
    return deepest


def _hostile(path: str, line: int, raw: bytes | str, value: Any, *, shallow: bool = False, reference: bool = False) -> Finding | None:
    """The finding of a parsed record that the checks must not see, or that parsed to something other than it says.

    Cheap tests on the raw text come first (not in ``reference`` mode): nesting needs more
    brackets than MAX_DEPTH, a lone surrogate needs a backslash escape. ``shallow``: the record
    is known to nest MAX_DEPTH levels at most.
    """
    number = _ODD.get("number")
    if number is not None:
        return _finding(
            "RDR012", Severity.ERROR, path, line,
            f"number {_short(number)} is too large for a 64-bit float (it reads as infinity); record not checked further",
            "write a smaller number, or the value as a string",
        )
    if not shallow:
        levels = depth(value) if reference or _may_nest_deep(raw) else 0
        if levels > MAX_DEPTH:
            return _finding(
                "RDR014", Severity.ERROR, path, line,
                f"record nests {levels:,} levels deep, over the limit of {MAX_DEPTH}; not checked further",
                "flatten the record; a training example has no use for such nesting",
                {"depth": levels},
            )
    found = _lone_surrogate(value) if reference or _may_hold_surrogate(raw) else None
    if found is not None:
        pointer, escape = found
        return Finding(
            "RDR013", Severity.ERROR,
            f"string at {pointer} holds the lone surrogate {escape}, which is not a character; record not checked further",
            READER, path, line, pointer, "remove the escape, or pair it with its other half (as in \\ud83d\\ude00)",
        )
    key = _ODD.get("key")
    if key is not None:
        return _finding(
            "RDR011", Severity.ERROR, path, line,
            f"an object holds the key {_short(json.dumps(key))} more than once; only its last value is read",
            "keep one value per key; other readers may take the first one",
        )
    return None


def _may_nest_deep(raw: bytes | str) -> bool:
    """Prefilter of RDR014: nesting over MAX_DEPTH levels needs more brackets than that."""
    if raw.__class__ is bytes:
        return raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
    return raw.count("[") + raw.count("{") > MAX_DEPTH


#: the escape of a surrogate (\\ud800 to \\udfff) starts so
_SURROGATE_ESCAPE = re.compile(r"\\u(?:d|D)")
_SURROGATE_ESCAPE_BYTES = re.compile(_SURROGATE_ESCAPE.pattern.encode())


def _may_hold_surrogate(raw: bytes | str, start: int = 0, end: int = sys.maxsize) -> bool:
    """Prefilter of RDR013: UTF-8 text holds no surrogate, so a lone one is a \\u escape."""
    # the backslash test is a memchr; few lines hold escapes at all
    if raw.__class__ is bytes:
        return raw.find(b"\\", start, end) >= 0 and _SURROGATE_ESCAPE_BYTES.search(raw, start, end) is not None
    return raw.find("\\", start, end) >= 0 and _SURROGATE_ESCAPE.search(raw, start, end) is not None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def data_suffix(name: str | PurePath) -> str:
    """The suffix that says what a file holds, below any compression suffix (``.json`` for x.json.gz)."""
    suffixes = [s.lower() for s in PurePath(name).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


class Kind(NamedTuple):
    """What a file holds: a JSON array (else JSONL), or the one finding of a file of the wrong kind."""

    array: bool
    wrong: Finding | None = None


def _head(f: BinaryIO, path: Path) -> bytes:
    try:
        head = f.read(_HEAD)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    f.seek(0)
    return head[3:] if head.startswith(BOM) else head


def _array_of_objects(text: bytes) -> bool:
    """Whether text that starts with '[' is a JSON array of objects spread over lines (pretty-printed).

    An array whose first line is complete JSON is one line of a JSONL file (RDR006), not a file.
    """
    first, newline, _ = text.partition(b"\n")
    if not newline or not text[1:].lstrip().startswith(b"{"):
        return False
    try:
        loads(first.decode("utf-8"))
    except (ValueError, RecursionError):
        return True
    return False


def is_json_array(head: bytes, suffix: str) -> bool:
    """The one test of "is this a JSON array file": its text starts with '[', and it is named .json
    or, for a nameless input (a pipe, standard input), it is an array of objects over many lines."""
    text = head.lstrip()
    if not text.startswith(b"["):
        return False
    return suffix == ".json" or (suffix == "" and _array_of_objects(text))


def file_kind(path: Path, display: str | None = None) -> Kind:
    """What the file at ``path`` holds (``display`` names it in the finding of a file of the wrong kind)."""
    with open_source(path) as f:
        return _kind(_head(f, path), path, display if display is not None else str(path))


def _kind(head: bytes, path: Path, name: str) -> Kind:
    if is_json_array(head, data_suffix(path)):
        return Kind(True)
    return Kind(False, _wrong_kind(head, name))


_COMPRESSED_TODO = (
    "rename it to {{name}}{suffix} and check that (dsqa reads compressed files as they are), "
    "or decompress it first: {tool} -dc {{name}} > {{stem}}.plain.jsonl"
)
#: magic bytes of files that are not text, what they are, and what to do instead
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed data", _COMPRESSED_TODO.format(suffix=".gz", tool="gzip")),
    (b"BZh", "bzip2-compressed data", _COMPRESSED_TODO.format(suffix=".bz2", tool="bzip2")),
    (b"\xfd7zXZ\x00", "xz-compressed data", _COMPRESSED_TODO.format(suffix=".xz", tool="xz")),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data", _COMPRESSED_TODO.format(suffix=".zst", tool="zstd")),
    (b"PAR1", "a Parquet file", "convert it to JSONL: dsqa convert {name} --container parquet -o {stem}.converted.jsonl"),
    (b"PK\x03\x04", "a Zip archive", "unzip it and check the JSONL file inside"),
)
_HEADER_FIELD = re.compile(rb'\s*"?[A-Za-z_][\w .()/-]{0,63}"?\s*')


def _wrong_kind(head: bytes, path: str) -> Finding | None:
    """The one finding of a file that is not JSONL at all, or None (the usual case: it starts with '{')."""
    text = head.lstrip()
    if text.startswith(b"{") or not text:
        return None
    name = "FILE" if path == "<stdin>" else path  # the commands in the hint need a file
    stem = name[: -len(data_suffix(name))] if data_suffix(name) else name
    for magic, what, todo in _MAGIC:
        if head.startswith(magic):
            return _wrong(path, f"is {what}, not JSONL text", todo.format(name=name, stem=stem))
    if text.startswith(b"["):
        if not _array_of_objects(text):
            return None
        return _wrong(
            path, "holds one JSON array, not one JSON object per line",
            f"rename it to {stem}.json to check it as an array; dsqa convert {stem}.json -o {stem}.jsonl then writes JSONL",
        )
    return _table(text, path, name, stem)


def _table(text: bytes, path: str, name: str, stem: str) -> Finding | None:
    """The finding of a CSV or TSV file: a header row of column names, then rows that are not JSON."""
    first, _, rest = text.partition(b"\n")
    first = first.rstrip(b"\r")
    if rest.lstrip()[:1] in (b"", b"{", b"["):
        return None  # no rows, or JSON lines after a broken first line: a JSONL file after all
    for delimiter, container in ((b"\t", "tsv"), (b",", "csv")):
        fields = first.split(delimiter)
        if len(fields) >= 2 and all(_HEADER_FIELD.fullmatch(field) for field in fields):
            columns = ", ".join(field.strip().strip(b'"').decode("utf-8", "replace") for field in fields[:6])
            more = ", ..." if len(fields) > 6 else ""
            return _wrong(
                path, f"looks like {container.upper()} (its first line is a header: {columns}{more}), not JSONL",
                f"convert it to JSONL: dsqa convert {name} --container {container} -o {stem}.converted.jsonl",
            )
    return None


def _wrong(path: str, what: str, todo: str) -> Finding:
    return _finding(WRONG_KIND, Severity.ERROR, path, None, f"this file {what}; nothing in it was checked", todo)


def read_records(
    path: Path,
    display: str | None = None,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    span: Span | None = None,
    reference: bool = False,
) -> Iterator[Record]:
    """Yield every record of a JSONL file, or of a file holding a JSON array, in file order.

    Lines that cannot be used still come out as records whose ``problems`` say why, so that no
    line is lost silently; blank lines and file-level oddities come out as records with no value
    (index -1). A file of the wrong kind (compressed, CSV...) is one such record, with RDR010.
    ``span`` restricts reading to a byte range of a JSONL file (see ``spans.split_lines``).
    ``reference``: every prefilter off, each record parsed with the pairs hook (for tests).
    """
    name = display if display is not None else str(path)
    with open_source(path) as f:
        if span is not None:
            f.seek(span.start)
            yield from _read_lines(f, name, max_line_bytes, span, reference)
            return
        kind = _kind(_head(f, path), path, name)
        if kind.wrong is not None:
            yield Record(name, 1, -1, problems=(kind.wrong,))
        elif kind.array:
            yield from _read_array(f, name, max_line_bytes, reference)
        else:
            yield from _read_lines(f, name, max_line_bytes, None, reference)


def records_at(
    path: Path,
    display: str | None,
    lines: Collection[int],
    indexes: Collection[int] = (),
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Record]:
    """Read again the records at ``lines`` (and in a JSON array those at ``indexes``), in file order.

    Each comes out as ``read_records`` made it (same BOM, CRLF, size and parse handling), but a
    JSONL record's ``index`` is 0: the lines in between are skipped unread, so blank ones are not
    counted. Blank lines and a file of the wrong kind yield nothing.
    """
    name = display if display is not None else str(path)
    with open_source(path) as f:
        kind = _kind(_head(f, path), path, name)
        if kind.wrong is not None:
            return
        if kind.array:
            for record in _read_array(f, name, max_line_bytes):
                if record.index >= 0 and (record.line in lines or record.index in indexes):
                    yield record
            return
        number = 0
        for target in sorted(set(lines)):
            # the lines in between are skipped in C, not parsed
            raw = next(islice(f, target - number - 1, None), None)
            if raw is None:
                return
            number = target
            raw, size = _whole_line(f, raw, max_line_bytes)
            record = _line_record(name, number, 0, raw, size, max_line_bytes)
            if record.index >= 0:
                yield record


def line_chunks(path: Path, line: int) -> Iterator[bytes]:
    """The bytes of line ``line`` of a JSONL file, without its line ending (or a first line's BOM), in pieces.

    For a line over the size limit, which the reader counts but does not keep: whoever must
    keep its content (a rejects file) copies it from the file piece by piece, in bounded memory.
    """
    with open_source(path) as f:
        number, at_start = 0, True
        while True:
            chunk = f.readline(_CHUNK)
            if not chunk:
                return
            if at_start:
                number += 1
            at_start = chunk.endswith(b"\n")
            if number == line:
                break
        if line == 1 and chunk.startswith(BOM):
            chunk = chunk[3:]
        held = b""  # a CR at the end of a piece may be the start of the CRLF that ends the line
        while chunk:
            if chunk.endswith(b"\n"):
                chunk = held + chunk[:-1]
                yield chunk[:-1] if chunk.endswith(b"\r") else chunk
                return
            chunk, held = held + chunk, b""
            if chunk.endswith(b"\r"):
                chunk, held = chunk[:-1], b"\r"
            if chunk:
                yield chunk
            chunk = f.readline(_CHUNK)
        if held:
            yield held


def element_chunks(path: Path, offset: int, size: int) -> Iterator[bytes]:
    """The ``size`` bytes at byte ``offset`` of ``path`` (an array element the reader rejected), in pieces."""
    with open_source(path) as f:
        f.seek(offset)
        while size > 0:
            chunk = f.read(min(size, _CHUNK))
            if not chunk:
                raise InputError(f"{path}: changed while it was being read (it ends before byte {offset + size:,})")
            size -= len(chunk)
            yield chunk


def skipped_element(record: Record) -> tuple[int, int] | None:
    """Where the bytes of an array element the reader found wrong are in its file: (offset, size),
    for one over the size limit (never parsed) or one it reports (not an object, a key twice, ...); else None."""
    if record.raw:
        return None
    for p in record.problems:
        if p.data and "offset" in p.data and "bytes" in p.data:
            return p.data["offset"], p.data["bytes"]
    return None


def over_limit(record: Record) -> bool:
    """Whether ``record`` is a JSONL line over the size limit, whose bytes were not kept."""
    return record.value is None and not record.raw and any(p.code == "RDR008" for p in record.problems)


def crlf_finding(path: str, first_line: int, count: int) -> Finding:
    """The one RDR004 finding of a file: how many lines end with CRLF, and the first."""
    return _finding(
        "RDR004", Severity.WARNING, path, first_line,
        f"{count} line(s) end with CRLF, first at this line",
        "convert line endings to LF (e.g. dos2unix)",
        {"lines": count},
    )


def _read_lines(
    f: BinaryIO, path: str, max_line_bytes: int, span: Span | None = None, reference: bool = False
) -> Iterator[Record]:
    line_no, index, end = (span.line - 1, span.index, span.end) if span else (0, 0, None)
    crlf_lines = first_crlf = 0
    readline = f.readline
    while end is None or f.tell() < end:
        raw = readline(_CHUNK)
        if not raw:
            break
        line_no += 1
        size = len(raw)
        if not raw.endswith(b"\n"):
            raw, size = _rest_of_line(f, raw, max_line_bytes)
        if raw is None or not raw.endswith(b"\n"):
            content = raw
        elif raw.endswith(b"\r\n"):
            content = raw[:-2]
            crlf_lines += 1
            first_crlf = first_crlf or line_no
        else:
            content = raw[:-1]
        record = _content_record(path, line_no, index, content, size, max_line_bytes, reference)
        if record.index >= 0:
            index += 1
        yield record
    if crlf_lines:
        yield Record(path, first_crlf, -1, problems=(crlf_finding(path, first_crlf, crlf_lines),))


def _whole_line(f: BinaryIO, raw: bytes, max_line_bytes: int) -> tuple[bytes | None, int]:
    """The line that starts with ``raw`` (one read), and its size; None for a line over the limit."""
    if raw.endswith(b"\n"):
        return raw, len(raw)
    return _rest_of_line(f, raw, max_line_bytes)


def _line_record(path: str, line_no: int, index: int, raw: bytes | None, size: int, max_line_bytes: int) -> Record:
    """The record of one whole line (with its line ending): parsed, or with the problems that stopped it."""
    if raw is not None and raw.endswith(b"\n"):
        content = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    else:
        content = raw
    return _content_record(path, line_no, index, content, size, max_line_bytes)


def _content_record(
    path: str, line_no: int, index: int, content: bytes | None, size: int, max_line_bytes: int, reference: bool = False
) -> Record:
    """The record of one line without its line ending (None: over the limit), of ``size`` bytes with it."""
    if content is None or len(content) > max_line_bytes:
        return Record(path, line_no, index, problems=(_finding(
            "RDR008", Severity.ERROR, path, line_no,
            f"line is {_size(size)}, over the {_size(max_line_bytes)} limit; not parsed",
            "split the example or raise validators.reader.max_line_bytes in the rule pack",
            {"bytes": size},
        ),))
    bom: tuple[Finding, ...] = ()
    if line_no == 1 and content.startswith(BOM):
        content = content[3:]
        bom = (_bom_finding(path, "JSONL"),)
    if not content or content.isspace():  # what strip() strips, without a copy of the line
        return Record(path, line_no, -1, problems=(*bom, _finding(
            "RDR005", Severity.WARNING, path, line_no, "blank line",
            "remove blank lines; every line of a JSONL file must hold one example",
        )))
    value, problem = _parse(path, line_no, content, len(bom), reference)
    return Record(path, line_no, index, value, content, bom if problem is None else (*bom, problem))


def _parse(path: str, line_no: int, content: bytes, col_offset: int, reference: bool) -> tuple[Any, Finding | None]:
    """The value of one line (None when it is not a usable object), and the finding about it, if any."""
    # a NUL byte is looked for only in a line that does not parse: JSON text cannot hold one
    if reference and b"\x00" in content:
        return None, _nul_byte(path, line_no, content)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, _nul_byte(path, line_no, content) or _finding(
            "RDR002", Severity.ERROR, path, line_no,
            f"invalid UTF-8 at byte {exc.start + 1}: {exc.reason}; line not parsed",
            "re-encode the file as UTF-8",
            {"column": exc.start + 1},
        )
    value = _FAILED
    if not reference:
        _ODD.clear()
        try:
            value, end = _SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            value = value if end == len(text) else _FAILED  # blanks after it: ``loads`` reads them
    if value.__class__ is dict and not may_repeat_key(content, value):
        # no key twice, no deeper than MAX_DEPTH: a number too large and a lone surrogate are left
        problem = _hostile(path, line_no, content, value, shallow=True) if _ODD or _may_hold_surrogate(content) else None
    else:
        if value is _FAILED or value.__class__ is dict:
            try:
                value = loads(text)  # with the pairs hook, which names a repeated key
            except (ValueError, RecursionError) as exc:
                return None, _nul_byte(path, line_no, content) or _json_error(path, line_no, exc, col_offset, text)
        if not isinstance(value, dict):
            return None, _not_object(path, line_no, value)
        problem = _hostile(path, line_no, content, value, reference=reference)
    if problem is not None and problem.code != "RDR011":
        return None, problem
    return value, problem


def _nul_byte(path: str, line_no: int, content: bytes) -> Finding | None:
    """The RDR007 finding of a line that holds a NUL byte, or None."""
    nul = content.find(b"\x00")
    if nul < 0:
        return None
    return _finding(
        "RDR007", Severity.ERROR, path, line_no,
        f"NUL byte at byte {nul + 1}; line not parsed",
        "a NUL byte usually means a UTF-16 or binary file; re-export as UTF-8 JSONL",
        {"column": nul + 1},
    )


#: the value of a line that the C scanner alone did not read (``loads`` then reads it, or says why)
_FAILED = object()


def _bom_finding(path: str, what: str) -> Finding:
    return _finding(
        "RDR003", Severity.WARNING, path, 1, "file starts with a UTF-8 byte-order mark",
        f"save the file as UTF-8 without BOM; many {what} readers reject it",
    )


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
    kind = json_type(value)
    return _finding(
        "RDR006", Severity.ERROR, path, line,
        f"record is a JSON {kind}, not an object",
        "each line must be one JSON object such as {\"messages\": [...]}",
        {"type": kind},
    )


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
        #: bytes read from the file so far, for the byte offset of a position in the window
        self.read_bytes = f.tell()
        # newlines are counted once, from where the last count stopped: counting from the start
        # of a window of up to 64 MiB for every element made large arrays quadratic
        self.counted = 0
        self.counted_line = 1
        #: a position in the window and its byte offset in the file: the offset of a later position
        #: encodes only the text in between (an array of thousands of rejected elements stays linear)
        self.mark: tuple[int, int] | None = None

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
        self.read_bytes += len(data)
        self.chunk = min(self.chunk * 2, 64 * _CHUNK)
        if self.pos > _CHUNK:
            self.line += self.buf.count("\n", 0, self.pos)
            self.buf = self.buf[self.pos:]
            self.pos = 0
            self.counted, self.counted_line = 0, self.line
            self.mark = None
        try:
            self.buf += self.decoder.decode(data)
        except UnicodeDecodeError as exc:
            line = self.line + self.buf.count("\n") + data.count(b"\n", 0, exc.start)
            raise _BadUtf8(line, exc.reason) from None
        return True

    def offset(self) -> int:
        """The byte offset in the file of the current position."""
        mark, pos = self.mark, self.pos
        if mark is not None and mark[0] <= pos:
            at = mark[1] + len(self.buf[mark[0]:pos].encode("utf-8", "surrogatepass"))
        else:  # from the end of what was read: the rest of the window, once per window
            pending = self.decoder.getstate()[0]  # the start of a character split between two reads
            at = self.read_bytes - len(pending) - len(self.buf[pos:].encode("utf-8", "surrogatepass"))
        self.mark = (pos, at)
        return at

    def drop(self) -> None:
        """Forget all the text read so far (counting its lines), and read on in small pieces."""
        self.line += self.buf.count("\n")
        self.buf, self.pos = "", 0
        self.counted, self.counted_line = 0, self.line
        self.mark = None
        self.chunk = _CHUNK

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


def _read_array(
    f: BinaryIO, path: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, reference: bool = False
) -> Iterator[Record]:
    stream = _ArrayStream(f)
    index = 0
    try:
        stream.more()
        if stream.buf.startswith("\ufeff"):
            stream.pos = 1
            yield Record(path, 1, -1, problems=(_bom_finding(path, "JSON"),))
        stream.skip_ws()
        stream.pos += 1  # the opening bracket, already seen by is_json_array
        while True:
            between = _between_elements(stream, path, first=index == 0)
            if between is _END:
                break
            if between is not None:
                yield between
                return
            record, parsed = _element(stream, path, index, max_line_bytes, reference)
            yield record
            if not parsed:
                return
            index += 1
        if stream.skip_ws():
            yield _array_error(path, stream.current_line(), "unexpected data after the closing ']' of the array")
    except _BadUtf8 as exc:
        yield Record(path, exc.line, -1, problems=(_finding(
            "RDR002", Severity.ERROR, path, exc.line,
            f"invalid UTF-8 ({exc.reason}); the rest of the file was not read",
            "re-encode the file as UTF-8",
        ),))


#: what ``_between_elements`` returns at the closing bracket
_END = Record("", 0, -1)


def _between_elements(stream: _ArrayStream, path: str, first: bool) -> Record | None:
    """Move past the comma before the next element: None, _END at the ']', or the error record."""
    ch = stream.skip_ws()
    if ch == "]":
        stream.pos += 1
        return _END
    if not ch:
        return _array_error(path, stream.last_line(), "the file ends before the closing ']'")
    if first:
        return None
    if ch != ",":
        return _array_error(path, stream.current_line(), "expected ',' or ']' between array elements")
    stream.pos += 1
    after = stream.skip_ws()
    if after == "]":
        return _array_error(path, stream.current_line(), "trailing comma before the closing ']'")
    if not after:
        return _array_error(path, stream.last_line(), "the file ends before the closing ']'")
    return None


def _element(
    stream: _ArrayStream, path: str, index: int, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, reference: bool = False
) -> tuple[Record, bool]:
    """The record of the array element at the stream's position, and whether it parsed.

    An element over ``max_line_bytes`` is passed over without being kept (RDR008), as a JSONL
    line over the limit is: parsing it whole took many times its size in memory.
    """
    line = stream.current_line()
    while True:
        try:
            value, end, cleared = _scan_at(stream.buf, stream.pos, reference)
        except (ValueError, RecursionError) as exc:
            if len(stream.buf) - stream.pos > max_line_bytes:
                return _skip_element(stream, path, line, index, max_line_bytes)
            if stream.more():
                continue
            at = stream.line + exc.lineno - 1 if isinstance(exc, json.JSONDecodeError) else line
            return Record(path, line, index, problems=(_json_error(path, at, exc),)), False
        if end >= len(stream.buf) and stream.more():
            continue  # a number or literal may go on in the next chunk
        if _over(stream.buf, stream.pos, end, max_line_bytes):
            del value
            return _skip_element(stream, path, line, index, max_line_bytes)
        break
    start, stream.pos = stream.pos, end
    record = Record(path, line, index, value=value if isinstance(value, dict) else None)
    if not isinstance(value, dict):
        record.problems = (_with_span(_not_object(path, line, value), stream, start, end),)
        return record, True
    problem = _element_problem(path, line, stream.buf, start, end, value, cleared, reference)
    if problem is not None:
        record.problems = (_with_span(problem, stream, start, end),)
        if problem.code != "RDR011":
            record.value = None
    return record, True


def _scan_at(text: str, pos: int, reference: bool) -> tuple[Any, int, bool]:
    """The value of the JSON document at ``text[pos:]``, where it ends, and whether
    ``may_repeat_key`` cleared it, read by the C scanner alone; read by the hooked decoder in
    ``reference`` mode, when a key may repeat in it, or to raise the error the finding quotes."""
    _ODD.clear()
    if not reference:
        try:
            value, end = _SCAN(text, pos)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if value.__class__ is not dict:
                return value, end, False
            if not may_repeat_key(text, value, pos, end):
                return value, end, True
        _ODD.clear()
    value, end = _DECODER.raw_decode(text, pos)
    return value, end, False


def _element_problem(
    path: str, line: int, text: str, start: int, end: int, value: dict[str, Any], cleared: bool, reference: bool
) -> Finding | None:
    """What ``_hostile`` finds in the object at ``text[start:end]`` (``cleared``: by ``may_repeat_key``)."""
    if not cleared:
        return _hostile(path, line, text[start:end], value, reference=reference)
    if _ODD or _may_hold_surrogate(text, start, end):
        return _hostile(path, line, text[start:end], value, shallow=True)
    return None


def _with_span(problem: Finding, stream: _ArrayStream, start: int, end: int) -> Finding:
    """``problem`` of the element at ``start:end`` of the window, with where its bytes are in the
    file (``data.offset`` and ``data.bytes``): an element has no line of its own to copy, and a
    rejects file must keep what the reader would not pass on."""
    size = len(stream.buf[start:end].encode("utf-8", "surrogatepass"))
    return replace(problem, data={**(problem.data or {}), "offset": stream.offset() - size, "bytes": size})


def _over(text: str, start: int, end: int, limit: int) -> bool:
    """Whether ``text[start:end]`` is over ``limit`` bytes in UTF-8 (its characters are counted
    first: a character takes at most 4 bytes, so most elements need no encoding to tell)."""
    chars = end - start
    if chars > limit:
        return True
    return chars * 4 > limit and len(text[start:end].encode("utf-8", "surrogatepass")) > limit


#: what ends a run of text outside a JSON string, and a number or literal
_OUTSIDE = re.compile(r'["\[\]{}]')
_SCALAR_END = re.compile(r"[,\]\s]")
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)


def _skip_element(stream: _ArrayStream, path: str, line: int, index: int, max_line_bytes: int) -> tuple[Record, bool]:
    """Move past the array element at the stream's position, keeping none of it; its RDR008 record.

    Strings and brackets are followed piece by piece, and the text already passed is dropped, so
    memory stays at one read however large the element is. False when the file ends inside it.
    """
    buf, i = stream.buf, stream.pos
    offset = stream.offset()
    size, depth, in_string, escaped = 0, 0, False, False
    scalar = buf[i] not in '[{"'
    done = False  # the element's end was found (it may be the window's last character)
    while True:
        n = len(buf)
        while i < n:
            if scalar:  # a number or literal: it ends at the next comma, bracket or blank
                m = _SCALAR_END.search(buf, i)
                i = m.start() if m else n
                if m:
                    done = True
                    break
                continue
            if in_string:
                if escaped:  # the first character here was escaped at the end of the last piece
                    escaped, i = False, i + 1
                    continue
                # the rest of the string in one match: plain text and escape pairs, up to the
                # closing quote, or to a backslash that ends the piece (it escapes what follows)
                i = _STRING_BODY.match(buf, i).end()
                if i < n and buf[i] == '"':
                    i += 1
                    in_string = False
                    if depth == 0:
                        done = True
                        break
                elif i < n:
                    escaped, i = True, n
                continue
            m = _OUTSIDE.search(buf, i)
            if m is None:
                i = n
                continue
            i, c = m.end(), m.group()
            if c == '"':
                in_string = True
            elif c in "[{":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    done = True
                    break
        if done:
            size += len(buf[stream.pos:i].encode("utf-8", "surrogatepass"))
            stream.pos = i
            break
        size += len(buf[stream.pos:].encode("utf-8", "surrogatepass"))
        stream.drop()
        if not stream.more():
            return _ends_inside_element(path, line, index), False
        buf, i = stream.buf, stream.pos
    return _element_too_large(path, line, index, size, max_line_bytes, offset), True


def _ends_inside_element(path: str, line: int, index: int) -> Record:
    """The RDR009 record of an array element the file ends inside."""
    return Record(path, line, index, problems=(_finding(
        "RDR009", Severity.ERROR, path, line,
        "malformed JSON array: the file ends inside an element; the rest of the file was not read",
        "a .json dataset must be one array of objects: [{...}, {...}]",
    ),))


def _element_too_large(path: str, line: int, index: int, size: int, max_line_bytes: int, offset: int) -> Record:
    """The RDR008 record of an array element of ``size`` bytes at byte ``offset``, over ``max_line_bytes``.

    The finding's data says where the element's bytes are (``offset`` and ``bytes``), so that whoever
    must keep its content (a rejects file) can copy it from the file (``element_chunks``).
    """
    return Record(path, line, index, problems=(_finding(
        "RDR008", Severity.ERROR, path, line,
        f"array element is {_size(size)}, over the {_size(max_line_bytes)} limit; not parsed",
        "split the example or raise validators.reader.max_line_bytes in the rule pack",
        {"bytes": size, "offset": offset},
    ),))


def _array_error(path: str, line: int, message: str) -> Record:
    return Record(path, line, -1, problems=(_finding(
        "RDR009", Severity.ERROR, path, line, f"malformed JSON array: {message}; the rest of the file was not read",
        "a .json dataset must be one array of objects: [{...}, {...}]",
    ),))




def reread_duplicates(validator: Any, positions: Sequence[int], answers_only: Sequence[int] = ()) -> dict[int, Any] | str:
    """``DuplicatesValidator.reread`` done by the one reader: the texts of the records at these
    positions, read again (from the local copy of a piped or compressed input), or why not.

    Only what verification needs is kept (the scope text, the system prompt and the answer; just
    the answer for ``answers_only``), so memory follows the number of candidates.
    """
    from .inputs import local_path
    from .validators import duplicates as dup

    a = validator._arrays()
    lines, exact, name = a["lines"], a["exact"], validator.context.path
    slim = {int(p) for p in answers_only} - {int(p) for p in positions}
    wanted = [int(p) for p in positions] + sorted(slim)
    scope, norm = validator.options["scope"], validator._norm
    out: dict[int, Any] = {}
    shared: dict[str, str] = {}  # one copy of each system prompt
    try:
        path = local_path(name)
        array = file_kind(path, name).array
        # a JSON array may hold several records on one line: they are found by index
        by_pos = {int(validator._index[p] if array else lines[p]): p for p in wanted}
        source_map = validator.context.source_map  # a file checked in place: the records it checked
        for record in records_at(path, name, () if array else by_pos, by_pos if array else ()):
            if source_map is not None:
                record = source_map.remap(record)
            pos = by_pos[record.index if array else record.line]
            if record.line != int(lines[pos]) or record.value is None:
                return f"{name} changed while it was being checked (line {record.line} differs)"
            fmt = dup._FORMAT_OF[validator._fmt[pos]]
            t = dup.texts_of(record.value, fmt, scope, norm, not array and dup.clean_line(record.raw))
            if dup._digest(t.exact) != int(exact[pos]):
                return f"{name} changed while it was being checked (line {record.line} differs)"
            system = shared.setdefault(t.system, t.system)
            out[pos] = dup._Texts("", "", "", None, t.answer) if pos in slim else dup._Texts("", t.scope, system, None, t.answer)
    except (OSError, InputError) as exc:
        return f"cannot read {name} again: {exc}"
    for pos in wanted:
        if pos not in out:
            return f"{name} changed while it was being checked (line {int(lines[pos])} is gone)"
    return out
