"""The reader's prefilters (``may_repeat_key`` and the raw-text tests of RDR013 and RDR014) change
nothing: read with them, every record equals what the reference read (the pairs hook on every
record, every raw-text test off) makes of it, on generated records and on the demo sets."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsqa import check, load_config, reading
from dsqa.model import Record
from dsqa.reading import may_repeat_key, read_records

REAL = Path("/work/shared/data/real/llamafactory")
DEMOS = sorted(REAL.glob("*.json"))


class Obj(NamedTuple):
    """A JSON object as written: its pairs, in which a key may repeat."""

    pairs: list[tuple[str, Any]]


class Raw(NamedTuple):
    """JSON text written as it is (a number too large, an escape json.dumps does not write)."""

    text: str


#: keys few enough to repeat, with colons, quotes and backslashes in them
KEYS = st.sampled_from(["a", "b", "role", "a:b", ":", 'q"', 'q":', "\\", "x\\\"", "é", "\\u", " a "])
STRINGS = st.sampled_from([
    "", "plain", "10:30", "Note: see http://x.org/a?b=c:d", '"quoted": text', 'he said \\": no', "\\", "\\\\\":",
    "a\nb", "naïve: café", "😀:", "{\"inner\": \"json\"}", "[1, [2]]", "\\ud800 is text here", "::::",
]) | st.text(alphabet=':"\\{}[] ab\n', max_size=8)
RAWS = st.sampled_from([
    "1e400", "-2e999", "1.5e3", '"\\ud800"', '"\\uDC00x"', '"\\ud83d\\ude00"', '"\\u003a"', '"a\\u003Ab"', '"\\/"',
])
LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | STRINGS | RAWS.map(Raw)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.lists(st.tuples(KEYS, inner), max_size=4).map(Obj),
    max_leaves=16,
)
RECORDS = st.lists(st.tuples(KEYS, VALUES), max_size=5).map(Obj)


class Style(NamedTuple):
    """How a record is written: escapes, and the blanks around colons and commas."""

    ascii: bool
    colon: str
    comma: str
    escape_colons: bool


def _text(node: Any, style: Style) -> str:
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Obj):
        body = style.comma.join(_string(k, style) + style.colon + _text(v, style) for k, v in node.pairs)
        return "{" + body + "}"
    if isinstance(node, list):
        return "[" + style.comma.join(_text(v, style) for v in node) + "]"
    if isinstance(node, str):
        return _string(node, style)
    return json.dumps(node)


def _string(text: str, style: Style) -> str:
    out = json.dumps(text, ensure_ascii=style.ascii)
    # no JSON escape holds a ':', so each one in the token is a character of the string
    return out.replace(":", "\\u003a") if style.escape_colons else out


LINE_STYLES = st.builds(Style, st.booleans(), st.sampled_from([":", ": ", " : ", "\t:", " :\t"]),
                        st.sampled_from([",", ", ", " , "]), st.booleans())
ARRAY_STYLES = st.builds(Style, st.booleans(), st.sampled_from([":", ": ", "\n:\t", " \r\n: "]),
                         st.sampled_from([",", ",\n  ", "\n,"]), st.booleans())


def _seen(records: list[Record]) -> list[tuple[Any, ...]]:
    return [(r.line, r.index, repr(r.value), r.raw, [(p.code, p.message, p.line, p.pointer, p.data) for p in r.problems])
            for r in records]


def assert_same(path: Path) -> list[tuple[Any, ...]]:
    """Both modes read ``path`` alike; what they read."""
    fast = _seen(list(read_records(path)))
    assert fast == _seen(list(read_records(path, reference=True))), path.read_bytes()[:2000]
    return fast


def _codes(seen: list[tuple[Any, ...]]) -> list[list[str]]:
    return [[p[0] for p in r[4]] for r in seen if r[1] >= 0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(RECORDS, LINE_STYLES), min_size=1, max_size=6))
def test_lines_read_alike_in_both_modes(tmp_path: Path, rows: list[tuple[Obj, Style]]) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes("".join(_text(record, style) + "\n" for record, style in rows).encode("utf-8"))
    assert_same(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(RECORDS, min_size=1, max_size=5), ARRAY_STYLES)
def test_array_elements_read_alike_in_both_modes(tmp_path: Path, records: list[Obj], style: Style) -> None:
    path = tmp_path / "data.json"
    path.write_text("[\n  " + ",\n  ".join(_text(record, style) for record in records) + "\n]\n", encoding="utf-8")
    assert_same(path)


def _write(tmp_path: Path, suffix: str, records: list[str]) -> Path:
    path = tmp_path / f"data{suffix}"
    body = "\n".join(records) + "\n" if suffix == ".jsonl" else "[\n" + ",\n".join(records) + "\n]\n"
    path.write_text(body, encoding="utf-8")
    return path


_MESSAGE = '{"messages": [{"role": "user", "content": %s}, {"role": "assistant", "content": "Hello."}]}'
#: each record the only witness of some part of a prefilter, and the codes both modes give it
WITNESSES = [
    # lists nested in a message, where the colons are as many as the keys near the top ('[' in may_repeat_key)
    (_MESSAGE % ("[" * 110 + "]" * 110), ["RDR014"]),
    (_MESSAGE % ("[" * 97 + "]" * 97), []),  # 3 + 97 levels: at the limit
    # nesting that only the full count sees ('[' and '{' in _may_nest_deep)
    ('{"a": ' + "[" * 110 + "]" * 110 + "}", ["RDR014"]),
    ('{"a": ' * 110 + "1" + "}" * 110, ["RDR014"]),
    # a key twice, in nested objects too, with colons in strings around it
    ('{"a": 1, "a": 2}', ["RDR011"]),
    ('{"messages": [{"role": "user", "role": "assistant", "content": "at 10:30"}]}', ["RDR011"]),
    ('{"x": {"k": "Note: a", "k": "b"}, "y": [{"u": "http://a"}]}', ["RDR011"]),
    ('{"a" : 1 , "a"\t: 2}', ["RDR011"]),
    # a colon written as an escape in a string balances a key twice ('\\u003' in may_repeat_key)
    ('{"a": 1, "a": 2, "b": "\\u003a"}', ["RDR011"]),
    ('{"a": 1, "a": 2, "b": "\\u003A"}', ["RDR011"]),
    ('{"a": "\\u003a", "b": "x:y"}', []),
    # lone surrogates, written in either case (the backslash test and each alternative of _SURROGATE_ESCAPE)
    (_MESSAGE % '"\\ud800"', ["RDR013"]),
    (_MESSAGE % '"\\uDC00"', ["RDR013"]),
    (_MESSAGE % '"\\ud83d\\ude00 paired"', []),
    # a number too large wins over a key twice
    ('{"a": 1, "a": 2, "n": 1e400}', ["RDR012"]),
]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
@pytest.mark.parametrize(("text", "codes"), WITNESSES)
def test_each_witness_is_found_in_both_modes(tmp_path: Path, suffix: str, text: str, codes: list[str]) -> None:
    seen = assert_same(_write(tmp_path, suffix, [text]))
    assert _codes(seen) == [codes]


@pytest.mark.parametrize("demo", DEMOS, ids=lambda p: p.name)
def test_demo_sets_read_alike_in_both_modes(tmp_path: Path, demo: Path) -> None:
    """As the arrays they are, and as JSONL lines, with and without \\u escapes."""
    records = json.loads(demo.read_text("utf-8"))
    assert len(assert_same(demo)) == len(records)
    for ensure_ascii in (False, True):
        lines = [json.dumps(r, ensure_ascii=ensure_ascii) for r in records]
        assert _codes(assert_same(_write(tmp_path, ".jsonl", lines))) == [[]] * len(records)


@pytest.mark.parametrize("demo", DEMOS, ids=lambda p: p.name)
def test_no_demo_record_is_read_twice(demo: Path) -> None:
    """The prefilter lets every demo record through, as JSONL and in the array as it is written,
    though most hold colons in their strings: none is parsed a second time."""
    text = demo.read_text("utf-8")
    decoder, pos, elements = json.JSONDecoder(), text.index("[") + 1, 0
    while True:
        while text[pos] in " \t\r\n,":
            pos += 1
        if text[pos] == "]":
            break
        value, end = decoder.raw_decode(text, pos)
        assert not may_repeat_key(text, value, pos, end), text[pos:end]
        for ensure_ascii in (False, True):
            assert not may_repeat_key(json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8"), value)
        elements, pos = elements + 1, end
    assert elements == len(json.loads(text))


@pytest.mark.parametrize("kind", [bytes, str])
def test_the_first_count_decides_a_record_with_no_colon_in_its_strings(kind: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chat record with no colon in its text is let through by the colons and keys near the top,
    without the full count; one with colons in its strings, by the full count."""
    def written(text: str) -> Any:
        return text.encode("utf-8") if kind is bytes else text

    plain = _MESSAGE % '"Hi there"'
    calls: list[int] = []
    monkeypatch.setattr(reading, "keys_and_colons", lambda value: calls.append(1) or -1)
    assert not may_repeat_key(written(plain), json.loads(plain))
    assert calls == []
    monkeypatch.undo()
    colons = _MESSAGE % '"Note: at 10:30, see http://example.org"'
    assert not may_repeat_key(written(colons), json.loads(colons))
    twice = colons.replace('"role"', '"content"', 1)  # the first message holds "content" twice
    assert may_repeat_key(written(twice), json.loads(twice))


