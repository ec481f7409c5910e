"""The reader streams: huge lines are skipped without stopping the run, and memory stays flat."""

from __future__ import annotations

import json
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from dsqa import check, load_config
from dsqa.outputs import write_atomic
from dsqa.reading import read_records, records_at
from dsqa.tokencount import get_encoding
from dsqa.validators import DatasetContext
from helpers import chat, write_jsonl


def test_fifty_megabyte_line_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    huge = json.dumps({"messages": [{"role": "user", "content": "x" * 50_000_000}]})
    with open(path, "w") as f:
        f.write(json.dumps(chat(1)) + "\n")
        f.write(huge + "\n")
        for i in range(2, 12):
            f.write(json.dumps(chat(i)) + "\n")
    get_encoding("o200k_base")  # the token vocabulary: a fixed cost, loaded once per process, not what this measures
    from dsqa.contamination import BUNDLED
    from dsqa.validators.contamination import _index

    _index(str(BUNDLED))  # the contamination index: the same kind of fixed cost
    tracemalloc.start()
    report = check([path], load_config("default"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [(f.code, f.line) for f in report.findings] == [("RDR008", 2)]
    assert report.findings[0].data == {"bytes": len(huge) + 1}
    assert report.datasets[0].records == 12
    assert peak < 40_000_000  # bounded by reader.max_line_bytes (32 MiB), not by the line


def _peak(fn: object) -> int:
    tracemalloc.start()
    fn()  # type: ignore[operator]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = write_jsonl(tmp_path / "small.jsonl", [chat(i) for i in range(2_000)])
    large = write_jsonl(tmp_path / "large.jsonl", [chat(i) for i in range(40_000)])
    counts: list[int] = []
    reader_small = _peak(lambda: counts.append(sum(1 for _ in read_records(small))))
    reader_large = _peak(lambda: counts.append(sum(1 for _ in read_records(large))))
    assert counts == [2_000, 40_000]
    assert reader_large < reader_small * 1.5 + 100_000, (reader_small, reader_large)

    few = write_jsonl(tmp_path / "few.jsonl", [chat(i) for i in range(200)])
    many = write_jsonl(tmp_path / "many.jsonl", [chat(i) for i in range(2_000)])
    reports: list[object] = []
    # the duplicates validator keeps ~100 bytes of hashes per record by design (its own memory
    # test is in test_duplicates.py): these records are too small to tell that from texts
    config = load_config("default")
    config.validators["duplicates"] = {"enabled": False}
    engine_few = _peak(lambda: reports.append(check([few], config)))
    engine_many = _peak(lambda: reports.append(check([many], config)))
    assert [r.datasets[0].records for r in reports] == [200, 2_000]  # type: ignore[attr-defined]
    assert all(r.findings == [] for r in reports)  # type: ignore[attr-defined]
    assert engine_many < engine_few * 1.5 + 200_000, (engine_few, engine_many)


def test_json_array_streams_with_element_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    records = [chat(i) for i in range(3000)]
    path.write_text(json.dumps(records, indent=2))
    seen = list(read_records(path))
    assert [r.index for r in seen] == list(range(3000))
    text_lines = path.read_text().splitlines()
    for r in seen[:50] + seen[-50:]:
        assert text_lines[r.line - 1] == "  {"
        assert r.value == records[r.index]


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    old_umask = os.umask(0o022)
    try:
        write_atomic(target, "new content")
    finally:
        os.umask(old_umask)
    assert target.read_text() == "new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


# -- one reader: what a re-read gives is what the first read gave ------------------------------

_A = json.dumps(chat(1)).encode()
_B = json.dumps(chat(2)).encode()
_C = json.dumps(chat(3)).encode()

REREAD_FILES = {
    "bom": b"\xef\xbb\xbf" + _A + b"\n" + _B + b"\n",
    "crlf": _A + b"\r\n" + _B + b"\r\n" + _C + b"\r\n",
    "mixed-endings": _A + b"\n" + _B + b"\r\n" + _C + b"\n",
    "blank-lines": b"\n" + _A + b"\n   \n\r\n" + _B + b"\n\n",
    "no-final-newline": _A + b"\n" + _B,
    "no-final-newline-crlf": _A + b"\r\n" + _B + b"\r",
    "bad-lines": _A + b'\n{"messages": [}\n\xff\xfe\n[1, 2]\n{"a": NaN}\n' + _B + b"\n",
    "bom-and-crlf-first-line": b"\xef\xbb\xbf" + _A + b"\r\n" + _B,
}


def _seen(record: object) -> tuple[object, ...]:
    r = record
    return (r.path, r.line, r.raw, r.value, [(p.code, p.line, p.message, p.data) for p in r.problems])  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(REREAD_FILES))
def test_a_reread_line_is_the_line_first_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(REREAD_FILES[name])
    first = [r for r in read_records(path) if r.index >= 0]
    assert first, name
    again = list(records_at(path, None, {r.line for r in first}))
    assert [_seen(r) for r in again] == [_seen(r) for r in first]
    for r in first:  # one line at a time, as findings are stamped
        assert [_seen(x) for x in records_at(path, None, {r.line})] == [_seen(r)]


def test_a_reread_array_element_is_the_element_first_read(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    records = [chat(i) for i in range(6)]
    text = "\ufeff[" + json.dumps(records[0]) + ", " + json.dumps(records[1]) + ",\r\n" + ",\n".join(
        json.dumps(r, indent=1) for r in records[2:]) + "\r\n]"
    path.write_bytes(text.encode())
    first = [r for r in read_records(path) if r.index >= 0]
    assert [r.index for r in first] == list(range(6)) and first[0].line == first[1].line == 1
    by_line = list(records_at(path, None, {first[3].line}))
    by_index = list(records_at(path, None, (), {1, 4}))
    assert [(r.index, _seen(r)) for r in by_line] == [(3, _seen(first[3]))]
    assert [(r.index, _seen(r)) for r in by_index] == [(1, _seen(first[1])), (4, _seen(first[4]))]


def test_one_json_array_test(tmp_path: Path) -> None:
    """A .json file is an array when its text starts with '['; a nameless input when it is one
    array of objects over many lines; a .jsonl file never (its array gets RDR010)."""
    from dsqa.reading import file_kind

    pretty = json.dumps([chat(1), chat(2)], indent=2).encode()
    one_line = json.dumps([chat(1), chat(2)]).encode() + b"\n"
    cases = {
        ("a.json", pretty): (True, None), ("a.json", b"\xef\xbb\xbf  " + one_line): (True, None),
        ("a.json", _A + b"\n"): (False, None), ("a", pretty): (True, None), ("a", one_line): (False, None),
        ("a.jsonl", pretty): (False, "RDR010"), ("a.jsonl", one_line): (False, None), ("a.jsonl", b"[\n"): (False, None),
    }
    for (name, data), (array, wrong) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        kind = file_kind(path)
        assert (kind.array, kind.wrong.code if kind.wrong else None) == (array, wrong), (name, data[:20])


def test_duplicates_reread_by_the_reader_equals_its_own(tmp_path: Path) -> None:
    """reading.reread_duplicates, which DuplicatesValidator.reread delegates to on merge, returns
    what today's reread returns, for the candidates of a real check, JSONL and JSON array."""
    from dsqa.reading import reread_duplicates
    from dsqa.validators.duplicates import DuplicatesValidator

    records = []
    for i in range(40):
        records.append(chat(i))
        if i % 5 == 0:  # near-duplicates and a conflicting answer, so that there are candidates
            near = chat(i)
            near["messages"][-1]["content"] += " Thanks for asking, have a nice day!"
            other = chat(i)
            other["messages"][-1]["content"] = "I would rather not say."
            records += [near, other]
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(json.dumps(r).encode() for r in records) + b"\n\n")
    array = tmp_path / "data.json"
    array.write_text(json.dumps(records, indent=1))
    compared: list[int] = []
    own = DuplicatesValidator.reread

    def both(self: DuplicatesValidator, positions: list[int], answers_only: list[int] = ()) -> object:  # type: ignore[assignment]
        mine = own(self, positions, answers_only)
        assert reread_duplicates(self, positions, answers_only) == mine
        compared.append(len(mine))
        return mine

    DuplicatesValidator.reread = both  # type: ignore[method-assign]
    try:
        for path in (jsonl, array):
            check([path], load_config("default"))
    finally:
        DuplicatesValidator.reread = own  # type: ignore[method-assign]
    assert len(compared) >= 2 and all(n > 0 for n in compared)
    validator = DuplicatesValidator(load_config("default").options("duplicates"), DatasetContext(str(jsonl)))
    for record in read_records(jsonl):
        if record.value is not None:
            record.format = "openai-chat"
            validator.check(record)
    assert sorted(reread_duplicates(validator, [0, 7, 8])) == [0, 7, 8]  # type: ignore[arg-type]
    jsonl.write_bytes(jsonl.read_bytes().replace(b"What is 5 plus", b"What is 6 plus"))  # changed since the first read
    assert reread_duplicates(validator, [0, 7, 8]) == f"{jsonl} changed while it was being checked (line 8 differs)"


def test_a_reread_applies_the_line_size_limit_of_the_first_read(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    short = b'{"a": "' + b"x" * 80 + b'"}'  # 89 bytes
    long = b'{"a": "' + b"x" * 200 + b'"}'
    path.write_bytes(short + b"\r\n" + long + b"\n" + long + b"\r\n" + short + b"\n" + long)
    first = [r for r in read_records(path, max_line_bytes=100) if r.index >= 0]
    assert [p.code for r in first for p in r.problems] == ["RDR008", "RDR008", "RDR008"]
    again = list(records_at(path, None, {1, 2, 3, 4, 5}, max_line_bytes=100))
    assert [_seen(r) for r in again] == [_seen(r) for r in first]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_what_the_parse_hooks_saw_names_the_first_of_each_kind(tmp_path: Path, suffix: str) -> None:
    """A number too large wins over a repeated key wherever they are; each finding names the first one."""
    lines = [
        '{"a": 1, "a": 2, "n": 1e400}',  # the key comes first, the number still wins
        '{"x": {"b": 1, "b": 2}, "a": 1, "a": 3}',  # two repeated keys: the first is named
        '{"n": 1e400, "m": -2e999}',
        '{"a": 1}',  # nothing seen on the line before stays
    ]
    path = tmp_path / f"data{suffix}"
    path.write_text("\n".join(lines) + "\n" if suffix == ".jsonl" else "[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    records = [r for r in read_records(path) if r.index >= 0]
    seen = [[(p.code, p.message.split(" is ")[0].split(" more ")[0]) for p in r.problems] for r in records]
    assert seen == [
        [("RDR012", "number 1e400")],
        [("RDR011", 'an object holds the key "b"')],
        [("RDR012", "number 1e400")],
        [],
    ]
