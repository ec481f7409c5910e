"""Split a dataset into train and validation files so that duplicates never straddle the split."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, UsageError
from ..model import Finding
from ..outputs import AtomicOutput, commit_together
from ..reading import read_records
from ..stats import DatasetStats, cluster_links
from ..textnorm import squash
from .base import dumps

TRAIN_NAME = "train.jsonl"
VALIDATION_NAME = "validation.jsonl"


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return squash(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def content_hash(value: Any, raw: bytes = b"") -> bytes:
    """A hash equal for records that differ only in key order, case and runs of whitespace."""
    if value is None:
        data = raw
    else:
        data = json.dumps(_normalise(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.blake2b(data, digest_size=16).digest()


class _Groups:
    """Union-find over record indexes."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class SplitResult:
    """Counts of a split: read = train + validation."""

    read: int
    train: int
    validation: int
    grouped: int  # records that share a group with at least one other record
    groups: int  # groups of two or more records kept on one side
    target: int  # the validation size asked for; groups too big to fit can leave it short


def validation_target(total: int, validation: float) -> int:
    """How many records go to validation: a fraction below 1, or a count."""
    if validation <= 0:
        raise UsageError("--validation must be above 0: a fraction such as 0.1 or a count such as 100")
    if validation < 1:
        return max(1, round(total * validation)) if total > 1 else 0
    if validation != int(validation):
        raise UsageError("--validation above 1 is a number of records and must be whole")
    if int(validation) >= total:
        raise UsageError(f"--validation {int(validation)} leaves no training records (the file has {total})")
    return int(validation)


def check_targets(src: Path, out_dir: Path) -> None:
    """Refuse a split whose output files would replace its own input."""
    for name in (TRAIN_NAME, VALIDATION_NAME):
        if (out_dir / name).resolve() == Path(src).resolve():
            raise UsageError(f"{src}: the split would write {name} over its own input; give another -o directory")


def _group(src: Path, kwargs: dict[str, Any], links: Iterable[tuple[int, int]],
           record_links: Iterable[tuple[int, int]] = ()) -> _Groups:
    """One group per record, joined for equal normalised content and for each link (of lines, or
    of a JSON array's record indexes: a line that several records share links none of them)."""
    groups = _Groups()
    first_of: dict[bytes, int] = {}
    index_of_line: dict[int, int] = {}
    index_of_record: dict[int, int] = {}
    shared: set[int] = set()
    for rec in read_records(Path(src), str(src), **kwargs):
        if rec.index < 0:
            continue
        if rec.value is None and not rec.raw:
            # an over-long line is not kept in memory, so it could not be written back
            problem = rec.problems[0].message if rec.problems else "not read"
            raise InputError(f"{src}: line {rec.line}: {problem}; remove it first (dsqa clean)")
        i = groups.add()
        if rec.line in index_of_line:
            shared.add(rec.line)
        index_of_line[rec.line] = index_of_record[rec.index] = i
        first = first_of.setdefault(content_hash(rec.value, rec.raw), i)
        if first != i:
            groups.union(first, i)
    for a, b in links:
        if a in index_of_line and b in index_of_line and not {a, b} & shared:
            groups.union(index_of_line[a], index_of_line[b])
    for a, b in record_links:
        if a in index_of_record and b in index_of_record:
            groups.union(index_of_record[a], index_of_record[b])
    return groups


def _choose(members: dict[int, list[int]], total: int, target: int, seed: int) -> bytearray:
    """1 for each record that goes to validation: shuffled groups, taken while they fit ``target``."""
    order = sorted(members)
    random.Random(seed).shuffle(order)
    in_validation = bytearray(total)
    taken = 0
    for root in order:
        size = len(members[root])
        if taken + size <= target:
            for i in members[root]:
                in_validation[i] = 1
            taken += size
        if taken == target:
            break
    return in_validation


def _write(src: Path, out_dir: Path, kwargs: dict[str, Any], in_validation: bytearray) -> list[int]:
    """Write both files atomically; the records written to train and to validation."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = [0, 0]
    with AtomicOutput(out_dir / TRAIN_NAME) as train, AtomicOutput(out_dir / VALIDATION_NAME) as valid:
        i = 0
        for rec in read_records(Path(src), str(src), **kwargs):
            if rec.index < 0:
                continue
            side = in_validation[i]
            data = rec.raw if rec.raw else dumps(rec.value).encode("utf-8")
            (valid if side else train).write_line(data)
            counts[side] += 1
            i += 1
        commit_together([train, valid])
    return counts


def split_file(
    src: Path,
    out_dir: Path,
    validation: float,
    seed: int,
    *,
    links: Iterable[tuple[int, int]] = (),
    record_links: Iterable[tuple[int, int]] = (),
    max_line_bytes: int | None = None,
) -> SplitResult:
    """Write ``out_dir/train.jsonl`` and ``out_dir/validation.jsonl`` from ``src``.

    Records with the same normalised content, and records that ``links`` (pairs of line numbers,
    e.g. near-duplicates found by a validator) or ``record_links`` (pairs of a JSON array's
    record indexes) join, form groups that go to one side together.
    Groups are shuffled with ``seed`` and taken into validation while they fit the target size,
    so the same input and seed always give the same files. Records keep their file order and,
    for JSONL, their exact bytes.
    """
    check_targets(src, out_dir)
    kwargs: dict[str, Any] = {} if max_line_bytes is None else {"max_line_bytes": max_line_bytes}
    groups = _group(src, kwargs, links, record_links)
    total = len(groups.parent)
    target = validation_target(total, validation)
    members: dict[int, list[int]] = {}
    for i in range(total):
        members.setdefault(groups.find(i), []).append(i)
    counts = _write(src, out_dir, kwargs, _choose(members, total, target, seed))
    big = [m for m in members.values() if len(m) > 1]
    return SplitResult(total, counts[0], counts[1], sum(len(m) for m in big), len(big), target)


def duplicate_links(findings: Iterable[Finding], stats: DatasetStats | None = None) -> list[tuple[int, int]]:
    """Pairs of lines (the smaller first) that the duplicates validator says belong together.

    Read from each DUP finding at a line whose ``data`` names the line it repeats (``of``:
    exact duplicates, near-duplicates, conflicting answers), and from the near-duplicate
    clusters in ``stats.duplicates.top_clusters``, which are there even when the DUP002
    findings are ignored.
    """
    links: list[tuple[int, int]] = []
    for f in findings:
        if f.code.startswith("DUP") and f.line is not None and f.data and isinstance(f.data.get("of"), int):
            links.append((f.line, f.data["of"]))
    # a link is a pair either way round, and a finding and a cluster often name the same one
    return list(dict.fromkeys((min(a, b), max(a, b)) for a, b in links + cluster_links(stats)))


def duplicate_record_links(findings: Iterable[Finding]) -> list[tuple[int, int]]:
    """Pairs of a JSON array's record indexes (the smaller first) that DUP findings join: in a
    one-line array every record has line 1, and only ``data.record`` and ``data.of_record`` tell them apart."""
    links = [(f.data["record"], f.data["of_record"]) for f in findings if f.code.startswith("DUP") and f.data
             and isinstance(f.data.get("record"), int) and isinstance(f.data.get("of_record"), int)]
    return list(dict.fromkeys((min(a, b), max(a, b)) for a, b in links))
