"""Check the formats people keep (Alpaca, ShareGPT, TRL preference, prompt/completion) in place.

The engine reads a file as usual; when its records are in one of these source formats, each one
is converted as ``dsqa convert`` would convert it and every validator checks the converted
record. A record the converter rejects is one FMT004 finding with the converter's reason.
Afterwards each finding's JSON Pointer is moved into the source record where the mapping is
known (``/output``, ``/conversations/3/value``); otherwise it stays in the converted record and
the finding's ``data`` says so (``"pointer_in": "converted"``). A prompt/completion file of
strings is OpenAI's legacy format and is checked as it is (FMT003); TRL's conversational
prompt/completion (lists of messages) is converted to chat.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .convert.base import ConvertError, dumps
from .convert.pipeline import SOURCE_ALIASES, SOURCES, TAG_KEYS, TARGETS, detect_source, rename
from .fingerprint import excerpt, fingerprint
from .formats import CHAT, COMPLETION, PREFERENCE
from .model import Finding, Record, Severity
from .reading import READER, read_records, records_at

#: the source formats checked in place (by conversion); the OpenAI formats are checked as they are
IN_PLACE = ("alpaca", "sharegpt", "sharegpt-preference", "trl-preference", COMPLETION)

FORMAT = "format"  # the validator whose codes (FMT00x) this module reports
CONVERTED = "converted"
_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")  # as convert/preference.py splits a transcript


def source_name(name: str | None) -> str | None:
    """The in-place source format ``name`` stands for (``hh`` -> ``trl-preference``), or None."""
    name = SOURCE_ALIASES.get(name, name) if name else None
    return name if name in IN_PLACE else None


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


@dataclasses.dataclass
class SourceMap:
    """How a file's records are read: their source format, ``--map`` and the kind they convert to."""

    source: str
    mapping: Mapping[str, str]
    #: openai-chat or openai-preference: fixed by the first record that converts, as in ``convert``
    kind: str | None = None
    #: whether --data-format named the source (then every record is read as it, as ``convert --from``)
    forced: bool = False
    #: the line of the record that fixed the source format (None when --data-format named it)
    first_line: int | None = None

    @property
    def columns(self) -> dict[str, str]:
        return {k: v for k, v in self.mapping.items() if k not in TAG_KEYS}

    @property
    def tags(self) -> dict[str, str]:
        return {k: v for k, v in self.mapping.items() if k in TAG_KEYS}

    def convert(self, value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(kind, converted record) as ``dsqa convert`` writes it; ConvertError with its reason."""
        kind, canonical = SOURCES[self.source](rename(value, self.columns), self.tags)
        target = self.kind or kind
        return kind, TARGETS[target](kind, canonical)

    def apply(self, record: Record) -> None:
        """Replace a parsed source record by its conversion, or give it the finding that says why not.

        A record in no format at all keeps format None (FMT001 names ``dsqa convert --map``); one in
        another known format is FMT002 and, when it is an OpenAI format, checked as it is.
        """
        value = record.value
        if not isinstance(value, dict):
            return
        detected = None if self.forced else detect_source(rename(value, self.columns))
        if detected is None and not self.forced:
            record.format = None
            return
        if detected is not None and detected != self.source:
            native = detected if detected in (CHAT, PREFERENCE) else None
            record.format = native
            if native is None:
                record.value = None
            record.problems += (_finding(
                "FMT002", Severity.ERROR, record,
                f"record is {detected} but the file is {self.source}"
                + (f" (from line {self.first_line:,})" if self.first_line else ""),
                "keep one format per file: convert the odd records or move them to a file of their own",
            ),)
            return
        try:
            kind, converted = self.convert(value)
        except ConvertError as exc:
            record.value = None
            record.format = None
            record.problems += (_finding(
                "FMT004", Severity.ERROR, record, f"record cannot be read as {self.source}: {exc}",
                f"fix the record; `dsqa convert --from {self.source}` rejects it for the same reason",
                {"source_format": self.source},
            ),)
            return
        if self.kind is None:
            self.kind = kind
        record.value = converted
        record.format = self.kind
        # the bytes the validators' cheap gates read are those of the converted record, as after `convert`
        record.raw = dumps(converted).encode("utf-8")
        record.signature = None
        if self.source == COMPLETION:
            record.problems += (_finding(
                "FMT003", Severity.ERROR, record,
                "legacy prompt/completion format: no current OpenAI base model can be trained on it "
                "(babbage-002 and davinci-002 training ended 2024-10-28)",
                "convert to chat: dsqa convert FILE --to openai-chat (the rest of this report checks it as chat)",
            ),)

    def reads(self, value: dict[str, Any]) -> bool:
        """Whether ``apply`` converts this source record (rather than leave it as it is)."""
        return self.forced or detect_source(rename(value, self.columns)) == self.source

    def remap(self, record: Record) -> Record:
        """The record as the checking pass saw it (for a validator that reads records again)."""
        problems = record.problems
        self.apply(record)
        record.problems = problems
        return record

    def pointer(self, value: dict[str, Any], pointer: str) -> str | None:
        """``pointer`` (into the converted record) as a pointer into the source record, or None."""
        try:
            return _locate(self, rename(value, self.columns), pointer)
        except (KeyError, IndexError, TypeError, ValueError):
            return None


def _finding(code: str, severity: Severity, record: Record, message: str, hint: str,
             data: dict[str, Any] | None = None) -> Finding:
    if not record.raw:  # an element of a JSON array, several of which may share a line
        data = {**(data or {}), "record": record.index}
    return Finding(code, severity, message, FORMAT, record.path, record.line, None, hint, data)


# -- where a converted pointer came from ---------------------------------------------------------------


def _col(sm: SourceMap, key: str) -> str:
    """The source column that holds field ``key`` (``--map`` may rename it)."""
    return "/" + _escape(sm.columns.get(key, key))


def _parts(pointer: str) -> list[str]:
    return [_unescape(p) for p in pointer.split("/")[1:]]


def _locate(sm: SourceMap, value: dict[str, Any], pointer: str) -> str | None:
    parts = _parts(pointer)
    if not parts:
        return ""
    kind = PREFERENCE if parts[0] in ("input", "preferred_output", "non_preferred_output") else CHAT
    if kind == PREFERENCE and parts[0] == "input":
        parts = parts[1:]
        if not parts:
            return None
    locate = _LOCATORS[sm.source]
    if parts[0] in ("preferred_output", "non_preferred_output"):
        return locate.answer(sm, value, parts[0] == "preferred_output", parts[1:])
    if parts[0] == "tools":
        return _col(sm, "tools") if value.get("tools") is not None else None
    if parts[0] != "messages" or len(parts) < 2:
        return None
    return locate.message(sm, value, int(parts[1]), parts[2:])


def _tail(base: str, rest: list[str]) -> str:
    return base + "".join("/" + _escape(p) for p in rest)


def _text_field(base: str, rest: list[str]) -> str | None:
    """A message built from one string field: its content (or the message) is that field."""
    if not rest or rest[0] == "content":
        return base
    return None


_Message = Callable[[SourceMap, dict[str, Any], int, list[str]], "str | None"]


def _system_first(message: _Message) -> _Message:
    """``message`` of a format whose ``system`` column, when set, became message 0: ``k`` then counts from message 1."""

    def located(sm: SourceMap, value: dict[str, Any], k: int, rest: list[str]) -> str | None:
        if value.get("system"):
            if k == 0:
                return _text_field(_col(sm, "system"), rest)
            k -= 1
        return message(sm, value, k, rest)

    return located


class _Alpaca:
    @staticmethod
    @_system_first
    def message(sm: SourceMap, value: dict[str, Any], k: int, rest: list[str]) -> str | None:
        history = value.get("history") or []
        if k < 2 * len(history):
            return _text_field(f"{_col(sm, 'history')}/{k // 2}/{k % 2}", rest)
        k -= 2 * len(history)
        if k == 0:
            if len(rest) >= 3 and rest[0] == "content" and rest[1] in ("0", "1"):
                return _col(sm, "instruction" if rest[1] == "0" else "input")
            return _text_field(_col(sm, "instruction"), rest)
        if k == 1:
            return _text_field(_col(sm, "output"), rest)
        return None

    @staticmethod
    def answer(sm: SourceMap, value: dict[str, Any], preferred: bool, rest: list[str]) -> str | None:
        if rest[:1] != ["0"]:
            return None
        return _text_field(_col(sm, "chosen" if preferred else "rejected"), rest[1:])


class _ShareGPT:
    @staticmethod
    def _turns(sm: SourceMap, value: dict[str, Any]) -> str:
        key = sm.columns.get("conversations", "conversations")
        return "/" + _escape(key if value.get("conversations") is not None else "messages")

    @staticmethod
    @_system_first
    def message(sm: SourceMap, value: dict[str, Any], k: int, rest: list[str]) -> str | None:
        base = f"{_ShareGPT._turns(sm, value)}/{k}"
        content = "/" + _escape(sm.tags.get("content_tag", "value"))
        if not rest:
            return base
        if rest[0] in ("content", "tool_calls"):
            # a function call's name and arguments are JSON text inside the turn's value
            return base + content
        return None

    @staticmethod
    def answer(sm: SourceMap, value: dict[str, Any], preferred: bool, rest: list[str]) -> str | None:
        if rest[:1] != ["0"]:
            return None
        key = "chosen" if preferred else "rejected"
        base = _col(sm, key)
        if isinstance(value.get(key), dict):
            return base if not rest[1:] else base + "/" + _escape(sm.tags.get("content_tag", "value"))
        return _text_field(base, rest[1:])


class _Preference:
    """TRL preference: strings, message lists (with or without a prompt) and HH transcripts."""

    @staticmethod
    def message(sm: SourceMap, value: dict[str, Any], k: int, rest: list[str]) -> str | None:
        prompt, chosen = value.get("prompt"), value.get("chosen")
        if isinstance(prompt, list):
            return _tail(f"{_col(sm, 'prompt')}/{k}", rest)
        if isinstance(chosen, list):
            if prompt is None:
                return _tail(f"{_col(sm, 'chosen')}/{k}", rest)
            return _text_field(_col(sm, "prompt"), rest) if k == 0 else None
        if isinstance(prompt, str) and not _HH_TURN.search("\n\n" + prompt.lstrip("\n")):
            return _text_field(_col(sm, "prompt"), rest) if k == 0 else None
        # an HH transcript: every turn of the prompt is a piece of one string
        return _text_field(_col(sm, "prompt" if isinstance(prompt, str) else "chosen"), rest)

    @staticmethod
    def answer(sm: SourceMap, value: dict[str, Any], preferred: bool, rest: list[str]) -> str | None:
        if rest[:1] != ["0"]:
            return None
        key = "chosen" if preferred else "rejected"
        answer = value.get(key)
        if isinstance(answer, list):
            last = len(answer) - 1 if value.get("prompt") is None else 0
            return _tail(f"{_col(sm, key)}/{last}", rest[1:])
        return _text_field(_col(sm, key), rest[1:])


class _Completion:
    @staticmethod
    def message(sm: SourceMap, value: dict[str, Any], k: int, rest: list[str]) -> str | None:
        prompt, completion = value.get("prompt"), value.get("completion")
        n = len(prompt) if isinstance(prompt, list) else 1
        key, i, part = ("prompt", k, prompt) if k < n else ("completion", k - n, completion)
        if isinstance(part, list):
            return _tail(f"{_col(sm, key)}/{i}", rest)
        return _text_field(_col(sm, key), rest) if i == 0 else None

    @staticmethod
    def answer(sm: SourceMap, value: dict[str, Any], preferred: bool, rest: list[str]) -> str | None:
        return None


_LOCATORS: dict[str, Any] = {
    "alpaca": _Alpaca, "sharegpt": _ShareGPT, "sharegpt-preference": _ShareGPT,
    "trl-preference": _Preference, COMPLETION: _Completion,
}


# -- the engine's side ---------------------------------------------------------------------------------


def for_file(path: Path, display: str, forced: str | None, mapping: Mapping[str, str],
             max_line_bytes: int) -> SourceMap | None:
    """The SourceMap for a file in a source format checked in place, or None (an OpenAI format).

    As ``convert`` does, the first record whose format is known fixes the file's source format
    (``--data-format`` names it instead), and the first record that converts fixes the kind
    (chat or preference) every record must convert to.
    """
    source = source_name(forced)
    if forced and source is None:
        return None  # --data-format names an OpenAI format: no conversion
    sm = SourceMap(source or "", mapping, forced=source is not None)
    for record in read_records(path, display, max_line_bytes=max_line_bytes):
        if not isinstance(record.value, dict):
            continue
        if source is None:
            source = detect_source(rename(record.value, sm.columns))
            if source is None:
                continue
            if source not in IN_PLACE:
                return None
            sm.source = source
            sm.first_line = record.line
        if source == COMPLETION and _legacy(record.value, sm):
            return None
        try:
            sm.kind = sm.convert(record.value)[0]
            break
        except ConvertError:
            continue
    return sm if source is not None else None


def _legacy(value: dict[str, Any], sm: SourceMap) -> bool:
    """A prompt/completion record of strings: OpenAI's legacy format, which every rule reads as it is.

    Such a file keeps FMT003 and its own checks (a completion model such as davinci-002 is trained
    on it as it is); TRL's conversational prompt/completion (lists of messages) is converted to chat.
    """
    value = rename(value, sm.columns)
    return isinstance(value.get("prompt"), str) and isinstance(value.get("completion"), str)


def _record_of(sm: SourceMap, finding: Finding, candidates: list[Record]) -> Record | None:
    """The source record a finding is about: the one at its line (of a JSON array's records on
    one line, the one whose converted record has the finding's fingerprint, or None when it has
    none: naming the first would be a guess)."""
    index = (finding.data or {}).get("record")
    if index is not None:
        return next((r for r in candidates if r.index == index), None)
    if len(candidates) < 2:
        return candidates[0] if candidates else None
    if finding.fingerprint is None:
        return None  # several records on its line and nothing to tell them apart (a dataset-level finding)
    for record in candidates:
        copy = Record(record.path, record.line, record.index, value=record.value, raw=record.raw)
        if fingerprint(sm.remap(copy)) == finding.fingerprint:
            return record
    return candidates[0]


def relocate(sm: SourceMap, path: Path, display: str, findings: Iterable[Finding]) -> list[Finding]:
    """Findings with their pointers moved into the source records, and stamped from them.

    The fingerprint and excerpt of a finding at a record are those of the source record, so a
    baseline made before or after ``convert`` names the same records. A pointer with no known
    place in the source stays in the converted record, and ``data`` says so. A finding in a
    JSON array also gets the record's index in the array (``data.record``, from 0).
    """
    findings = list(findings)
    lines = {f.line for f in findings if f.line is not None}
    if not lines:
        return findings
    by_line: dict[int, list[Record]] = {}
    for r in records_at(path, display, lines):
        by_line.setdefault(r.line, []).append(r)
    out = []
    for f in findings:
        source = _record_of(sm, f, by_line.get(f.line, []) if f.line is not None else [])
        if source is None or not isinstance(source.value, dict):
            out.append(f)
            continue
        if f.validator == READER or not sm.reads(source.value):
            out.append(f)  # about the line itself, or a record checked as it is (FMT002)
            continue
        out.append(_moved(sm, f, source))
    return out


def _moved(sm: SourceMap, f: Finding, source: Record) -> Finding:
    """The finding ``f`` with its pointer moved into ``source``, its record, and stamped from that."""
    changes: dict[str, Any] = {}
    if f.pointer and not (f.data or {}).get("pointer_in"):
        moved = sm.pointer(source.value, f.pointer)
        if moved is None:
            changes["data"] = {**(f.data or {}), "pointer_in": CONVERTED}
        else:
            changes["pointer"] = moved
    pointer = changes.get("pointer", f.pointer)
    where = None if "data" in changes else pointer
    changes["fingerprint"] = fingerprint(source)
    changes["excerpt"] = excerpt(source, where)
    if not source.raw and "record" not in (f.data or {}):
        # a JSON array's record is found by its index too: several may start on one line
        changes["data"] = {**changes.get("data", f.data or {}), "record": source.index}
    return dataclasses.replace(f, **changes)

