"""Read records one at a time from JSONL, JSON arrays, CSV/TSV, Parquet and Hugging Face datasets."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from ..errors import InputError
from ..model import Severity
from ..reading import BOM, loads, read_records, skipped_element

CONTAINERS = ("jsonl", "json", "csv", "tsv", "parquet", "hf")
_PARQUET_BATCH = 1024
#: CSV cells that hold a list or an object in the formats we convert, written as JSON text
_JSON_CELLS = frozenset({
    "messages", "conversations", "tools", "history", "input", "preferred_output", "non_preferred_output",
    "chosen", "rejected", "prompt", "completion",
})


class Item(NamedTuple):
    """One input record: its 1-based line (text files) or row (Parquet, datasets) and its value.

    ``value`` is None when the record could not be read; ``problem`` then says why and ``text``
    holds what was there.
    """

    line: int
    value: dict[str, Any] | None
    problem: str | None = None
    text: str | None = None
    #: the record's bytes when they are not valid UTF-8 (``text`` then has replacement characters)
    raw: bytes | None = None
    #: (byte offset, size) in the file of an array element over the size limit, whose bytes were not kept
    element: tuple[int, int] | None = None


def container_of(path: Path, forced: str | None = None) -> str:
    """The container a path holds: forced, a directory (a saved dataset), or by file suffix."""
    if forced:
        return forced
    if path.is_dir():
        return "hf"
    suffix = path.suffix.lower()
    if suffix in (".csv",):
        return "csv"
    if suffix in (".tsv", ".tab"):
        return "tsv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".arrow":
        return "hf"
    return "json" if suffix == ".json" else "jsonl"


def read_items(path: Path, container: str | None = None, split: str | None = None) -> Iterator[Item]:
    """Yield every record of ``path`` in order without loading the whole file."""
    if not path.exists():
        raise InputError(f"{path}: cannot read: No such file or directory")
    kind = container_of(path, container)
    if kind in ("jsonl", "json"):
        yield from _json_items(path)
    elif kind in ("csv", "tsv"):
        yield from _csv_items(path, "\t" if kind == "tsv" else ",")
    elif kind == "parquet":
        yield from _parquet_items(path)
    elif kind == "hf":
        yield from _hf_items(path, split)
    else:
        raise InputError(f"{path}: unknown container {kind!r} (expected one of {', '.join(CONTAINERS)})")


def _json_items(path: Path) -> Iterator[Item]:
    for rec in read_records(path):
        errors = [p for p in rec.problems if p.severity >= Severity.ERROR]
        if rec.index < 0:
            # blank lines, BOM and CRLF are not records; an unreadable rest of a file is reported
            if errors:
                yield Item(rec.line, None, "; ".join(f"{p.code} {p.message}" for p in errors), None)
            continue
        if isinstance(rec.value, dict) and not errors:
            yield Item(rec.line, rec.value)
        else:
            problem = "; ".join(f"{p.code} {p.message}" for p in rec.problems) or "not a JSON object"
            element = skipped_element(rec)
            if element is not None:
                yield Item(rec.line, None, problem, "", element=element)
                continue
            try:
                yield Item(rec.line, None, problem, rec.raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield Item(rec.line, None, problem, rec.raw.decode("utf-8", errors="replace"), rec.raw)


def _cell(key: str, value: str) -> Any:
    """A CSV cell: JSON text in the columns that hold lists or objects, else the string."""
    if key in _JSON_CELLS and value[:1] in ("[", "{"):
        try:
            parsed = loads(value)
        except ValueError:
            return value
        if isinstance(parsed, (list, dict)):
            return parsed
    return value


class _Lines:
    """Decoded lines of a binary file, so that invalid UTF-8 is reported at its own line."""

    def __init__(self, f: BinaryIO, path: Path) -> None:
        self.f, self.path, self.line = f, path, 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.f:
            self.line += 1
            if self.line == 1 and raw.startswith(BOM):
                raw = raw[len(BOM):]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{self.path}: line {self.line}: invalid UTF-8 at byte {exc.start + 1} ({exc.reason}); save the file as UTF-8"
                ) from None


def _csv_items(path: Path, delimiter: str) -> Iterator[Item]:
    # cells may hold whole conversations
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with f:
        reader = csv.reader(_Lines(f, path), delimiter=delimiter)
        start = 1
        try:
            header = next(reader, None)
            if header is None:
                return
            start = reader.line_num + 1
            for row in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(header):
                    text = delimiter.join(row)
                    yield Item(line, None, f"row has {len(row)} fields, the header has {len(header)}", text)
                    continue
                yield Item(line, {k: _cell(k, v) for k, v in zip(header, row)})
        except csv.Error as exc:
            raise InputError(f"{path}: line {start}: unreadable CSV: {exc}") from None


def _drop_nulls(value: Any) -> Any:
    """Columnar files give every row every column: a missing field comes back as null."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _parquet_items(path: Path) -> Iterator[Item]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        row = 0
        for batch in pf.iter_batches(batch_size=_PARQUET_BATCH):
            for value in batch.to_pylist():
                row += 1
                yield Item(row, _drop_nulls(value))
    except (OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid (a ValueError) or OSError
        raise InputError(f"{path}: unreadable Parquet: {exc}") from None


_HF_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".txt": "text"}


def _hf_items(path: Path, split: str | None) -> Iterator[Item]:
    import datasets

    try:
        if path.is_dir():
            ds: Any = datasets.load_from_disk(str(path))
        elif path.suffix.lower() == ".arrow":
            ds = datasets.Dataset.from_file(str(path))
        else:
            builder = _HF_BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise InputError(f"{path}: the datasets library cannot read {path.suffix or 'this'} files")
            kwargs: dict[str, Any] = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
            ds = datasets.load_dataset(builder, data_files=str(path), split=split or "train", streaming=True, **kwargs)
    except InputError:
        raise
    except Exception as exc:  # datasets raises many types; the message is what the user needs
        raise InputError(f"{path}: cannot load as a Hugging Face dataset: {exc}") from None
    if isinstance(ds, datasets.DatasetDict):
        names = sorted(ds)
        chosen = split or ("train" if "train" in ds else names[0] if len(names) == 1 else None)
        if chosen not in ds:
            raise InputError(f"{path}: choose a split with --split ({', '.join(names)})")
        ds = ds[chosen]
    for row, value in enumerate(ds, 1):
        yield Item(row, _drop_nulls(value))
