"""Exact duplicates, near-duplicates (MinHash LSH + rapidfuzz), conflicting answers and leakage."""

from __future__ import annotations

import json
import unicodedata
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..formats import CHAT, COMPLETION, PREFERENCE
from ..model import Finding, Record, Severity
from ..stats import DuplicatesStats
from ..wording import similarity as shown
from .base import Code, DatasetContext, Validator

if TYPE_CHECKING:
    import numpy as np

#: records (or bytes of text) sketched per numpy batch: small enough to stay in the CPU cache
BATCH = 512
BATCH_BYTES = 512 * 1024
#: clusters listed in stats.duplicates.clusters (largest first)
TOP_CLUSTERS = 10
#: longer texts are compared by the Jaccard similarity of their word 4-gram sets: rapidfuzz's
#: edit distance is quadratic in the length, and two 500 KB examples would take seconds
LONG_TEXT = 20_000


def similarity(a: str, b: str, score_cutoff: float | None = None) -> float:
    """Normalised Indel similarity (rapidfuzz ``fuzz.ratio`` / 100), or for long texts the Jaccard
    similarity of their word 4-gram sets; 0 when below ``score_cutoff``."""
    if a == b:  # both measures give 1 (also for two empty texts): spare the import and the work
        return 1.0
    if len(a) <= LONG_TEXT and len(b) <= LONG_TEXT:
        from rapidfuzz.distance import Indel

        return float(Indel.normalized_similarity(a, b, score_cutoff=score_cutoff))
    if score_cutoff and min(len(a), len(b)) < score_cutoff * max(len(a), len(b)) / (2 - score_cutoff):
        return 0.0  # even the best Jaccard of such different lengths is below the cutoff
    sa, sb = _grams(a), _grams(b)
    common = len(sa & sb)
    value = common / (len(sa) + len(sb) - common) if sa or sb else 1.0
    return 0.0 if score_cutoff and value < score_cutoff else value


def _grams(text: str) -> set[tuple[str, ...]]:
    words = text.split(" ")
    if len(words) < 4:
        return {tuple(words)}
    return set(zip(words, words[1:], words[2:], words[3:]))
_FORMATS = {None: 0, CHAT: 1, PREFERENCE: 2, COMPLETION: 3}
_FORMAT_OF = {v: k for k, v in _FORMATS.items()}


def _digest(text: str | tuple[str, ...]) -> int:
    """A 64-bit hash of a text, compared only within one run.

    Python's own string hash (SipHash, in C) is salted per interpreter, but ``--jobs`` workers are
    forked from the checking process and share its salt, and no hash outlives the run: no finding
    depends on the hash values, only on which texts are equal. 0 means "no such part".
    """
    return (hash(text) & 0xFFFFFFFFFFFFFFFF) or 1


@dataclass(slots=True)
class _Texts:
    """The normalised texts of one record that the checks compare."""

    exact: str | tuple[str, ...]
    scope: str
    system: str
    context: str | tuple[str, ...] | None
    answer: str | None


