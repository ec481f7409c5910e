"""The duplicates validator: per record it keeps digests and MinHash band keys; at the end it finds
exact duplicates, conflicts, near-duplicate clusters and leakage (see the sibling modules)."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

from ...formats import CHAT
from ...model import Finding, Record, Severity
from ...stats import DuplicatesStats
from ..base import Code, DatasetContext, Validator
from . import conflicts, exact, leakage, near
from .exact import first_of
from .plain import Shape, plain_chat
from .texts import FORMAT_OF as _FORMAT_OF
from .texts import FORMATS, _digest, _Normaliser, _Texts, clean_line, digests, texts_of

#: records (or bytes of text) sketched per numpy batch: small enough to stay in the CPU cache
BATCH = 512
BATCH_BYTES = 512 * 1024
#: the bytes of a text that its MinHash sketch reads: sketching takes about 70 bytes of memory per
#: word, so a 30 MB reply would take 400 MB; two texts that long which share their first MiB are
#: candidates still, and the verification compares them whole
SKETCH_MAX_BYTES = 1024 * 1024

_DUP006_WHY = """
    Near-duplicate and conflict checks keep only digests and MinHash keys per record, and read
    the texts of candidate pairs again from the file at the end (by line for JSONL, by record
    for a .json array). If the file changed while it was being checked, or cannot be read
    again, those checks are skipped for the file and this says why; the exact-duplicate check
    still ran. Check a file that nothing else is writing to.
