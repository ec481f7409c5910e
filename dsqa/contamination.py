"""Benchmark contamination: word n-gram indexes of evaluation sets, and a vectorised lookup of training texts in them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DsqaError

#: a shingle is this many consecutive words: long enough that two unrelated texts share none
SHINGLE_WORDS = 8
#: the bundled index of public benchmarks (GSM8K test, HumanEval), built by `dsqa index build`
BUNDLED = Path(__file__).parent / "data" / "contamination" / "public.npz"
_FORMAT = "dsqa-contamination-index/1"
_POSITION = [np.uint64(c) for c in (
    0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x2545F4914F6CDD1D, 0x94D049BB133111EB,
)]
#: a run is kept when the hash of its first word has these top bits zero: one run in four,
#: chosen by content, so the index and the data keep the same runs (and do a quarter of the work)
_SAMPLE_SHIFT = np.uint64(62)
_SAMPLE_MUL = np.uint64(0xD1B54A32D192ED03)
#: the low ``n`` bytes of a little-endian 64-bit word, for a word of ``n`` bytes
_WORD_MASK = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
#: bits of the presence filter that every lookup goes through before the exact search
_FILTER_BITS = 21


#: ASCII punctuation and control bytes become spaces (UTF-8 sequences of other scripts are kept)
_SPACES = bytes(b if (48 <= b <= 57 or 97 <= b <= 122 or b >= 128) else 32 for b in range(256))
#: the same for ASCII text, with upper-case letters lowered: one pass over its bytes
_ASCII_WORDS = bytes(b + 32 if 65 <= b <= 90 else _SPACES[b] for b in range(256))
#: the typographic quotes and dashes that stand for ASCII ones, so "Janet’s" is "Janet's"
_TYPOGRAPHIC = str.maketrans({"\u2018": " ", "\u2019": " ", "\u201c": " ", "\u201d": " ", "\u2013": " ", "\u2014": " "})


def normalise(text: str) -> bytes:
    """Lower case, punctuation and spaces as spaces: what shingles are made of.

    Byte-level (a regex over Unicode classes cost 150 µs a record): ASCII punctuation, the usual
    typographic quotes and dashes, and white space separate words; letters of any script do not.
    """
    if text.isascii():  # the common case; the same bytes as the general path below
        return text.encode("ascii").translate(_ASCII_WORDS)
    lowered = text.lower()
    if not lowered.isascii():
        lowered = lowered.translate(_TYPOGRAPHIC)
    # runs of spaces are left: ``shingles`` starts a word after a space only where a non-space
    # follows (splitting and joining here cost 11 µs a record)
    return lowered.encode("utf-8").translate(_SPACES)


def _mix(x: np.ndarray) -> np.ndarray:
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def shingles(texts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The 64-bit hashes of the sampled runs of ``SHINGLE_WORDS`` words of each normalised text,
    and the index of the text each one comes from. A word is read as the 8 bytes from its start."""
    k = SHINGLE_WORDS
    n = len(texts)
    if n == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    # a space before each text and NUL padding after it: every word starts after a space, and no
    # 8-byte read reaches into the next text
    buf = b" " + b"\0\0\0\0\0\0\0\0 ".join(texts) + b"\0" * 8
    data = np.frombuffer(buf, dtype=np.uint8)
    # a word is a run of bytes that are neither space nor padding (``normalise`` leaves no NUL);
    # the buffer starts and ends outside a word, so its edges alternate: start, end, start, end...
    word = (data != 32) & (data != 0)
    edges = np.flatnonzero(word[1:] != word[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    m = len(starts)
    if m < k:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    # the text each word is in, from the number of words each text holds
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    begin = np.cumsum(lengths + 9) - lengths - 8
    owner = np.repeat(np.arange(n), np.diff(np.searchsorted(starts, begin), append=m))
    grams = np.ndarray((len(data) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    # a word is its own bytes only, up to 8: what follows it (how many spaces, which word) must not
    # change it, or "day. she" and "day she" would differ
    tokens = grams[starts] & _WORD_MASK[np.minimum(ends - starts, 8)]
    with np.errstate(over="ignore"):
        first = np.flatnonzero(((tokens[: m - k + 1] * _SAMPLE_MUL) >> _SAMPLE_SHIFT) == 0)
        h = tokens[first] * _POSITION[0]
        for j in range(1, k):
            h += tokens[first + j] * _POSITION[j]
        h = _mix(h)
    whole = owner[first] == owner[first + k - 1]  # the run stays within one text
    return h[whole], owner[first][whole]


@dataclass(frozen=True)
class Item:
    """One text of an evaluation set: which set, which item, and a few words of it."""

    benchmark: str
    #: the item's id, or its line in the evaluation file
    name: str
    #: which text of the item: question, answer, prompt, canonical_solution, …
    part: str
    excerpt: str
    shingles: int


class Index:
    """Shingle hashes of evaluation items, searched with a presence filter and a sorted array."""

    def __init__(self, hashes: np.ndarray, owners: np.ndarray, items: list[Item], source: str) -> None:
        order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[order]
        self.owners = owners[order]
        self.items = items
        self.source = source
        self.filter = np.zeros(1 << _FILTER_BITS, dtype=bool)
        self.filter[self.hashes >> np.uint64(64 - _FILTER_BITS)] = True

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each hash that an item has: its position in ``hashes`` and the item (an index into ``items``).

        A hash that several items share yields one pair per item.
        """
        maybe = np.flatnonzero(self.filter[hashes >> np.uint64(64 - _FILTER_BITS)])
        if not len(maybe):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        found = hashes[maybe]
        lo = np.searchsorted(self.hashes, found, side="left")
        hi = np.searchsorted(self.hashes, found, side="right")
        hit = hi > lo
        positions, los, his = maybe[hit], lo[hit], hi[hit]
        counts = his - los
        at = np.repeat(positions, counts)
        slots = np.concatenate([np.arange(a, b) for a, b in zip(los, his)]) if len(los) else np.zeros(0, np.int64)
        return at, self.owners[slots].astype(np.int64)

    def save(self, path: Path) -> None:
        """Write the index as a compressed numpy archive (no pickles)."""
        meta = {
            "format": _FORMAT, "shingle_words": SHINGLE_WORDS, "source": self.source,
            "items": [[i.benchmark, i.name, i.part, i.excerpt, i.shingles] for i in self.items],
        }
        from .outputs import AtomicOutput

        with AtomicOutput(path) as out:
            np.savez_compressed(out.file, hashes=self.hashes, owners=self.owners.astype(np.uint32),
                                meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))
            out.commit()

    @classmethod
    def load(cls, path: Path) -> Index:
        """Read an index written by ``save``; a one-line error for anything else."""
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
                hashes, owners = npz["hashes"], npz["owners"]
        except FileNotFoundError:
            raise DsqaError(f"{path}: contamination index not found") from None
        except (OSError, ValueError, KeyError) as exc:
            raise DsqaError(f"{path}: not a dsqa contamination index ({exc}); build one with `dsqa index build`") from None
        if meta.get("format") != _FORMAT or meta.get("shingle_words") != SHINGLE_WORDS:
            raise DsqaError(f"{path}: a contamination index of another format; build it again with `dsqa index build`")
        items = [Item(b, n, p, e, int(s)) for b, n, p, e, s in meta["items"]]
        return cls(hashes.astype(np.uint64), owners.astype(np.int64), items, str(meta.get("source") or path))


def build(parts: Iterable[tuple[str, str, str, str]], source: str) -> Index:
    """An index of (benchmark, item name, part, text) texts; texts too short for one shingle are left out."""
    items: list[Item] = []
    texts: list[bytes] = []
    for benchmark, name, part, text in parts:
        norm = normalise(text)
        if len(norm.split()) < SHINGLE_WORDS:
            continue
        excerpt = " ".join(text.split())
        # a few words name the item in findings; the index holds no more of the evaluation text
        items.append(Item(benchmark, name, part, excerpt if len(excerpt) <= 40 else excerpt[:39] + "…", 0))
        texts.append(norm)
    hashes, owners = shingles(texts)
    # count distinct shingles per item: a phrase said twice in an item counts once
    pairs = np.unique(np.stack([owners.astype(np.uint64), hashes]), axis=1) if len(hashes) else np.zeros((2, 0), np.uint64)
    owners, hashes = pairs[0].astype(np.int64), pairs[1]
    counts = np.bincount(owners, minlength=len(items))
    items = [Item(i.benchmark, i.name, i.part, i.excerpt, int(c)) for i, c in zip(items, counts)]
    return Index(hashes, owners, items, source)


def parts_of_file(path: Path, benchmark: str | None = None) -> Iterator[tuple[str, str, str, str]]:
    """(benchmark, item name, part, text) for each text of each record of an evaluation file.

    GSM8K (question, answer) and HumanEval (prompt, canonical_solution) are read by their
    fields; a chat record gives its user turns and its assistant turns; any other record gives
    each of its string fields. The item is named by its id field (task_id, id, name) or its line.
    """
    from .reading import read_records

    benchmark = benchmark or path.name.split(".")[0]
    for rec in read_records(path, str(path)):
        if rec.index < 0:
            continue
        if not isinstance(rec.value, dict):
            raise DsqaError(f"{path}:{rec.line}: not a JSON object; an evaluation file holds one object per record")
        value = rec.value
        label = next((str(value[k]) for k in ("task_id", "id", "name") if isinstance(value.get(k), (str, int))), None)
        name = label or f"line {rec.line:,}"
        for field, text in _texts_of(value):
            yield benchmark, name, field, text


def _texts_of(value: dict[str, Any]) -> Iterator[tuple[str, str]]:
    known = (("question", "answer"), ("prompt", "canonical_solution"))
    for fields in known:
        if all(isinstance(value.get(f), str) for f in fields):
            for f in fields:
                yield f, value[f]
            return
    messages = value.get("messages")
    if isinstance(messages, list):
        for role, label in (("user", "prompt"), ("assistant", "answer")):
            texts = [m["content"] for m in messages
                     if isinstance(m, dict) and m.get("role") == role and isinstance(m.get("content"), str)]
            if texts:
                yield label, "\n".join(texts)
        return
    for key, text in value.items():
        if isinstance(text, str):
            yield key, text