class _Normaliser:
    """Unicode NFC, whitespace collapsed to single spaces, and optionally case folding."""

    def __init__(self, fold: bool) -> None:
        self.fold = fold

    def text(self, s: str) -> str:
        if s.isascii():
            # already normal (the common case): no control characters, no double or edge spaces;
            # these C-level tests are several times faster than splitting into words
            if not (s.isprintable() and "  " not in s and s[:1] != " " and s[-1:] != " "):
                s = " ".join(s.split())
        else:
            s = " ".join(unicodedata.normalize("NFC", s).split())
        return s.casefold() if self.fold else s

    def canon(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.canon(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.canon(v) for v in value]
        return value


def _content_text(norm: _Normaliser, message: Any) -> str:
    """A message's comparable text: its content (text parts of a list too) and any tool calls."""
    if not isinstance(message, dict):
        return norm.text(json.dumps(message, sort_keys=True, ensure_ascii=False))
    content = message.get("content")
    if isinstance(content, str):
        text = norm.text(content)
    elif isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(norm.text(part["text"]))
            elif part is not None:
                parts.append(norm.text(json.dumps(part, sort_keys=True, ensure_ascii=False)))
        text = " ".join(p for p in parts if p)
    elif content is None:
        text = ""
    else:
        text = norm.text(json.dumps(content, sort_keys=True, ensure_ascii=False))
    for key in ("tool_calls", "function_call"):
        calls = message.get(key)
        if calls:
            extra = norm.text(json.dumps(calls, sort_keys=True, ensure_ascii=False))
            text = f"{text} {extra}" if text else extra
    return text


_MESSAGE_KEYS = frozenset(("role", "content", "tool_calls", "function_call"))


def _extras(value: dict[str, Any], messages: list[Any], norm: _Normaliser) -> str:
    """Whatever a chat record holds beyond roles, contents and tool calls, canonically (rarely any)."""
    out = {k: v for k, v in value.items() if k != "messages"}
    per_message = [
        {k: v for k, v in m.items() if k not in _MESSAGE_KEYS} if isinstance(m, dict) and not m.keys() <= _MESSAGE_KEYS else None
        for m in messages
    ]
    if any(per_message):
        out["\x1d"] = per_message
    if not out:
        return ""
    return json.dumps(norm.canon(out), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def clean_line(raw: bytes) -> bool:
    """Whether every string a raw JSON line decodes to is printable ASCII.

    Strict JSON has no raw control characters in strings, so without a backslash (an escape) or
    DEL none can appear: two memchr scans of the line replace a per-character test of every string.
    """
    return bool(raw) and raw.isascii() and b"\\" not in raw and b"\x7f" not in raw


def texts_of(value: dict[str, Any], fmt: str | None, scope: str, norm: _Normaliser, clean: bool = False) -> _Texts:
    """The normalised texts of a record for the exact, near-duplicate and conflict checks;
    ``clean``: the record's line passed ``clean_line``."""
    turns: list[Any]
    if fmt == CHAT and isinstance(value.get("messages"), list):
        turns = value["messages"]
        extras: str | None = None  # decided in the loop below
    elif fmt == PREFERENCE:
        inp = value.get("input")
        turns = list(inp.get("messages") or []) if isinstance(inp, dict) and isinstance(inp.get("messages"), list) else []
        preferred = value.get("preferred_output")
        if isinstance(preferred, list):
            turns += preferred
        elif "preferred_completion" in value:
            turns.append({"role": "assistant", "content": value.get("preferred_completion")})
        extras = json.dumps(norm.canon(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    elif fmt == COMPLETION:
        turns = [{"role": "user", "content": value.get("prompt")}, {"role": "assistant", "content": value.get("completion")}]
        extras = json.dumps(norm.canon(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    else:
        exact = json.dumps(norm.canon(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return _Texts(exact, "", "", None, None)
    roles = []
    texts = []
    tagged = []
    fold = norm.fold
    more = extras is None and len(value) > 1
    for m in turns:
        if type(m) is dict:
            if len(m) > 2:
                more = True
            role = m.get("role")
            c = m.get("content")
            # the common case inline: plain ASCII text that is already normal, no tool calls
            if (type(c) is str and not fold and (clean or (c.isascii() and c.isprintable())) and "  " not in c
                    and c[:1] != " " and c[-1:] != " " and "tool_calls" not in m and "function_call" not in m):
                t = c
            else:
                t = _content_text(norm, m)
            role = role if type(role) is str else str(role)
        else:
            role, t = "?", _content_text(norm, m)
        roles.append(role)
        texts.append(t)
        tagged.append(f"<{role}> {t}")
    if extras is None:
        extras = _extras(value, turns, norm) if more else ""
    exact = (*tagged, extras)
    # no system prompt or one at the start is the common shape: skip the role-by-role filtering
    system_turns = roles.count("system") + roles.count("developer")
    first_system = system_turns == 1 and (roles[0] == "system" or roles[0] == "developer")
    if not system_turns:
        system = ""
    elif first_system:
        system = texts[0]
    else:
        system = " ".join(t for r, t in zip(roles, texts) if (r == "system" or r == "developer") and t)
    if fmt != CHAT or len(value) > 1:  # a chat record with just "messages" has no tool definitions
        setup = [value[k] for k in ("tools", "functions") if value.get(k)]
        if setup:  # the tool definitions set the task up, like the system prompt
            system = f"{system} {norm.text(json.dumps(setup, sort_keys=True, ensure_ascii=False))}".strip()
    if scope == "conversation":
        if not system_turns:
            body = " ".join(tagged)
        elif first_system:
            body = " ".join(tagged[1:])
        else:
            body = " ".join(x for r, x in zip(roles, tagged) if r != "system" and r != "developer")
    else:
        body = " ".join(t for r, t in zip(roles, texts) if r == scope and t)
    last = len(roles) - 1
    while last >= 0 and roles[last] != "assistant":
        last -= 1
    if last < 0:
        return _Texts(exact, body, system, None, None)
    return _Texts(exact, body, system, tuple(tagged[:last]), texts[last])


class DuplicatesValidator(Validator):
    """Duplicated examples, near-duplicates, one prompt with conflicting answers, and examples
    shared between the training and the validation file.

    Duplicates waste money and over-weight what they repeat; near-duplicates (a word changed, a
    "Thanks." appended) are the common case and exact hashing misses them; the same prompt with
    two different answers teaches the model to be inconsistent; and an example that is in both
    the training and the validation file makes the validation loss a lie.

    Texts are compared after normalisation: Unicode NFC, whitespace collapsed (and case folded
    with ``case_fold``). Exact duplicates compare the whole record. Near-duplicates are found
    without comparing all pairs: each record's text (see ``scope``) is cut into shingles of four
    words (a word read as its first 8 bytes), one-permutation MinHash with ``bands`` x ``rows``
    minima is banded for locality-sensitive hashing, and only records that share a band become
    candidates; each candidate pair is then verified with rapidfuzz (normalised Indel similarity,
    rapidfuzz's ``fuzz.ratio`` / 100; texts over 20,000 characters by the Jaccard similarity of
    their word 4-gram sets, as the edit distance is quadratic in the length).
    Verified pairs are joined into clusters; the earliest line of a cluster is its representative
    and every other member is reported at its own line. Only compact state is kept per record
    (hashes and band keys); the texts of candidate pairs are read again from the file at the end
    (by line for JSONL, by record for a .json array). If the file changed meanwhile, or cannot be
    read again, the near-duplicate and conflict checks of that file are skipped with DUP006.

    Scopes: ``conversation`` (default) compares the user, assistant and tool turns, and requires
    the system prompts to be near-identical too, so two examples that merely share a system
    prompt are not near-duplicates; ``user`` compares only the user turns; ``assistant`` only the
    assistant turns. In the conversation scope, two records with the same prompt context whose
    answers differ (similarity below ``threshold``) are a conflict (DUP003), not near-duplicates.

    Conflicting answers: records whose prompt context (every message before the last assistant
    message, system prompt included) is identical after normalisation but whose last assistant
    message is not similar (below ``threshold``) to that of the first such record.

    Leakage: with ``dsqa check train.jsonl --validation val.jsonl`` (or ``validation:`` in the
    rule pack), every validation record that is an exact or near duplicate of a training record
    is an error at the validation line, naming the training file and line.

    Codes:
      DUP001  exact duplicate of an earlier record (after normalisation)
      DUP002  near-duplicate of an earlier record (cluster member; names the representative)
      DUP003  same prompt context as an earlier record with a different answer
      DUP004  validation record also in the training file (exact)
      DUP005  validation record is a near-duplicate of a training record
      DUP006  near-duplicate and conflict checks skipped: the file could not be read again

    Options (``validators.duplicates``):
      threshold: 0.9          similarity (0-1) at or above which two texts are near-duplicates
      scope: conversation     conversation, user or assistant
      case_fold: false        also ignore letter case
      near: true              look for near-duplicates (and near leakage)
      conflicts: true         look for conflicting answers
      bands: 12               LSH bands; more bands find less similar pairs, at more cost
      rows: 7                 minima per band; more rows make candidates stricter

    Passing:  {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}
              and on another line the same with "What is 3+3?" / "6"
    Failing:  the same record on lines 3 and 9                  -> DUP001 at line 9 ("of line 3")
              line 9 repeats line 3 with " Thanks." appended   -> DUP002 at line 9
              line 9 asks what line 3 asks, answers "5"        -> DUP003 at line 9
    """

    name = "duplicates"
    publishes = ("duplicates",)
    codes: ClassVar[dict[str, Code]] = {
        "DUP001": Code(Severity.WARNING, "exact duplicate of an earlier example"),
        "DUP002": Code(Severity.WARNING, "near-duplicate of an earlier example"),
        "DUP003": Code(Severity.WARNING, "same prompt as an earlier example with a different answer"),
        "DUP004": Code(Severity.ERROR, "validation example is also in the training file"),
        "DUP005": Code(Severity.ERROR, "validation example is a near-duplicate of a training example"),
        "DUP006": Code(Severity.WARNING, "near-duplicate and conflict checks skipped"),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "threshold": {"type": "number", "minimum": 0.5, "maximum": 1},
            "conflict_below": {"type": "number", "minimum": 0, "maximum": 1},
            "scope": {"enum": ["conversation", "user", "assistant"]},
            "case_fold": {"type": "boolean"},
            "near": {"type": "boolean"},
            "conflicts": {"type": "boolean"},
            "bands": {"type": "integer", "minimum": 1, "maximum": 64},
            "rows": {"type": "integer", "minimum": 1, "maximum": 16},
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
        self._train: list[DuplicatesValidator] = []
        self._np: dict[str, Any] | None = None

    # -- the streaming part ------------------------------------------------------------------

    def check(self, record: Record) -> Iterator[Finding]:
        value = record.value
        if not isinstance(value, dict):
            return iter(())
        t = texts_of(value, record.format, self._scope, self._norm, clean_line(record.raw))
        self._lines.append(record.line)
        self._index.append(record.index)
        self._fmt.append(_FORMATS.get(record.format, 0))
        self._exact.append(_digest(t.exact))
        if t.context is not None and t.answer is not None:
            self._context.append(_digest(t.context))
            self._answer.append(_digest(t.answer))
        else:
            self._context.append(0)
            self._answer.append(0)
        if self._near:
            text = t.scope.encode("utf-8", "surrogatepass")
            self._pending.append(text)
            self._pending_bytes += len(text)
            if len(self._pending) >= BATCH or self._pending_bytes >= BATCH_BYTES:
                self._sketch()
        return iter(())

    def _sketch(self) -> None:
        if not self._pending:
            return
        from ..minhash import Sketcher

        keys, valid = Sketcher.shared(self.options["bands"], self.options["rows"]).band_keys(self._pending)
        self._keys.frombytes(keys.tobytes())
        self._valid.extend(valid.astype("u1").tobytes())
        self._pending = []
        self._pending_bytes = 0

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
                          else np.zeros(n if not self.options["near"] else 0, bool)),
            }
            first = _first_of(self._np["exact"])
            self._np["first"] = first
            unique = first == np.arange(n)
            self._np["unique"] = unique
        return self._np

    def _at(self, code: str, line: int | None, message: str, hint: str | None = None, data: dict[str, Any] | None = None) -> Finding:
        return Finding(code, self.codes[code].severity, message, self.name, self.context.path, line, None, hint, data)

    def reread(self, positions: Sequence[int], answers_only: Sequence[int] = ()) -> dict[int, _Texts] | str:
        """The texts of the records at these positions, read again from the file; or why not.

        Only what verification needs is kept (the scope text, the system prompt and the answer;
        just the answer for ``answers_only``), so memory follows the number of candidates.
        """
        from ..errors import InputError
        from ..sources import BOM, loads, read_records

        a = self._arrays()
        lines, exact = a["lines"], a["exact"]
        scope = self.options["scope"]
        slim = {int(p) for p in answers_only} - {int(p) for p in positions}
        wanted = [int(p) for p in positions] + sorted(slim)
        out: dict[int, _Texts] = {}
        shared: dict[str, str] = {}  # one copy of each system prompt

        def keep(pos: int, value: Any, clean: bool = False) -> bool:
            t = texts_of(value, _FORMAT_OF[self._fmt[pos]], scope, self._norm, clean)
            if _digest(t.exact) != int(exact[pos]):
                return False
            if pos in slim:
                out[pos] = _Texts("", "", "", None, t.answer)
            else:
                out[pos] = _Texts("", t.scope, shared.setdefault(t.system, t.system), None, t.answer)
            return True

        changed = f"{self.context.path} changed while it was being checked"
        try:
            if path_is_array(self.context.path):
                by_index = {int(self._index[p]): p for p in wanted}
                for record in read_records(Path(self.context.path)):
                    pos = by_index.get(record.index)
                    if pos is not None and (record.line != lines[pos] or not isinstance(record.value, dict)
                                            or not keep(pos, record.value)):
                        return f"{changed} (line {record.line} differs)"
            else:
                by_line = {int(lines[p]): p for p in wanted}
                number = 0
                with open(self.context.path, "rb") as f:
                    for target in sorted(by_line):
                        # the lines in between are skipped in C, not looked up one by one
                        raw = next(islice(f, target - number - 1, None), None)
                        if raw is None:
                            break  # the file got shorter: reported as a line that is gone
                        number = target
                        text = raw.rstrip(b"\r\n")
                        if number == 1 and text.startswith(BOM):
                            text = text[3:]
                        value = loads(text.decode("utf-8"))
                        if not isinstance(value, dict) or not keep(by_line[number], value, clean_line(text)):
                            return f"{changed} (line {number} differs)"
        except (OSError, InputError, ValueError, RecursionError) as exc:
            return f"cannot read {self.context.path} again: {exc}"
        for pos in wanted:
            if pos not in out:
                return f"{changed} (line {int(lines[pos])} is gone)"
        return out

    def finish(self) -> Iterator[Finding]:
        import numpy as np

        a = self._arrays()
        n = a["n"]
        lines, first, unique = a["lines"], a["first"], a["unique"]
        threshold = float(self.options["threshold"])
        conflict_below = float(self.options["conflict_below"])
        stats: DuplicatesStats = {
            "records": n, "scope": self.options["scope"], "threshold": threshold,
            "exact_duplicates": int(n - unique.sum()), "exact_groups": 0,
            "near_duplicates": 0, "clusters": 0, "largest_cluster": 0, "candidate_pairs": 0,
            "conflicts": 0,
        }
        self.metrics = {"duplicates": stats}
        if n:
            stats["exact_groups"] = int(len(np.unique(first[~unique])))
        for pos in np.flatnonzero(~unique):
            of = int(lines[first[pos]])
            yield self._at(
                "DUP001", int(lines[pos]), f"exact duplicate of line {of}",
                "remove the repeated example; duplicates over-weight what they repeat", {"of": of},
            )

        near_pairs = np.zeros((0, 2), dtype=np.int64)
        if self.options["near"] and n:
            ids = np.flatnonzero(unique & a["valid"])
            from ..minhash import candidate_pairs

            near_pairs = candidate_pairs(a["keys"][ids], ids)
        conflict_pairs = np.zeros((0, 2), dtype=np.int64)
        if self.options["conflicts"] and n:
            conflict_pairs = _conflict_pairs(a["context"], a["answer"], unique)
        stats["candidate_pairs"] = int(len(near_pairs))

        leaks = list(self._leaks()) if self._train else []
        if not len(near_pairs) and not len(conflict_pairs):
            yield from leaks
            return
        texts = self.reread([int(p) for p in np.unique(near_pairs)], [int(p) for p in np.unique(conflict_pairs)])
        if isinstance(texts, str):
            yield self._at("DUP006", None, f"near-duplicate and conflict checks skipped: {texts}")
            yield from leaks
            return

        sim = similarity
        conversation = self.options["scope"] == "conversation"
        context = a["context"]
        pairs: list[tuple[int, int]] = [(int(i), int(j)) for i, j in near_pairs]
        for i, j in conflict_pairs:
            i, j = int(i), int(j)
            ti, tj = texts[i], texts[j]
            s = sim(ti.answer or "", tj.answer or "")
            if s >= conflict_below:
                pairs.append((i, j))  # same prompt, a reworded answer: maybe a near-duplicate
                continue
            stats["conflicts"] += 1
            yield self._at(
                "DUP003", int(lines[j]),
                f"same prompt as line {int(lines[i])} with a different answer (answer similarity {shown(s)})",
                "keep one answer per prompt, or make the prompts say what differs",
                {"of": int(lines[i]), "answer_similarity": round(s, 3)},
            )
        near_set = set(np.unique(near_pairs).tolist())
        missing = sorted({p for pair in pairs for p in pair if p not in near_set})
        if missing:  # reworded answers to one prompt: their whole texts are needed after all
            more = self.reread(missing)
            if isinstance(more, str):
                yield self._at("DUP006", None, f"near-duplicate and conflict checks skipped: {more}")
                yield from leaks
                return
            texts.update(more)

        parent: dict[int, int] = {}

        def root(x: int) -> int:
            while parent.get(x, x) != x:
                parent[x] = parent.get(parent[x], parent[x])
                x = parent[x]
            return x

        # verified scores above the cutoff are exact (and symmetric): the listing below reuses them
        scores: dict[tuple[int, int], float] = {}
        for i, j in pairs:
            ti, tj = texts[i], texts[j]
            if conversation:
                if context[i] and context[i] == context[j] and sim(ti.answer or "", tj.answer or "") < conflict_below:
                    continue  # a conflict, reported above
                if sim(ti.system, tj.system, score_cutoff=threshold) < threshold:
                    continue
            score = sim(ti.scope, tj.scope, score_cutoff=threshold)
            if score >= threshold:
                scores[i, j] = score
                ri, rj = root(i), root(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
        clusters: dict[int, list[int]] = {}
        for x in list(parent):
            clusters.setdefault(root(x), []).append(x)
        summary = []
        for rep, members in sorted(clusters.items()):
            members = sorted(m for m in members if m != rep)
            if not members:
                continue
            size = len(members) + 1
            listed = []
            for m in members:
                s = scores.get((rep, m)) or scores.get((m, rep)) or sim(texts[m].scope, texts[rep].scope)
                listed.append({"line": int(lines[m]), "similarity": round(s, 3)})
                yield self._at(
                    "DUP002", int(lines[m]),
                    f"near-duplicate of line {int(lines[rep])} (similarity {shown(s)}, cluster of {size:,})",
                    "keep one example of each cluster, or make the examples differ in substance",
                    {"of": int(lines[rep]), "similarity": round(s, 3), "cluster_size": size},
                )
            summary.append({"representative": int(lines[rep]), "size": size, "members": listed})
        stats["clusters"] = len(summary)
        stats["near_duplicates"] = sum(c["size"] - 1 for c in summary)
        stats["largest_cluster"] = max((c["size"] for c in summary), default=0)
        summary.sort(key=lambda c: (-c["size"], c["representative"]))
        stats["top_clusters"] = summary[:TOP_CLUSTERS]
        yield from leaks

    def _leaks(self) -> Iterator[Finding]:
        """Validation records that are exact or near duplicates of a training record."""
        import numpy as np

        a = self._arrays()
        lines = a["lines"]
        threshold = float(self.options["threshold"])
        leaked = np.zeros(a["n"], dtype=bool)
        exact_count = near_count = 0
        for train in self._train:
            t = train._arrays()
            if not t["n"] or not a["n"]:
                continue
            order = np.argsort(t["exact"], kind="stable")
            sorted_exact = t["exact"][order]
            pos = np.searchsorted(sorted_exact, a["exact"])
            hit = pos < len(sorted_exact)
            hit[hit] = sorted_exact[pos[hit]] == a["exact"][hit]
            for i in np.flatnonzero(hit & ~leaked):
                line = int(t["lines"][order[pos[i]]])
                exact_count += 1
                yield self._at(
                    "DUP004", int(lines[i]), f"also in training file {train.context.path} at line {line}",
                    "remove it from one of the two files; shared examples make the validation loss meaningless",
                    {"training_file": train.context.path, "training_line": line},
                )
            leaked |= hit
        if self.options["near"]:
            from ..minhash import cross_pairs
            sim = similarity
            conversation = self.options["scope"] == "conversation"
            for train in self._train:
                t = train._arrays()
                if not t["n"] or not a["n"] or not len(t["valid"]) or not len(a["valid"]):
                    continue
                ids = np.flatnonzero(a["valid"] & ~leaked)
                tids = np.flatnonzero(t["valid"] & t["unique"])
                pairs = cross_pairs(a["keys"][ids], ids, t["keys"][tids], tids)
                if not len(pairs):
                    continue
                mine = self.reread(sorted({int(p) for p in pairs[:, 0]}))
                theirs = train.reread(sorted({int(p) for p in pairs[:, 1]}))
                for problem in (mine, theirs):
                    if isinstance(problem, str):
                        yield self._at("DUP006", None, f"near-duplicate leakage check skipped: {problem}")
                if isinstance(mine, str) or isinstance(theirs, str):
                    continue
                best: dict[int, tuple[float, int]] = {}
                for i, j in pairs:
                    i, j = int(i), int(j)
                    ti, tj = mine[i], theirs[j]
                    if conversation and sim(ti.system, tj.system, score_cutoff=threshold) < threshold:
                        continue
                    s = sim(ti.scope, tj.scope, score_cutoff=threshold)
                    if s >= threshold and (i not in best or (s, -j) > (best[i][0], -best[i][1])):
                        best[i] = (s, j)
                for i, (s, j) in sorted(best.items()):
                    line = int(t["lines"][j])
                    near_count += 1
                    leaked[i] = True
                    yield self._at(
                        "DUP005", int(lines[i]),
                        f"near-duplicate of training file {train.context.path} line {line} (similarity {shown(s)})",
                        "remove it from one of the two files; near-copies make the validation loss meaningless",
                        {"training_file": train.context.path, "training_line": line, "similarity": round(s, 3)},
                    )
        stats = self.metrics.setdefault("duplicates", {})
        stats["leaked_exact"] = exact_count
        stats["leaked_near"] = near_count


def path_is_array(path: str) -> bool:
    """Whether a dataset is a .json file (an array, re-read by record rather than by line)."""
    return Path(path).suffix.lower() == ".json"


def _first_of(values: np.ndarray) -> np.ndarray:
    """For every position, the position of the first equal value."""
    import numpy as np

    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    sv = values[order]
    new = np.ones(n, dtype=bool)
    new[1:] = sv[1:] != sv[:-1]
    head = order[np.maximum.accumulate(np.where(new, np.arange(n), 0))]
    first = np.empty(n, dtype=np.int64)
    first[order] = head
    return first


def _conflict_pairs(context: np.ndarray, answer: np.ndarray, unique: np.ndarray) -> np.ndarray:
    """(first, other) pairs of unique records with the same context but a different answer."""
    import numpy as np

    ids = np.flatnonzero(unique & (context != 0))
    if len(ids) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    first = ids[_first_of(context[ids])]
    other = (first != ids) & (answer[first] != answer[ids])
    return np.stack((first[other], ids[other]), axis=1).astype(np.int64)
