"""The baseline gate: findings matched by code, file and record content; only new ones fail."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import ROOT, chat, run_cli

DEFECTS = (ROOT / "sample_data" / "defects.jsonl").read_bytes().split(b"\n")[:-1]
#: the code families whose findings on the defective sample these tests count; other validators
#: (diversity, tokens, ...) react to added examples in ways that are theirs to test
SELECT = ("--select", "RDR,FMT,SCH,DST")


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _baseline(tmp_path: Path, lines: list[bytes]) -> tuple[Path, Path]:
    data = _write(tmp_path / "train.jsonl", lines)
    old = tmp_path / "old.json"
    proc = run_cli("check", str(data), *SELECT, "-f", "json", "-o", str(old))
    assert proc.returncode == 1, proc.stderr
    return data, old


def _gate(data: Path, old: Path) -> tuple[int, dict]:
    proc = run_cli("check", str(data), *SELECT, "-f", "json", "--baseline", str(old))
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_inserted_clean_lines_make_nothing_new(tmp_path: Path) -> None:
    data, old = _baseline(tmp_path, DEFECTS)
    clean = [json.dumps(chat(i)).encode() for i in range(3)]
    _write(data, clean[:2] + DEFECTS[:10] + clean[2:] + DEFECTS[10:])  # every later finding moves down
    code, report = _gate(data, old)
    assert code == 0
    assert report["passed"] is True
    total = len(json.loads(old.read_text())["findings"])
    assert report["baseline"]["new"] == 0 and report["baseline"]["fixed"] == 0
    assert report["baseline"]["unchanged"] == total == 30
    assert {f["baseline"] for f in report["findings"]} == {"unchanged"}
    assert [f["line"] for f in report["findings"] if f["code"] == "SCH003"] == [7, 8]


def test_fixed_finding_is_counted_and_passes(tmp_path: Path) -> None:
    data, old = _baseline(tmp_path, DEFECTS)
    fixed = DEFECTS[:4] + [DEFECTS[4].replace(b'"bot"', b'"user"')] + DEFECTS[5:]  # line 5: role bot -> user
    _write(data, fixed)
    code, report = _gate(data, old)
    assert code == 0
    b = report["baseline"]
    # the edited record is new content: its old SCH003 is fixed, and whatever it still has is new
    assert b["fixed"] >= 1
    assert "SCH003" in [f["code"] for f in b["fixed_findings"]]
    assert all(f["severity"] != "error" for f in report["findings"] if f["baseline"] == "new")


def test_added_broken_example_fails(tmp_path: Path) -> None:
    data, old = _baseline(tmp_path, DEFECTS)
    broken = chat(99)
    broken["messages"][1]["role"] = "bot"
    _write(data, [json.dumps(chat(98)).encode(), *DEFECTS, json.dumps(broken).encode()])
    code, report = _gate(data, old)
    assert code == 1 and report["passed"] is False
    new = [(f["code"], f["line"]) for f in report["findings"] if f["baseline"] == "new"]
    assert ("SCH003", 30) in new
    assert all(line == 30 for _, line in new)
    assert report["baseline"]["unchanged"] == 30 and report["baseline"]["fixed"] == 0


def test_duplicate_record_needs_its_own_baseline_entry(tmp_path: Path) -> None:
    data, old = _baseline(tmp_path, DEFECTS)
    _write(data, [*DEFECTS, DEFECTS[4]])  # the same broken record once more
    code, report = _gate(data, old)
    assert code == 1
    assert [(f["code"], f["line"]) for f in report["findings"] if f["baseline"] == "new" and f["severity"] == "error"] == [("SCH003", 29)]


def test_text_report_says_new_fixed_unchanged(tmp_path: Path) -> None:
    data, old = _baseline(tmp_path, DEFECTS)
    _write(data, DEFECTS[1:])
    proc = run_cli("check", str(data), *SELECT, "--baseline", str(old))
    assert proc.returncode == 0
    assert f"baseline {old}: 0 new, 1 fixed, 29 unchanged (only new findings fail)" in proc.stdout


def test_bad_baseline_is_exit_2_one_line(tmp_path: Path) -> None:
    data = _write(tmp_path / "train.jsonl", DEFECTS)
    for content, needle in (("{not json", "baseline is not a JSON report"), ('{"a": 1}', "not a dsqa JSON report")):
        bad = tmp_path / "bad.json"
        bad.write_text(content, encoding="utf-8")
        proc = run_cli("check", str(data), "--baseline", str(bad))
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and str(bad) in lines[0] and needle in lines[0], proc.stderr
    proc = run_cli("check", str(data), "--baseline", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "cannot read baseline" in proc.stderr