"""


class DuplicatesValidator(Validator):
    """Duplicated examples, near-duplicates, one prompt with conflicting answers, and examples
    shared between the training and the validation file.

    Texts are compared after normalisation (Unicode NFC, whitespace collapsed, optionally case
    folded). Only compact state is kept per record (digests and MinHash band keys); the texts of
    candidate pairs are read again from the file at the end.
    """

    name = "duplicates"
    publishes = ("duplicates",)
    codes: ClassVar[dict[str, Code]] = {
        **exact.CODES, **near.CODES, **conflicts.CODES, **leakage.CODES,
        "DUP006": Code(
            Severity.WARNING, "near-duplicate and conflict checks skipped", why=_DUP006_WHY,
            failing="a file that is rewritten between the first read and the re-read of its candidate pairs",
            passing="a file that nothing writes to while dsqa checks it",
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "threshold": {
                "type": "number", "minimum": 0.5, "maximum": 1,
                "description": "similarity (0-1) at or above which two texts are near-duplicates",
            },
            "conflict_below": {
                "type": "number", "minimum": 0, "maximum": 1,
                "description": "answers to the same prompt less similar than this (0-1) are a conflict",
            },
            "scope": {
                "enum": ["conversation", "user", "assistant"],
                "description": "the text compared for near-duplicates: conversation (the user, assistant and tool turns, "
                               "with near-identical system prompts), user (only the user turns) or assistant (only the assistant turns); "
                               "tool calls count by their argument values and images by their URL or bytes",
            },
            "case_fold": {"type": "boolean", "description": "also ignore letter case when comparing texts"},
            "near": {"type": "boolean", "description": "look for near-duplicates (and near-duplicate leakage)"},
            "conflicts": {"type": "boolean", "description": "look for one prompt with conflicting answers"},
            "bands": {
                "type": "integer", "minimum": 1, "maximum": 64,
                "description": "MinHash LSH bands: more bands find less similar candidate pairs, at more cost",
            },
            "rows": {
                "type": "integer", "minimum": 1, "maximum": 16,
                "description": "MinHash minima per band: more rows make candidates stricter",
            },
        },
        "additionalProperties": False,
    }
    defaults = {
        "threshold": 0.9, "conflict_below": 0.7, "scope": "conversation", "case_fold": False, "near": True, "conflicts": True,
        "bands": 12, "rows": 7,
    }

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self._norm = _Normaliser(bool(self.options["case_fold"]))
        self._scope: str = self.options["scope"]
        # not skipped when DUP002 and DUP005 are unreported: the stats block counts near-duplicates
        self._near = bool(self.options["near"])
        self._lines = array("I")
        self._index = array("I")
        self._fmt = bytearray()
        self._exact = array("Q")
        self._context = array("Q")
        self._answer = array("Q")
        self._keys = array("I")
        self._valid = bytearray()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        #: the pending texts of the fast path, not yet known to be normal: (index in pending, position, record value)
        self._unsure: list[tuple[int, int, dict[str, Any]]] = []
        #: the fast path for plain chat records (not in reference mode); the role sequences it has seen
        self._plain = not context.reference and self._scope == "conversation" and not self._norm.fold
        self._shapes: dict[str, Shape] = {}
        self._train: list[DuplicatesValidator] = []
        self._np: dict[str, Any] | None = None
        #: the file is a JSON array, whose records messages name by index (None: not looked at yet)
        self._array: bool | None = None
        #: every record of the array is on one line (its line names none of them)
        self._one_line = False

    # -- the streaming part ------------------------------------------------------------------

    def check(self, record: Record) -> Sequence[Finding]:
        # an empty tuple, not an empty iterator: the engine skips emit for a record with nothing
        value = record.value
        if not isinstance(value, dict):
            return ()
        clean = clean_line(record.raw)
        found = plain_chat(value, self._shapes) if self._plain and clean and record.format == CHAT else None
        if found is not None and (self._near or b"  " not in found[3]) and len(found[3]) <= SKETCH_MAX_BYTES:
            exact, context, answer, text = found
            if self._near:  # the sketch looks for two spaces in a row; a record with them is made again (_redo)
                self._unsure.append((len(self._pending), len(self._lines), value))
        else:
            t = texts_of(value, record.format, self._scope, self._norm, clean)
            exact, context, answer = digests(t)
            text = t.scope.encode("utf-8", "surrogatepass") if self._near else b""
        self._lines.append(record.line)
        self._index.append(record.index)
        self._fmt.append(FORMATS.get(record.format, 0))
        self._exact.append(exact)
        self._context.append(context)
        self._answer.append(answer)
        if self._near:
            if len(text) > SKETCH_MAX_BYTES:
                text = text[:SKETCH_MAX_BYTES].rstrip(b" ")
            self._pending.append(text)
            self._pending_bytes += len(text)
            if len(self._pending) >= BATCH or self._pending_bytes >= BATCH_BYTES:
                self._sketch()
        return ()

    def _sketch(self) -> None:
        if not self._pending:
            return
        from ...minhash import Sketcher

        sketcher = Sketcher.shared(self.options["bands"], self.options["rows"])
        keys, valid, spaced = sketcher.sketch(self._pending)
        if self._unsure and spaced.any():
            self._redo(sketcher, keys, valid, spaced)
        self._keys.frombytes(keys.tobytes())
        self._valid.extend(valid.astype("u1").tobytes())
        self._pending = []
        self._pending_bytes = 0
        self._unsure = []

    def _redo(self, sketcher: Any, keys: Any, valid: Any, spaced: Any) -> None:
        """The records of the fast path (``plain_chat``) whose scope text holds two spaces in a row,
        made again by the general path: their digests, and the keys of their normalised texts."""
        pending, at = [], []
        for i, pos, value in self._unsure:
            if spaced[i]:
                t = texts_of(value, CHAT, self._scope, self._norm, True)
                self._exact[pos], self._context[pos], self._answer[pos] = digests(t)
                text = t.scope.encode("utf-8", "surrogatepass")
                pending.append(text[:SKETCH_MAX_BYTES].rstrip(b" ") if len(text) > SKETCH_MAX_BYTES else text)
                at.append(i)
        if at:
            keys[at], valid[at] = sketcher.band_keys(pending)

    def __getstate__(self) -> dict[str, Any]:
        self._sketch()  # workers hand back finished signatures, never texts
        return self.__dict__.copy()

    def merge(self, other: Validator) -> None:
        assert isinstance(other, DuplicatesValidator)
        self._sketch()
        other._sketch()
        self._lines.extend(other._lines)
        self._index.extend(other._index)
        self._fmt.extend(other._fmt)
        self._exact.extend(other._exact)
        self._context.extend(other._context)
        self._answer.extend(other._answer)
        self._keys.extend(other._keys)
        self._valid.extend(other._valid)

    def link(self, peers: Sequence[Validator]) -> None:
        """Remember the finished training-file validators, to find what leaked into this file."""
        self._train = [p for p in peers if isinstance(p, DuplicatesValidator)]

    # -- the dataset-level part ----------------------------------------------------------------

    def _arrays(self) -> dict[str, Any]:
        import numpy as np

        if self._np is None:
            self._sketch()
            n = len(self._lines)
            bands = self.options["bands"]
            self._np = {
                "n": n,
                "lines": np.frombuffer(self._lines, dtype=np.uint32) if n else np.zeros(0, np.uint32),
                "exact": np.frombuffer(self._exact, dtype=np.uint64) if n else np.zeros(0, np.uint64),
                "context": np.frombuffer(self._context, dtype=np.uint64) if n else np.zeros(0, np.uint64),
                "answer": np.frombuffer(self._answer, dtype=np.uint64) if n else np.zeros(0, np.uint64),
                "keys": (np.frombuffer(self._keys, dtype=np.uint32).reshape(-1, bands) if len(self._keys)
                         else np.zeros((0, bands), np.uint32)),
                "valid": (np.frombuffer(bytes(self._valid), dtype=np.uint8).astype(bool) if len(self._valid)
                          else np.zeros(n if not self._near else 0, bool)),
            }
            first = first_of(self._np["exact"])
            self._np["first"] = first
            unique = first == np.arange(n)
            self._np["unique"] = unique
        return self._np

    def _at(self, code: str, line: int | None, message: str, hint: str | None = None, data: dict[str, Any] | None = None) -> Finding:
        return Finding(code, self.codes[code].severity, message, self.name, self.context.path, line, None, hint, data)

    def in_array(self) -> bool:
        """Whether the file is a JSON array (looked at once, at the end: checked in place, its
        records have the raw bytes of their conversion, so no record says so)."""
        if self._array is None:
            from ...errors import InputError
            from ...inputs import local_path
            from ...reading import file_kind

            try:
                self._array = file_kind(local_path(self.context.path), self.context.path).array
            except (OSError, InputError):
                self._array = False
            lines = self._arrays()["lines"]
            self._one_line = not len(lines) or int(lines.min()) == int(lines.max())
        return self._array

    def _name(self, pos: int, commas: bool = False) -> str:
        """The record at ``pos`` as a message names it: ``line N``, or in a JSON array ``record I``,
        its index from 0 (as ``data.record`` says it), since several records may share a line,
        and ``at line N`` unless every record of the array is on one line."""
        line = int(self._lines[pos])
        if self.in_array():
            index = f"record {int(self._index[pos]):,}"
            return index if self._one_line else f"{index} at line {line:,}"
        return f"line {line:,}" if commas else f"line {line}"

    def _at_record(self, code: str, pos: int, message: str, hint: str, data: dict[str, Any], of: int | None = None) -> Finding:
        """A finding at the record at ``pos``; in a JSON array ``data`` also holds its index
        (``record``, as check-time findings in place have it) and that of the record ``of`` (``of_record``)."""
        if self.in_array():
            data = {**data, "record": int(self._index[pos])}
            if of is not None:
                data["of_record"] = int(self._index[of])
        return self._at(code, int(self._lines[pos]), message, hint, data)

    def reread(self, positions: Sequence[int], answers_only: Sequence[int] = ()) -> dict[int, _Texts] | str:
        """The texts of the records at these positions, read again from the file; or why not.

        Only what verification needs is kept (the scope text, the system prompt and the answer;
        just the answer for ``answers_only``), so memory follows the number of candidates.
        """
        from ...reading import reread_duplicates

        return reread_duplicates(self, positions, answers_only)

    def finish(self) -> Iterator[Finding]:
        import numpy as np

        a = self._arrays()
        n = a["n"]
        stats: DuplicatesStats = {
            "records": n, "scope": self.options["scope"], "threshold": float(self.options["threshold"]),
            "exact_duplicates": int(n - a["unique"].sum()), "exact_groups": 0,
            "near_duplicates": 0, "clusters": 0, "largest_cluster": 0, "candidate_pairs": 0,
            "conflicts": 0,
        }
        self.metrics = {"duplicates": stats}
        yield from exact.exact_duplicates(self, a, stats)
        empty = np.zeros((0, 2), dtype=np.int64)
        near_pairs = near.candidates(a) if self._near and n else empty
        conflict_pairs = conflicts.conflict_pairs(a["context"], a["answer"], a["unique"]) if self.options["conflicts"] and n else empty
        stats["candidate_pairs"] = int(len(near_pairs))
        leaks = list(leakage.leaks(self)) if self._train else []
        if len(near_pairs) or len(conflict_pairs):
            yield from self._similar(a, near_pairs, conflict_pairs, stats)
        yield from leaks

    def _similar(self, a: dict[str, Any], near_pairs: Any, conflict_pairs: Any, stats: dict[str, Any]) -> Iterator[Finding]:
        """DUP003 and DUP002 from the candidate pairs, with their texts read again (DUP006 when they cannot be)."""
        import numpy as np

        texts = self.reread([int(p) for p in np.unique(near_pairs)], [int(p) for p in np.unique(conflict_pairs)])
        if isinstance(texts, str):
            yield self._at("DUP006", None, f"near-duplicate and conflict checks skipped: {texts}")
            return
        pairs: list[tuple[int, int]] = [(int(i), int(j)) for i, j in near_pairs]
        yield from conflicts.conflicts(self, conflict_pairs, texts, float(self.options["conflict_below"]), stats, pairs)
        near_set = set(np.unique(near_pairs).tolist())
        missing = sorted({p for pair in pairs for p in pair if p not in near_set})
        if missing:  # reworded answers to one prompt: their whole texts are needed after all
            more = self.reread(missing)
            if isinstance(more, str):
                yield self._at("DUP006", None, f"near-duplicate and conflict checks skipped: {more}")
                return
            texts.update(more)
        scores = near.verify(pairs, texts, a["context"], self.options)
        yield from near.near_duplicates(self, scores, texts, a["lines"], stats)

