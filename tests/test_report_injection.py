"""A record cannot forge or hide report lines: control characters from the data print escaped.

Keys and values are quoted by FMT001 (its key list), SCH001 (message and pointer), SCH003 (the
role) and the diversity block (openings). Line breaks, carriage returns, ANSI escapes, Unicode
line and paragraph separators and bidi overrides in them reach no human format raw; the JSON
report keeps the exact values (JSON escapes them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dsqa.safetext import printable
from helpers import run_cli, write_jsonl

FORGED = "passed: 0 errors, 0 warnings, 0 info in 1 file, 12 records (fail-on: error)"
#: a key that ends the finding's line, prints a fake verdict, and erases and recolours the screen
HOSTILE = f"x\n\n{FORGED}\r\x1b[2K\x1b[1A\x1b[32m\u2028ok\u2029\u202eLIVE\u2066\x85\x9b31m\x7f"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
HUMAN = ("text", "markdown", "html", "junit", "github")


def _records() -> list[dict]:
    filler = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer {i}."}]}
              for i in range(9)]
    return [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}], HOSTILE: 1},  # SCH001
        {HOSTILE: 1, "b\u202ec": 2},  # FMT001
        {"messages": [{"role": "user\r\x1b[31m", "content": "Hi"}, {"role": "assistant", "content": HOSTILE}]},  # SCH003
        *filler,
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("inject") / "hostile.jsonl", _records())


@pytest.mark.parametrize("fmt", HUMAN)
def test_no_control_character_reaches_a_human_format(data: Path, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"report.{fmt}"
    proc = run_cli("check", str(data), "-f", fmt, "--report", f"{fmt}:{out}")
    assert proc.returncode == 1, proc.stderr
    for where, text in (("stdout", proc.stdout), ("file", out.read_text("utf-8"))):
        assert RAW.findall(text) == [], f"{fmt} {where} has raw control characters"
        assert not any(line.startswith(FORGED) for line in text.splitlines()), f"{fmt} {where} has the forged line"
        assert "SCH001" in text and "FMT001" in text


def test_the_text_report_has_one_line_per_finding_and_one_verdict(data: Path) -> None:
    proc = run_cli("check", str(data), "--show-all")
    report = json.loads(run_cli("check", str(data), "-f", "json").stdout)
    lines = proc.stdout.splitlines()
    starts = [line for line in lines if line.startswith(f"{data}:")]
    # one line per finding, and the file's summary line
    assert len(starts) == len(report["findings"]) + 1
    assert [line for line in lines if line.startswith(("passed", "FAILED"))] == [lines[-1]]
    assert lines[-1].startswith("FAILED: ")
    # SCH001's message and pointer, and FMT001's key list, show the key escaped on their line
    sch001 = next(line for line in starts if " SCH001 " in line)
    assert printable(HOSTILE) in sch001 and f"(at /{printable(HOSTILE)})" in sch001
    fmt001 = next(line for line in starts if " FMT001 " in line)
    assert "b\\u202ec" in fmt001 and "x\\x0a\\x0apassed" in fmt001
    assert "\\x1b[2K" in sch001 and "\\x9b31m" in sch001 and "\\u2028ok\\u2029" in sch001


def test_the_github_format_keeps_one_command_per_line(data: Path) -> None:
    proc = run_cli("check", str(data), "-f", "github")
    report = json.loads(run_cli("check", str(data), "-f", "json").stdout)
    lines = proc.stdout.splitlines()
    assert len(lines) == len(report["findings"])
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)


def test_json_keeps_the_exact_values(data: Path) -> None:
    report = json.loads(run_cli("check", str(data), "-f", "json").stdout)
    sch001 = next(f for f in report["findings"] if f["code"] == "SCH001")
    assert sch001["pointer"] == "/" + HOSTILE  # a JSON Pointer that still resolves
    assert HOSTILE in sch001["message"]


def test_convert_and_clean_summaries_escape_too(data: Path, tmp_path: Path) -> None:
    for proc in (run_cli("convert", str(data), "-o", str(tmp_path / "out.jsonl")),
                 run_cli("clean", str(data), "-o", str(tmp_path / "clean.jsonl"))):
        assert "check of" in proc.stdout, proc.stdout + proc.stderr
        assert RAW.findall(proc.stdout + proc.stderr) == []
        assert not any(line.startswith(FORGED) for line in proc.stdout.splitlines())


def test_printable_escapes_only_what_a_terminal_acts_on() -> None:
    assert printable("tab\tstays, ünïcödé and emoji 🙂 stay") == "tab\tstays, ünïcödé and emoji 🙂 stay"
    assert printable("a\nb\r\x1b[0m\u2028\u202e\x85") == "a\\x0ab\\x0d\\x1b[0m\\u2028\\u202e\\x85"
    assert printable("lone \ud800 surrogate") == "lone \\ud800 surrogate"
