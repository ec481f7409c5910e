"""`--jobs N` gives exactly the report of `--jobs 1`: findings, lines, counts and stats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsqa import check, engine, load_config
from helpers import ROOT, chat, run_cli


def _mixed_file(path: Path, n: int = 3000) -> Path:
    defects = (ROOT / "sample_data" / "defects.jsonl").read_bytes().split(b"\n")[:-1]
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf")
        for i in range(n):
            ending = b"\r\n" if i % 301 == 7 else b"\n"
            f.write(json.dumps(chat(i)).encode() + ending)
            if i % 97 == 0:
                f.write(defects[(i // 97) % len(defects)] + b"\n")
            if i % 1000 == 999:
                f.write(b"   \n")
            if i == 2500:  # duplicates of records from the first span, for the duplicates validator
                near = chat(10)
                near["messages"][-1]["content"] += " Thanks for asking!"
                f.write(json.dumps(chat(3)).encode() + b"\n" + json.dumps(near).encode() + b"\n")
        f.write(json.dumps({"prompt": "a", "completion": "b"}).encode())  # last line, no newline
    return path


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_report_equals_sequential(tmp_path: Path, jobs: int) -> None:
    path = _mixed_file(tmp_path / "mixed.jsonl")
    config = load_config("default")
    one = check([path], config, jobs=1).to_dict()
    many = check([path], config, jobs=jobs).to_dict()
    assert many == one
    codes = {f["code"] for f in one["findings"]}
    assert {"RDR003", "RDR004", "RDR005", "RDR001", "FMT002", "SCH003", "DUP001", "DUP002"} <= codes
    crlf = [f for f in one["findings"] if f["code"] == "RDR004"]
    assert len(crlf) == 1 and crlf[0]["data"] == {"lines": 10}
    # stateful validators whose stats must merge exactly (tests/test_diversity.py stresses the sample)
    assert "diversity" in one["datasets"][0]["stats"]


def test_parallel_token_findings_and_stats_equal_sequential(tmp_path: Path) -> None:
    """Token totals and nearest-rank percentiles merge exactly; over-limit findings keep their lines."""
    path = tmp_path / "tokens.jsonl"
    records = [chat(i) for i in range(2000)]
    for i in range(0, 2000, 37):
        records[i]["messages"][1]["content"] = "word " * (10 + i % 50)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nmodel: gpt-4.1-mini\nreference_date: 2026-11-01\nvalidators:\n  tokens:\n    max_tokens: 50\n", "utf-8")
    config = load_config(pack)
    one = check([path], config, jobs=1).to_dict()
    many = check([path], config, jobs=2).to_dict()
    assert many == one
    lines = [f["line"] for f in one["findings"] if f["code"] == "TOK001"]
    assert lines and lines == sorted(lines) and all((line - 1) % 37 == 0 for line in lines)
    stats = one["datasets"][0]["stats"]["tokens"]
    assert stats["examples"] == 2000 and stats["over_limit"] == len(lines)


def test_parallel_spans_keep_record_index(tmp_path: Path) -> None:
    from dsqa.reading import read_records
    from dsqa.spans import split_lines

    path = _mixed_file(tmp_path / "mixed.jsonl", 1500)
    whole = [(r.line, r.index) for r in read_records(path) if r.index >= 0 or r.problems[0].code != "RDR004"]
    spans = split_lines(path, 7)
    assert len(spans) == 7
    pieces = [(r.line, r.index) for s in spans for r in read_records(path, span=s) if r.index >= 0 or r.problems[0].code != "RDR004"]
    assert pieces == whole


def test_cli_jobs_flag(tmp_path: Path) -> None:
    path = _mixed_file(tmp_path / "mixed.jsonl", 200)
    one = run_cli("check", str(path), "--jobs", "1", "--format", "json")
    # the subprocess uses the real 4 MiB threshold, so also check the flag is validated
    assert one.returncode == 1
    assert run_cli("check", str(path), "--jobs", "0").returncode == 2
