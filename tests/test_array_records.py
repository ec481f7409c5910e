"""Records of a JSON array on one line: findings name the record, and clean rejects only the bad one, with its content."""

from __future__ import annotations

import json
from pathlib import Path

from dsqa.config import load_config
from dsqa.convert.clean import clean_file
from dsqa.engine import check
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
    assert reject["line"] == 1 and reject["record"] == 2 and reject["codes"] == ["SCH010"]
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
