"""Stamp findings with the record they are about: a content fingerprint and a masked excerpt."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import DsqaError
from .model import Finding, Record
from .reading import records_at

#: characters of record text kept in an excerpt (after masking, before the ellipsis)
EXCERPT_CHARS = 160
READER = "reader"


def canonical(record: Record) -> bytes | None:
    """The record's content independent of key order and spacing; raw bytes when it did not parse."""
    if record.value is not None:
        return json.dumps(record.value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    raw = record.raw.strip()
    return raw or None


def fingerprint(record: Record) -> str | None:
    """A short hash of the record's canonical content; equal content gives an equal fingerprint."""
    content = canonical(record)
    if content is None:
        return None
    return hashlib.sha256(content).hexdigest()[:16]


def _focus(value: Any, pointer: str | None) -> Any:
    """The deepest container on the way to ``pointer``: the place the finding is about."""
    if not pointer:
        return value
    node = value
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node and isinstance(node[key], (dict, list)):
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node) and isinstance(node[int(key)], (dict, list)):
            node = node[int(key)]
        else:
            break
    return node


_CONTROLS = {c: f"\\x{c:02x}" for c in range(32) if c != 9}


def _printable(text: str) -> str:
    return text.translate(_CONTROLS)


def excerpt(record: Record, pointer: str | None = None, limit: int = EXCERPT_CHARS) -> str | None:
    """A short, single-line piece of the record around ``pointer`` with secrets masked."""
    from .redact import mask_secrets

    if record.value is not None:
        text = json.dumps(_focus(record.value, pointer), ensure_ascii=False)
    elif record.raw.strip():
        text = record.raw.strip().decode("utf-8", errors="backslashreplace")
    else:
        return None
    # mask before cutting, so a secret cut in half by the limit is still recognised
    text = _printable(mask_secrets(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stamp(finding: Finding, record: Record) -> Finding:
    """The finding with the fingerprint and excerpt of ``record`` (blank/file-level records have none)."""
    if record.index < 0 or finding.fingerprint is not None:
        return finding
    return dataclasses.replace(finding, fingerprint=_memo.fingerprint(record), excerpt=_memo.excerpt(record, finding.pointer))


class _Memo:
    """The fingerprint and excerpts of the last record stamped.

    Findings come record by record, and one record may have thousands (one per unknown key):
    hashing and masking the whole record for each of them made such a record quadratic.
    The record is held, so its ``id`` cannot be reused while it is remembered.
    """

    def __init__(self) -> None:
        self.record: Record | None = None
        self.print: str | None = None
        self.excerpts: dict[int, str | None] = {}

    def _use(self, record: Record) -> None:
        if self.record is not record:
            self.record, self.print, self.excerpts = record, fingerprint(record), {}

    def fingerprint(self, record: Record) -> str | None:
        self._use(record)
        return self.print

    def excerpt(self, record: Record, pointer: str | None) -> str | None:
        self._use(record)
        focus = id(_focus(record.value, pointer)) if record.value is not None else 0
        if focus not in self.excerpts:
            self.excerpts[focus] = excerpt(record, pointer)
        return self.excerpts[focus]


_memo = _Memo()


def stamp_late(path: Path, display: str, findings: Iterable[Finding]) -> list[Finding]:
    """Stamp findings made after the pass (``finish``, merged spans) that point at a line.

    Reader findings are left alone: they were stamped with their record, or are about the file.
    """
    findings = list(findings)
    indexes = {_array_index(f) for f in findings} - {None}
    # a finding that names its array record needs no other record of its line (all of a one-line array)
    lines = {f.line for f in findings if f.line is not None and f.fingerprint is None and f.validator != READER
             and _array_index(f) is None}
    if not lines and not indexes:
        return findings
    try:
        found = list(records_at(path, display, lines, indexes))  # type: ignore[arg-type]
    except (OSError, DsqaError):
        return findings
    by_line: dict[int, list[Record]] = {}
    for r in found:
        by_line.setdefault(r.line, []).append(r)
    by_index = {r.index: r for r in found} if indexes else {}
    out = []
    for f in findings:
        index = _array_index(f)
        record: Record | None = None
        if index is not None:  # several records of a JSON array may share the line: its index names it
            record = by_index.get(index)
        elif f.line is not None and f.validator != READER:
            on_line = by_line.get(f.line, [])
            record = on_line[0] if len(on_line) == 1 else None  # of several on one line: no guess
        out.append(stamp(f, record) if record is not None else f)
    return out


def _array_index(finding: Finding) -> int | None:
    """The index of the JSON array record an unstamped finding names in ``data.record``, if any."""
    if finding.fingerprint is not None or finding.validator == READER or not finding.data:
        return None
    index = finding.data.get("record")
    return index if type(index) is int else None
