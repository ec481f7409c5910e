"""A record's repeated problem is one finding per record and code, with its count (issue 14 D)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from dsqa import check, engine, load_config
from dsqa.engine import fold_repeats
from dsqa.model import Finding, Severity
from helpers import run_cli, write_jsonl

RECORDS = 500
TURNS = 6  # three user and three assistant messages, each with the same unknown key


def _record(i: int) -> dict:
    messages = []
    for turn in range(TURNS // 2):
        messages.append({"role": "user", "content": f"Question {turn} of conversation {i}: what is {i} times {turn}?",
                         "timestamp": f"2024-05-0{turn + 1}T10:00:00Z"})
        messages.append({"role": "assistant", "content": f"{i} times {turn} is {i * turn}.",
                         "timestamp": f"2024-05-0{turn + 1}T10:00:05Z"})
    return {"messages": messages}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("noise") / "timestamps.jsonl", [_record(i) for i in range(RECORDS)])


def test_one_finding_per_record_and_code_with_the_count(noisy: Path) -> None:
    report = check([noisy], load_config("default"))
    sch006 = [f for f in report.findings if f.code == "SCH006"]
    # 3,000 unexpected keys, one finding for each of the 500 records
    assert len(sch006) == RECORDS
    assert sorted(f.line for f in sch006) == list(range(1, RECORDS + 1))
    for f in sch006:
        assert f.data is not None and f.data["count"] == TURNS
        assert f.pointer == "/messages/0/timestamp"  # the first place in the record
        assert f.message == "unexpected key 'timestamp' in user message (and 5 more in this record)"
    assert report.summary()["error"] == RECORDS


def test_the_fold_is_the_same_in_workers_and_in_reference_mode(noisy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = check([noisy], load_config("default"))
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    parallel = check([noisy], load_config("default"), jobs=2)
    reference = check([noisy], load_config("default"), reference=True)
    want = [f.to_dict() for f in plain.findings]
    assert [f.to_dict() for f in parallel.findings] == want
    assert [f.to_dict() for f in reference.findings] == want


def test_the_json_report_carries_the_count(noisy: Path) -> None:
    proc = run_cli("check", str(noisy), "-f", "json")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert Counter(f["code"] for f in findings)["SCH006"] == RECORDS
    assert {f["data"]["count"] for f in findings if f["code"] == "SCH006"} == {TURNS}


def test_statistics_prints_one_line_per_code_with_count_and_severity(noisy: Path, tmp_path: Path) -> None:
    # two dataset-level findings and a record with two codes: counts are findings, not records
    records = [_record(i) for i in range(12)]
    records[3]["messages"][0]["role"] = "bot"
    records.append({"prompt": "Old style", "completion": " data"})
    data = write_jsonl(tmp_path / "mixed.jsonl", records)
    report = json.loads(run_cli("check", str(data), "-f", "json").stdout)
    proc = run_cli("check", str(data), "--statistics")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    by_code = Counter((f["code"], f["severity"]) for f in report["findings"])
    assert len(lines) == len(by_code) and len(lines) >= 3
    shown = {}
    for line in lines:
        m = re.fullmatch(r"\s*([\d,]+)  ([A-Z]{3}\d{3})\s+(error|warning|info)\s+(\S.*)", line)
        assert m, line
        shown[(m.group(2), m.group(3))] = int(m.group(1).replace(",", ""))
    assert shown == dict(by_code)
    assert shown[("SCH006", "error")] == 12  # one per record, though each has six unexpected keys
    # the most severe first, then the most frequent
    severities = [line.split()[2] for line in lines]
    order = {"error": 0, "warning": 1, "info": 2}
    assert severities == sorted(severities, key=order.__getitem__)


def _finding(code: str, line: int | None, pointer: str | None, data: dict | None = None) -> Finding:
    return Finding(code, Severity.ERROR, f"{code} problem", "v", "d.jsonl", line, pointer, data=data)


def test_fold_repeats_keeps_file_findings_and_sums_counts() -> None:
    findings = [
        _finding("SEC001", 4, "/messages/10/content", {"kind": "openai_key", "count": 2}),
        _finding("SEC001", 4, "/messages/2/content", {"kind": "aws_access_key", "count": 1}),
        _finding("SEC001", 5, "/messages/0/content"),
        _finding("DST001", None, None),
        _finding("DST001", None, None),
        _finding("SEC003", 4, "/messages/3/content"),
    ]
    folded = fold_repeats(findings)
    assert [(f.code, f.line) for f in folded] == [("SEC001", 4), ("SEC001", 5), ("DST001", None), ("DST001", None), ("SEC003", 4)]
    first = folded[0]
    # the first place in record order (index 2 before 10), standing for all three secrets
    assert first.pointer == "/messages/2/content" and first.data == {"kind": "aws_access_key", "count": 3}
    assert first.message == "SEC001 problem (and 2 more in this record)"
    assert folded[1] is findings[2] and folded[4] is findings[5]
    unrepeated = findings[2:]
    assert fold_repeats(unrepeated) is unrepeated


def test_a_thousand_repeats_read_with_separators() -> None:
    many = [_finding("SCH006", 1, f"/messages/{i}/x") for i in range(1_235)]
    (one,) = fold_repeats(many)
    assert one.message.endswith("(and 1,234 more in this record)") and one.data == {"count": 1_235}


def test_records_of_a_one_line_json_array_fold_each_on_its_own(tmp_path: Path) -> None:
    # every record of a compact .json array is on line 1: the fold is per record, not per line
    path = tmp_path / "compact.json"
    path.write_text(json.dumps([_record(i) for i in range(12)]), "utf-8")
    report = check([path], load_config("default"))
    sch006 = [f for f in report.findings if f.code == "SCH006"]
    assert len(sch006) == 12
    assert {(f.line, f.data["count"]) for f in sch006 if f.data} == {(1, TURNS)}
