"""The bundled sample datasets: the clean files give no findings, and every line of defects.jsonl
gives exactly the codes documented in sample_data/README.md."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from dsqa import Severity, check, load_config

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
CHAT = SAMPLES / "chat_clean.jsonl"
PREFERENCE = SAMPLES / "preference_clean.jsonl"
DEFECTS = SAMPLES / "defects.jsonl"
README = SAMPLES / "README.md"

ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([A-Z]{3}\d{3}(?:, [A-Z]{3}\d{3})*)\s*\|(.*)\|\s*$")
CODE = re.compile(r"^[A-Z]{3}\d{3}$")


def parse_table() -> dict[int, tuple[frozenset[str], str]]:
    """line -> (expected codes, defect text) from the defects table in the README."""
    rows: dict[int, tuple[frozenset[str], str]] = {}
    for text in README.read_text(encoding="utf-8").splitlines():
        m = ROW.match(text)
        if not m:
            continue
        line = int(m.group(1))
        codes = m.group(2).split(", ")
        assert all(CODE.match(c) for c in codes), text
        assert len(set(codes)) == len(codes), f"duplicate code in README row: {text}"
        assert line not in rows, f"README lists line {line} twice"
        rows[line] = (frozenset(codes), m.group(3).strip())
    return rows


TABLE = parse_table()
WARNING_ONLY = {line for line, (_, defect) in TABLE.items() if "(warning only)" in defect}


def file_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n") and b"\r" not in data
    return data[:-1].split(b"\n")


@pytest.fixture(scope="module")
def defects_report():
    return check([str(DEFECTS)], load_config("default"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dsqa", "check", *args],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


# --- the README table itself -------------------------------------------------------------------


def test_table_covers_every_line_of_defects_file():
    n = len(file_lines(DEFECTS))
    assert n >= 24
    assert sorted(TABLE) == list(range(1, n + 1))


def test_table_marks_the_warning_only_lines():
    # the blank line (RDR005) and the conversation that ends with a user turn (SCH016)
    assert WARNING_ONLY == {4, 23}
    assert TABLE[4][0] == {"RDR005"}
    assert TABLE[23][0] == {"SCH016"}


# --- defects.jsonl -----------------------------------------------------------------------------


@pytest.mark.parametrize("line", sorted(TABLE))
def test_defect_line_reports_exactly_the_documented_codes(defects_report, line):
    expected, defect = TABLE[line]
    at_line = [f for f in defects_report.findings if f.line == line]
    got = Counter(f.code for f in at_line)
    assert set(got) == expected, f"line {line} ({defect}): got {sorted(got)}, README says {sorted(expected)}"
    # each documented code is reported once, not repeated for the same defect
    assert all(n == 1 for n in got.values()), f"line {line}: {got}"
    assert all(f.path == str(DEFECTS) for f in at_line)


@pytest.mark.parametrize("line", sorted(TABLE))
def test_defect_line_severity(defects_report, line):
    severities = {f.severity for f in defects_report.findings if f.line == line}
    if line in WARNING_ONLY:
        assert severities == {Severity.WARNING}, f"line {line}: {severities}"
    else:
        assert Severity.ERROR in severities, f"line {line}: {severities}"


def test_no_findings_outside_the_table(defects_report):
    stray = [f for f in defects_report.findings if f.line not in TABLE]
    # this includes dataset-level findings (line None): the file has more than 10 records
    assert stray == []
    assert len(defects_report.findings) == sum(len(codes) for codes, _ in TABLE.values())


def test_defects_dataset_entry(defects_report):
    non_blank = [raw for raw in file_lines(DEFECTS) if raw.strip()]
    (dataset,) = defects_report.to_dict()["datasets"]
    assert dataset["format"] == "openai-chat"
    assert dataset["records"] == len(non_blank) == 27
    assert defects_report.passed is False
    warnings = sum(1 for f in defects_report.findings if f.severity == Severity.WARNING)
    # RDR005 on line 4, SCH016 on lines 16 and 23, DUP002 on line 21
    assert warnings == 4
    assert defects_report.summary() == {"error": len(defects_report.findings) - 4, "warning": 4, "info": 0}


def test_defects_cli_exit_code_and_json_match_api(defects_report):
    proc = run_cli("sample_data/defects.jsonl", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["passed"] is False
    cli = Counter((f["line"], f["code"]) for f in report["findings"])
    api = Counter((f.line, f.code) for f in defects_report.findings)
    assert cli == api
    assert {f["path"] for f in report["findings"]} == {"sample_data/defects.jsonl"}

    text = run_cli("sample_data/defects.jsonl")
    assert text.returncode == 1


# --- the clean files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data_format", "minimum"),
    [(CHAT, "openai-chat", 32), (PREFERENCE, "openai-preference", 12)],
    ids=["chat", "preference"],
)
def test_clean_file_has_no_findings(path, data_format, minimum):
    lines = file_lines(path)
    assert len(lines) >= minimum
    assert all(raw.strip() for raw in lines)
    report = check([str(path)], load_config("default"))
    assert [f.to_dict() for f in report.findings] == []
    assert report.summary() == {"error": 0, "warning": 0, "info": 0}
    assert report.passed is True
    (dataset,) = report.to_dict()["datasets"]
    assert dataset["path"] == str(path)
    assert dataset["format"] == data_format
    assert dataset["records"] == len(lines)


@pytest.mark.parametrize(
    ("rel", "data_format"),
    [("sample_data/chat_clean.jsonl", "openai-chat"), ("sample_data/preference_clean.jsonl", "openai-preference")],
    ids=["chat", "preference"],
)
def test_clean_file_cli_json_report(rel, data_format):
    proc = run_cli(rel, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["passed"] is True
    assert report["findings"] == []
    assert report["summary"] == {"error": 0, "warning": 0, "info": 0}
    (dataset,) = report["datasets"]
    assert dataset["format"] == data_format
    assert dataset["records"] == len(file_lines(ROOT / rel))


def test_chat_clean_cli_exit_code():
    proc = run_cli("sample_data/chat_clean.jsonl")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_chat_clean_covers_the_documented_features():
    records = [json.loads(raw) for raw in file_lines(CHAT)]
    with_tools = [r for r in records if "tools" in r]
    assert len(with_tools) >= 6
    for r in with_tools:
        calls = [c for m in r["messages"] if m["role"] == "assistant" for c in m.get("tool_calls", [])]
        answered = {m["tool_call_id"] for m in r["messages"] if m["role"] == "tool"}
        assert calls and {c["id"] for c in calls} == answered
        assert all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls)
    assert sum(1 for r in records if any(m.get("weight") == 0 for m in r["messages"])) >= 4
    assert sum(1 for r in records if r.get("parallel_tool_calls") is False) == 1
    assert any(
        isinstance(m["content"], list) and any(p["type"] == "image_url" for p in m["content"])
        for r in records for m in r["messages"] if m["role"] == "user"
    )
    assert sum(1 for r in records if any("name" in m for m in r["messages"])) >= 3
    assert all(r["messages"][-1]["role"] == "assistant" for r in records)
    assert max(sum(m["role"] == "user" for m in r["messages"]) for r in records) == 4
