"""The duplicates validator's fast path for a clean line (ASCII digests from one join) gives what the general path gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dsqa.formats import CHAT, COMPLETION
from dsqa.validators.duplicates.texts import _digest, _Normaliser, clean_line, digests, texts_of

ROOT = Path(__file__).resolve().parent.parent


def _chat(*turns: tuple[Any, Any], **more: Any) -> dict[str, Any]:
    return {"messages": [{"role": r, "content": c} for r, c in turns], **more}


#: records of every shape the turns take (each with whether plain-text turns alone make it; all on clean lines)
EDGES: list[tuple[dict[str, Any], bool]] = [
    (_chat(("system", "Be brief."), ("user", "Hi there"), ("assistant", "Hello")), True),
    (_chat(("user", "Hi"), ("assistant", "Hello"), ("user", "Bye"), ("assistant", "Ciao")), True),
    (_chat(("user", "No reply")), True),
    (_chat(("assistant", "I start."), ("user", "Ok")), True),
    (_chat(("user", "Hi"), ("assistant", "Hello"), tools=[{"type": "function"}]), True),  # extras
    (_chat(("user", "Hi  there"), ("assistant", "Hello")), False),  # a double space
    (_chat(("user", " Hi"), ("assistant", "Hello")), False),  # a leading space
    (_chat(("user", "Hi"), ("assistant", "Hello ")), False),  # a trailing space
    (_chat(("user", "Hi "), ("assistant", "Hello")), False),  # a trailing space inside
    (_chat(("user", ""), ("assistant", "Hello")), False),  # an empty content
    (_chat(("user", "Hi"), ("assistant", "")), False),
    (_chat(("user", "Hi"), ("tool", "[1, 2]"), ("assistant", "ok")), False),  # a tool's result
    (_chat(("user", "Hi"), ("function", "42"), ("assistant", "ok")), False),
    (_chat(("user", "Hi"), (None, "Hello")), False),  # a role that is no string
    (_chat(("user", "Hi"), (7, "Hello")), False),
    (_chat(("user", "Hi"), ("assistant", None)), False),  # a content that is no string
    (_chat(("user", "Hi"), ("assistant", [{"type": "text", "text": "Hello"}])), False),
    ({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0}]}, False),
    ({"messages": [{"role": "user", "content": "Hi"}, {"content": "Hello"}]}, False),  # no role
    ({"messages": [{"role": "user", "content": "Hi"}, ["assistant", "Hello"]]}, False),  # a turn that is no dict
    ({"messages": [{"role": "user", "content": "Hi"}, "Hello"]}, False),
    ({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "tool_calls": [{"id": "c1"}]}]}, False),
    ({"messages": [{"role": "user", "content": "Hi"}, {"content": "Hello", "tool_calls": []}]}, False),
    ({"messages": []}, True),
]


def _same(value: dict[str, Any], fmt: str) -> tuple[Any, ...]:
    """The texts and digests of a record by the fast path (a clean line) and by the general one; they must agree."""
    raw = json.dumps(value).encode()
    norm = _Normaliser(False)
    fast = texts_of(value, fmt, "conversation", norm, clean_line(raw))
    general = texts_of(value, fmt, "conversation", norm, False)
    assert not general.ascii
    fields = ("exact", "scope", "system", "context", "answer", "plain")
    assert [getattr(fast, f) for f in fields] == [getattr(general, f) for f in fields]
    assert digests(fast) == digests(general)
    exact, context, answer = digests(fast)
    assert exact == _digest(fast.exact)
    if fast.context is not None and fast.answer is not None:
        assert context == _digest(fast.context)
        assert answer == _digest((*fast.context, f"<assistant> {fast.answer}"))
    return fast.ascii, digests(fast)


@pytest.mark.parametrize(("value", "plain"), EDGES)
def test_the_fast_path_gives_the_general_paths_texts_and_digests(value: dict[str, Any], plain: bool) -> None:
    assert clean_line(json.dumps(value).encode())
    ascii, _ = _same(value, CHAT)
    assert ascii is True  # a clean line: the one-join digests were taken
    if plain:  # plain-text turns are compared as they are
        t = texts_of(value, CHAT, "conversation", _Normaliser(False), True)
        assert t.exact[:-1] == tuple(f"<{m['role']}> {m['content']}" for m in value["messages"])


def test_the_fast_path_on_completions_and_non_ascii_records() -> None:
    assert _same({"prompt": "2+2?", "completion": "4"}, COMPLETION)[0] is True
    assert _same({"prompt": "2+2?", "completion": 4}, COMPLETION)[0] is True
    # not ASCII: the general digests (the line is not clean, so the general turns too)
    value = _chat(("user", "Caf\u00e9?"), ("assistant", "Oui, caf\u00e9 \u2615"))
    assert not clean_line(json.dumps(value, ensure_ascii=False).encode())
    t = texts_of(value, CHAT, "conversation", _Normaliser(False), False)
    assert not t.ascii and digests(t)[0] == _digest(t.exact)


def test_the_fast_path_agrees_on_generated_benchmark_records(tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "400", str(out)], check=True, cwd=ROOT,
                   capture_output=True)
    fast = 0
    for raw in out.read_bytes().splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("messages"), list):
            fast += _same(value, CHAT)[0]
    assert fast > 300  # the fast path is the common one: the comparison is not vacuous


def test_equal_texts_get_equal_digests_on_either_path() -> None:
    # a record whose double space normalises away is an exact copy of the plain one
    plain = _chat(("user", "Hi there"), ("assistant", "Hello"))
    spaced = _chat(("user", "Hi  there"), ("assistant", " Hello"))
    norm = _Normaliser(False)
    a = texts_of(plain, CHAT, "conversation", norm, True)
    b = texts_of(spaced, CHAT, "conversation", norm, True)
    assert a.ascii and b.ascii
    assert digests(a) == digests(b) == digests(texts_of(spaced, CHAT, "conversation", norm, False))