def test_the_engine_reports_alike_in_both_modes(tmp_path: Path) -> None:
    path = _write(tmp_path, ".jsonl", [text for text, _ in WITNESSES] + [_MESSAGE % '"Note: 10:30"'])
    config = load_config("default")
    fast = [f.to_dict() for f in check([path], config).findings]
    assert fast == [f.to_dict() for f in check([path], config, reference=True).findings]
    assert sorted({f["code"] for f in fast if f["code"].startswith("RDR")}) == ["RDR011", "RDR012", "RDR013", "RDR014"]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_records_nested_near_the_recursion_limit_read_alike(tmp_path: Path, suffix: str) -> None:
    """Around the depth where the parser gives up (the pairs hook takes one more frame than the
    C scanner alone), each record is what the reference read makes of it."""
    limit = sys.getrecursionlimit()
    records = ['{"a": ' * d + "1" + "}" * d for d in range(limit - 250, limit + 2)]
    seen = assert_same(_write(tmp_path, suffix, records))
    codes = {code for r in _codes(seen) for code in r}
    assert codes == {"RDR014", "RDR001"}  # an array is not read past its first RDR001


#: lines the C scanner alone does not read (or reads to no object), and what both modes say of each
BROKEN_LINES = [
    (b'{"a": "x\x00y"}', ["RDR007"]),  # NUL in a string: no JSON text holds one, so the parse fails first
    (b'{"a": 1}\x00', ["RDR007"]),
    (b'{"a": "\xff\x00"}', ["RDR007"]),  # a NUL byte wins over invalid UTF-8, as it did before the parse came first
    (b'{"a": "\xff"}', ["RDR002"]),
    (b'{"a": 1}   ', []),  # blanks after the object: the hooked decoder reads them
    (b'  {"a": 1, "a": 2}', ["RDR011"]),
    (b'{"a": 1}{"b": 2}', ["RDR001"]),
    (b'{"a": "unterminated', ["RDR001"]),
    (b'{"a": NaN}', ["RDR001"]),
    (b'[1e400, {"a": 1, "a": 2}]', ["RDR006"]),
    (b'"text"', ["RDR006"]),
    (b"null", ["RDR006"]),
]


@pytest.mark.parametrize(("line", "codes"), BROKEN_LINES)
def test_lines_that_do_not_parse_read_alike_in_both_modes(tmp_path: Path, line: bytes, codes: list[str]) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"ok": 1}\n' + line + b"\n")
    assert _codes(assert_same(path)) == [[], codes]
