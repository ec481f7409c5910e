"""Convert a file record by record: every input record is written to OUT or to the rejects file."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..outputs import AtomicOutput, commit_together, write_entry_with_content
from ..reading import element_chunks, file_kind, line_chunks
from . import alpaca, completion, openai_formats, preference, sharegpt
from .base import Canonical, ConvertError, dumps
from .containers import Item, container_of, read_items

Source = Callable[[dict[str, Any], Mapping[str, str]], Canonical]
Target = Callable[[str, dict[str, Any]], dict[str, Any]]

SOURCES: dict[str, Source] = {
    "openai-chat": openai_formats.chat_source,
    "openai-preference": openai_formats.preference_source,
    "alpaca": alpaca.source,
    "sharegpt": sharegpt.source,
    "sharegpt-preference": sharegpt.preference_source,
    "trl-preference": preference.source,
    "prompt-completion": completion.source,
}
SOURCE_ALIASES = {"hh": "trl-preference", "trl": "trl-preference"}
TARGETS: dict[str, Target] = {
    "openai-chat": openai_formats.chat_target,
    "openai-preference": openai_formats.preference_target,
    "sharegpt": sharegpt.target,
    "alpaca": alpaca.target,
}
#: --map keys that name tags inside sharegpt turns rather than columns
TAG_KEYS = frozenset({*sharegpt.TAG_OPTIONS, *sharegpt.KEY_OPTIONS})


def detect_source(value: Mapping[str, Any]) -> str | None:
    """The source format a record (with columns already renamed) looks like, or None."""
    if "conversations" in value:
        return "sharegpt-preference" if "chosen" in value and "rejected" in value else "sharegpt"
    messages = value.get("messages")
    if isinstance(messages, list):
        first = messages[0] if messages else None
        return "sharegpt" if isinstance(first, dict) and "from" in first and "role" not in first else "openai-chat"
    if isinstance(value.get("input"), dict) or "preferred_output" in value:
        return "openai-preference"
    if "instruction" in value:
        return "alpaca"
    if "chosen" in value and "rejected" in value:
        return "trl-preference"
    if "prompt" in value or "completion" in value:
        return "prompt-completion"
    return None


def parse_map(pairs: list[str]) -> dict[str, str]:
    """``FIELD=COLUMN`` pairs (comma-separated or repeated) as a dict; a usage error otherwise."""
    out: dict[str, str] = {}
    for pair in pairs:
        for part in pair.split(","):
            if not part.strip():
                continue
            key, sep, column = part.partition("=")
            if not sep or not key.strip() or not column.strip():
                raise UsageError(f"--map {part!r}: expected FIELD=COLUMN, e.g. instruction=question")
            out[key.strip()] = column.strip()
    return out


def rename(value: dict[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """The record with each mapped column under the field name the converters expect."""
    if not columns:
        return value
    out = dict(value)
    for key, column in columns.items():
        if column in value and column != key:
            out[key] = out.pop(column)
    return out


@dataclass
class ConvertResult:
    """What a conversion did: the counts that reconcile and the formats it used."""

    read: int
    written: int
    rejected: int
    source: str | None
    target: str | None
    rejects_path: Path | None


def default_rejects(out: Path) -> Path:
    """``data.jsonl`` -> ``data.rejects.jsonl`` next to it."""
    return out.with_name(out.name[: -len(out.suffix)] + ".rejects.jsonl" if out.suffix else out.name + ".rejects.jsonl")


def reject_line(line: int, reason: str, record: Any, text: str | None = None, raw: bytes | None = None) -> bytes:
    """One line of a rejects file: where the record was, why, and the record itself.

    A record that is not valid UTF-8 keeps its exact bytes in ``raw_base64`` (``text`` shows them
    with replacement characters), so that nothing of the input is lost.
    """
    entry: dict[str, Any] = {"line": line, "reason": reason, "record": record}
    if text is not None:
        entry["text"] = text
    if raw is not None:
        entry["raw_base64"] = base64.b64encode(raw).decode("ascii")
    return dumps(entry).encode("utf-8")


def _over_limit(item: Item) -> bool:
    """Whether ``item`` is a JSONL line over the size limit: the reader counted its bytes but kept none."""
    return item.value is None and not item.text and item.raw is None and (item.problem or "").startswith("RDR008")


def check_three_files(src: Path, out: Path, rejects: Path) -> None:
    """A usage error unless the input, the output and the rejects file are three different files."""
    if len({Path(p).resolve() for p in (src, out, rejects)}) != 3:
        raise UsageError("the input, the output and the rejects file must be three different files")


def commit_outputs(writer: AtomicOutput, rejecter: AtomicOutput, rejects: Path, keep_rejects: bool) -> None:
    """Rename OUT into place, and the rejects file with it when it is kept."""
    if keep_rejects:
        commit_together([writer, rejecter])
    else:  # a rejects file left from an earlier run would not belong to the new OUT
        commit_together([writer], stale=[rejects])


def _check_formats(source: str, target: str) -> None:
    """A usage error when ``--from`` or ``--to`` names a format dsqa does not convert."""
    if source != "auto" and SOURCE_ALIASES.get(source, source) not in SOURCES:
        raise UsageError(f"--from {source}: unknown format (expected auto, {', '.join([*SOURCES, *SOURCE_ALIASES])})")
    if target != "auto" and target not in TARGETS:
        raise UsageError(f"--to {target}: unknown format (expected {', '.join(TARGETS)})")


def _by_line(src: Path, container: str | None) -> bool:
    """Whether a record of ``src`` can be copied from the file by its line number: a plain JSONL file."""
    return container_of(Path(src), container) == "jsonl" and Path(src).is_file() and not file_kind(Path(src)).array


def _write_reject(rejecter: AtomicOutput, src: Path, item: Item, reason: str | None, jsonl: bool) -> None:
    """The rejects line of ``item``: where it was, why, and the record."""
    if item.element is not None:  # an array element over the limit: copied from where the reader found it
        head = dumps({"line": item.line, "reason": reason or "rejected", "record": None})
        write_entry_with_content(rejecter, head, partial(element_chunks, Path(src), *item.element))
    elif jsonl and _over_limit(item):  # its bytes were not kept: copied from the file, piece by piece
        head = dumps({"line": item.line, "reason": reason or "rejected", "record": None})
        write_entry_with_content(rejecter, head, partial(line_chunks, Path(src), item.line))
    else:
        rejecter.write_line(reject_line(item.line, reason or "rejected", item.value, item.text, item.raw))


def _converted(
    items: Iterator[Item], source: str, target: str, mapping: Mapping[str, str]
) -> Iterator[tuple[Item, dict[str, Any] | None, str | None, str | None]]:
    """(item, converted record or None, reason, the source format it was read as) per item."""
    columns = {k: v for k, v in mapping.items() if k not in TAG_KEYS}
    tags = {k: v for k, v in mapping.items() if k in TAG_KEYS}
    fmt = None if source == "auto" else SOURCE_ALIASES.get(source, source)
    for item in items:
        if item.value is None:
            yield item, None, item.problem or "unreadable record", fmt
            continue
        value = rename(item.value, columns)
        if fmt is None:
            fmt = detect_source(value)
            if fmt is None:
                keys = ", ".join(sorted(map(str, value))) or "none"
                yield item, None, f"not a format dsqa converts (keys: {keys}); use --from or --map", None
                continue
        try:
            kind, canonical = SOURCES[fmt](value, tags)
            if target == "auto":
                # the first record fixes the target, so one file never mixes chat and preference
                target = kind
            yield item, TARGETS[target](kind, canonical), None, fmt
        except ConvertError as exc:
            yield item, None, str(exc), fmt


def convert_file(
    src: Path,
    out: Path,
    *,
    rejects: Path | None = None,
    source: str = "auto",
    target: str = "auto",
    mapping: Mapping[str, str] | None = None,
    container: str | None = None,
    split: str | None = None,
) -> ConvertResult:
    """Convert ``src`` into ``out`` (JSONL), streaming; rejected records go to ``rejects``.

    Both files are written under temporary names and renamed only when the whole input has been
    read, so a failed or interrupted run leaves neither half-written. Without ``rejects`` the
    rejects go next to ``out`` (``<name>.rejects.jsonl``), and that file is written only when
    something was rejected.
    """
    _check_formats(source, target)
    rejects_path = rejects or default_rejects(out)
    check_three_files(src, out, rejects_path)
    read = written = rejected = 0
    used: str | None = None
    target_used: str | None = None if target == "auto" else target
    jsonl = _by_line(src, container)
    with AtomicOutput(out) as writer, AtomicOutput(rejects_path) as rejecter:
        for item, record, reason, fmt in _converted(read_items(src, container, split), source, target, mapping or {}):
            read += 1
            used = used or fmt
            if record is not None:
                writer.write_line(dumps(record).encode("utf-8"))
                written += 1
                if target_used is None:
                    target_used = "openai-preference" if "preferred_output" in record else "openai-chat"
            else:
                _write_reject(rejecter, src, item, reason, jsonl)
                rejected += 1
        commit_outputs(writer, rejecter, rejects_path, bool(rejected or rejects is not None))
    return ConvertResult(read, written, rejected, used, target_used, rejects_path if (rejected or rejects) else None)
