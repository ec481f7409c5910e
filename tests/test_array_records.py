"""Records of a JSON array on one line: findings name the record, and clean rejects only the bad one, with its content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsqa.config import load_config
from dsqa.convert.clean import clean_file
from dsqa.engine import check
from dsqa.model import Severity
from tests.helpers import run_cli


def _chat(question: str, answer: str | None) -> dict:
    messages = [{"role": "user", "content": question}]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return {"messages": messages}


ROWS = [
    _chat("Wie spät ist es in Tokio, wenn es in Berlin 9 Uhr ist?", "In Tokio ist es dann 17 Uhr (Winterzeit)."),
    _chat("¿Cuál es la capital de Australia?", "La capital de Australia es Canberra."),
    _chat("用一句话解释光合作用。", None),  # no reply: SCH010, an error
    _chat("What does HTTP 418 mean?", "It is the joke status code \"I'm a teapot\" from RFC 2324."),
    _chat("Name a prime number above 100.", "101 is the smallest prime number above 100."),
]


def _one_line(tmp_path: Path) -> Path:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(ROWS, ensure_ascii=False), encoding="utf-8")  # json.dump's own layout: one line
    return path


def test_a_finding_in_a_one_line_array_names_its_record(tmp_path: Path) -> None:
    report = check([_one_line(tmp_path)], load_config("default"))
    [sch010] = [f for f in report.findings if f.code == "SCH010"]
    assert sch010.line == 1 and sch010.data == {"record": 2}
    assert "光合作用" in (sch010.excerpt or "")  # the excerpt is of that record, not of the first on the line


def test_the_text_report_says_which_record(tmp_path: Path) -> None:
    result = run_cli("check", str(_one_line(tmp_path)))
    assert result.returncode == 1, result.stderr
    assert "data.json:1 (record 2): SCH010 error" in result.stdout


def test_clean_rejects_only_the_bad_record_of_a_one_line_array_and_keeps_its_content(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = clean_file(_one_line(tmp_path), out, None, load_config("default"))
    assert (result.read, result.kept, result.rejected) == (5, 4, 1)
    kept = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert kept == [ROWS[0], ROWS[1], ROWS[3], ROWS[4]]
    [reject] = [json.loads(line) for line in result.rejects_path.read_text(encoding="utf-8").splitlines()]
    assert reject["line"] == 1 and reject["index"] == 2 and reject["codes"] == ["SCH010"]
    assert json.loads(reject["text"]) == ROWS[2]


def test_a_pretty_printed_array_names_records_too(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    text = json.dumps(ROWS, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line == "  {"]  # each element's first line
    report = check([path], load_config("default"))
    [sch010] = [f for f in report.findings if f.code == "SCH010"]
    assert (sch010.line, sch010.data) == (starts[2], {"record": 2})


def test_the_size_limit_of_an_array_element_counts_bytes_not_characters(tmp_path: Path) -> None:
    """600 Cyrillic letters are 1,200 bytes: over a 1,000-byte limit, though under it in characters."""
    long_reply = _chat("Напиши длинный ответ.", "я" * 600)
    path = tmp_path / "data.json"
    path.write_text(json.dumps([ROWS[0], long_reply, ROWS[1]], ensure_ascii=False, indent=1), encoding="utf-8")
    pack = tmp_path / "pack.yaml"
    pack.write_text("validators:\n  reader:\n    max_line_bytes: 1000\n", encoding="utf-8")
    report = check([path], load_config(str(pack)))
    [over] = [f for f in report.findings if f.code == "RDR008"]
    assert over.data is not None and over.data["record"] == 1 and over.data["bytes"] > 1000
    assert report.datasets[0].records == 3


def test_an_element_after_an_oversized_one_is_read_whatever_the_read_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The oversized element's end may be the last character of a read: the next element was taken as part of it."""
    from dsqa import reading

    big = _chat("Summarise this report.", "word " * 100)
    rows = [ROWS[0], big, ROWS[1], ROWS[3], big, ROWS[4]]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    for chunk in range(5, 70):
        monkeypatch.setattr(reading, "_CHUNK", chunk)
        records = list(reading.read_records(path, "data.json", max_line_bytes=300))
        assert [r.index for r in records] == list(range(6)), chunk
        assert [r.value for r in records if r.value is not None] == [ROWS[0], ROWS[1], ROWS[3], ROWS[4]], chunk


def test_clean_keeps_the_bytes_of_array_elements_the_reader_rejects(tmp_path: Path) -> None:
    """A number, and an object with a key twice: not parsed into a record the checks see, yet their text is kept."""
    twice = '{"messages": [{"role": "user", "content": "Hi"}], "messages": []}'
    good = [json.dumps(r, ensure_ascii=False) for r in ROWS[:2]]
    path = tmp_path / "data.json"
    path.write_text(f"[{good[0]}, 5, {twice}, {good[1]}]", encoding="utf-8")
    result = clean_file(path, tmp_path / "out.jsonl", None, load_config("default"))
    assert (result.read, result.kept, result.rejected) == (4, 2, 2)
    rejects = [json.loads(line) for line in result.rejects_path.read_text(encoding="utf-8").splitlines()]
    assert [(r["index"], r["codes"], r["text"]) for r in rejects] == [(1, ["RDR006"], "5"), (2, ["RDR011", "SCH002"], twice)]


def test_a_contaminated_element_of_a_one_line_array_is_named_and_rejected_alone(tmp_path: Path) -> None:
    from dsqa.validators.contamination import ContaminationValidator

    leaked = json.loads(ContaminationValidator.codes["CTM001"].failing)
    path = tmp_path / "data.json"
    path.write_text(json.dumps([ROWS[0], leaked, ROWS[1]], ensure_ascii=False), encoding="utf-8")
    report = check([path], load_config("default"))
    [ctm] = [f for f in report.findings if f.code == "CTM001"]
    assert ctm.line == 1 and ctm.data is not None and ctm.data["record"] == 1
    assert ctm.fingerprint is not None and "Janet" in (ctm.excerpt or "")
    result = clean_file(path, tmp_path / "out.jsonl", None, load_config("default"), threshold=Severity.WARNING)
    assert (result.kept, result.rejected) == (2, 1)


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_every_rejected_element_knows_where_its_bytes_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """An array of strings (a common mistake) is thousands of rejected elements: each one's offset is
    worked out from the last one's, across reads that cut characters in two."""
    from dsqa import reading

    monkeypatch.setattr(reading, "_CHUNK", chunk)
    texts = [f"Antwort Nummer {i}: größer als {i - 1} — ✓" for i in range(2_000)]
    path = tmp_path / "strings.json"
    path.write_text("[\n" + ",\n".join(json.dumps(t, ensure_ascii=False) for t in texts) + "\n]", encoding="utf-8")
    data = path.read_bytes()
    records = list(reading.read_records(path, "strings.json"))
    assert len(records) == 2_000
    for record, text in zip(records, texts):
        span = reading.skipped_element(record)
        assert span is not None and record.problems[0].code == "RDR006"
        offset, size = span
        assert json.loads(data[offset:offset + size]) == text
