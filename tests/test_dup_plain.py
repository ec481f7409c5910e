"""The duplicates validator's fast path for plain chat records (``plain_chat``, contents taken as
normal and checked by the sketch) keeps exactly what the reference mode keeps, and finds the same."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dsqa import check, load_config
from dsqa.formats import CHAT
from dsqa.model import Record
from dsqa.validators import DatasetContext
from dsqa.validators.duplicates import DuplicatesValidator
from dsqa.validators.duplicates import validator as dup_validator
from dsqa.validators.duplicates.plain import plain_chat

ROOT = Path(__file__).resolve().parent.parent
CONFIG = load_config("default")
LONG = " ".join(f"word{i % 997}" for i in range(120_000))  # over a MiB: the sketch reads only its start


def _chat(*turns: tuple[Any, Any], **more: Any) -> dict[str, Any]:
    return {"messages": [{"role": r, "content": c} for r, c in turns], **more}


#: records of every shape, each with a plain twin that is its exact duplicate once normalised (or None)
EDGES: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
    (_chat(("system", "Be brief."), ("user", "Hi there"), ("assistant", "Hello")), None),
    (_chat(("user", "Hi  there"), ("assistant", "Hello")), _chat(("user", "Hi there"), ("assistant", "Hello"))),
    (_chat(("user", " Hi"), ("assistant", "Hello")), _chat(("user", "Hi"), ("assistant", "Hello"))),
    (_chat(("user", "Hi "), ("assistant", "Hello")), _chat(("user", "Hi"), ("assistant", "Hello"))),
    (_chat(("user", "Hi"), ("assistant", "Hello ")), _chat(("user", "Hi"), ("assistant", "Hello"))),
    (_chat(("user", "Hi"), ("assistant", "Hel  lo"), ("user", "Bye")), _chat(("user", "Hi"), ("assistant", "Hel lo"), ("user", "Bye"))),
    (_chat(("system", "Be  brief."), ("user", "Hi"), ("assistant", "Ok")), _chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Ok"))),
    (_chat(("system", " Be brief."), ("user", "Hi"), ("assistant", "Ok")), _chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Ok"))),
    (_chat(("system", "Be brief. "), ("user", "Hi"), ("assistant", "Ok")), _chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Ok"))),
    (_chat(("developer", "Be  brief."), ("user", "Hi"), ("assistant", "Ok")), _chat(("developer", "Be brief."), ("user", "Hi"), ("assistant", "Ok"))),
    (_chat(("system", "Only  a system prompt ")), _chat(("system", "Only a system prompt"))),
    (_chat(("system", "")), None),
    (_chat(("user", ""), ("assistant", "Hello")), None),
    (_chat(("user", "Hi"), ("assistant", "")), None),
    (_chat(("user", "Hi"), ("assistant", "A"), ("user", "B"), ("assistant", "C  D"), ("user", "E"), ("user", "F")),
     _chat(("user", "Hi"), ("assistant", "A"), ("user", "B"), ("assistant", "C D"), ("user", "E"), ("user", "F"))),
    (_chat(("assistant", "I start."), ("user", "Ok  then")), _chat(("assistant", "I start."), ("user", "Ok then"))),
    (_chat(("user", "No reply at all")), None),
    (_chat(("system", "A"), ("system", "B"), ("user", "Hi"), ("assistant", "Ok")), None),
    (_chat(("user", "Hi"), ("system", "Late"), ("assistant", "Ok")), None),
    (_chat(("user", "Hi"), ("tool", "[1,  2]"), ("assistant", "ok")), None),
    (_chat(("user", "Hi"), ("tool", '{"temp": 21}'), ("assistant", "ok")), None),  # compared by its values
    (_chat(("user", "Hi"), ("function", "[1, 2]"), ("assistant", "ok")), None),
    (_chat(("user", "Hi"), ("function", "42"), ("assistant", "ok")), None),
    (_chat(("user", "Hi"), ("assistant", "Hello"), tools=[{"type": "function"}]), None),
    (_chat(("user", "Hi"), (None, "Hello")), None),
    (_chat(("user", "Hi"), ("assistant", None)), None),
    (_chat(("user", "Hi"), ("assistant", [{"type": "text", "text": "Hello"}])), None),
    ({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0}]}, None),
    ({"messages": [{"content": "Hi", "role": "user"}, {"content": "Hello", "role": "assistant"}]}, None),
    ({"messages": [{"role": "user", "content": "Hi"}, {"content": "Hello"}]}, None),
    ({"messages": [{"role": "user", "content": "Hi"}, ["assistant", "Hello"]]}, None),
    ({"messages": [{"role": "user", "content": "Hi"}, "He"]}, None),
    ({"messages": [{"role": "user", "content": "Hi"}, 7]}, None),
    ({"messages": []}, None),
    ({"messages": "Hi"}, None),
    (_chat(("user", "a  " + LONG), ("assistant", "Ok")), _chat(("user", "a " + LONG), ("assistant", "Ok"))),
    (_chat(("user", "Caf\u00e9  au lait"), ("assistant", "Oui")), _chat(("user", "Caf\u00e9 au lait"), ("assistant", "Oui"))),
    (_chat(("user", "Two\nlines"), ("assistant", "Ok")), _chat(("user", "Two lines"), ("assistant", "Ok"))),
]


def _records(values: list[dict[str, Any]]) -> list[Record]:
    out = []
    for i, value in enumerate(values):
        raw = json.dumps(value).encode()
        out.append(Record(path="t.jsonl", line=i + 1, raw=raw, value=value, index=i, format=CHAT))
    return out


def _state(values: list[dict[str, Any]], reference: bool, **options: Any) -> list[Any]:
    """What a validator keeps of these records: digests per record, band keys and the valid mask."""
    v = DuplicatesValidator({**CONFIG.options("duplicates"), **options}, DatasetContext("t.jsonl", reference=reference))
    for r in _records(values):
        v.check(r)
    v._sketch()
    return [v._exact.tolist(), v._context.tolist(), v._answer.tolist(), v._keys.tolist(), bytes(v._valid)]


@pytest.mark.parametrize("near", [True, False])
def test_the_fast_path_keeps_what_the_reference_mode_keeps(near: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    values = [v for pair in EDGES for v in pair if v is not None]
    taken = []
    monkeypatch.setattr(dup_validator, "plain_chat", lambda *a: taken.append(plain_chat(*a)) or taken[-1])
    assert _state(values, False, near=near) == _state(values, True, near=near)
    fast = [t for t in taken if t is not None]
    assert len(fast) > 20 and any(b"  " in t[3] for t in fast)  # the fast path took plain and unnormal records
    # batches that end anywhere: the records made again are found by their place in the batch
    monkeypatch.setattr(dup_validator, "BATCH", 3)
    assert _state(values, False, near=near) == _state(values, True, near=near)


def test_twins_are_exact_duplicates_on_either_path(tmp_path: Path) -> None:
    rng = random.Random(3)
    values: list[dict[str, Any]] = []
    for value, twin in EDGES:
        values.append(value)
        if twin is not None:
            values.append(twin)
    rng.shuffle(values)
    path = tmp_path / "edges.jsonl"
    path.write_text("".join(json.dumps(v) + "\n" for v in values), "utf-8")
    normal, reference = (check([path], CONFIG, reference=ref) for ref in (False, True))
    assert [f.to_dict() for f in normal.findings] == [f.to_dict() for f in reference.findings]
    twins = sum(twin is not None for _, twin in EDGES)
    assert sum(f.code == "DUP001" for f in normal.findings) >= twins


def test_generated_records_with_doubled_spaces_find_the_same(tmp_path: Path) -> None:
    """Benchmark records, some with a space doubled in one turn: exact, near and conflicting copies are found alike."""
    out = tmp_path / "chat.jsonl"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "600", str(out)], check=True, cwd=ROOT,
                   capture_output=True)
    rng = random.Random(5)
    lines = []
    for raw in out.read_text("utf-8").splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            lines.append(raw)
            continue
        if isinstance(value, dict) and isinstance(value.get("messages"), list) and rng.random() < 0.3:
            turn = rng.choice([m for m in value["messages"] if isinstance(m, dict)] or [{}])
            if isinstance(turn.get("content"), str) and " " in turn["content"]:
                turn["content"] = turn["content"].replace(" ", "  ", 1)
        lines.append(json.dumps(value))
    lines += lines[:40]  # exact copies of records, some of which have a doubled space
    path = tmp_path / "spaced.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    normal, reference = (check([path], CONFIG, reference=ref) for ref in (False, True))
    assert [f.to_dict() for f in normal.findings] == [f.to_dict() for f in reference.findings]
    codes = {f.code for f in normal.findings}
    assert {"DUP001", "DUP002", "DUP003"} <= codes
