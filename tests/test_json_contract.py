"""The JSON report is a contract: its names, types, order and determinism."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import chat, run_cli, write_jsonl


def _report(tmp_path: Path) -> tuple[Path, dict]:
    records = [chat(i) for i in range(9)]
    records[3]["messages"][2]["role"] = "bot"
    records[7]["weight"] = 1
    path = write_jsonl(tmp_path / "train.jsonl", records)
    proc = run_cli("check", str(path), "--format", "json")
    assert proc.returncode == 1
    return path, json.loads(proc.stdout)


def test_top_level_names_and_types(tmp_path: Path) -> None:
    path, data = _report(tmp_path)
    # keys added later come after the original ones, so a reader of the first version still works
    assert list(data)[:7] == ["tool", "version", "passed", "fail_on", "summary", "datasets", "findings"]
    assert list(data)[7:] == ["validators"]
    assert data["validators"][:4] == ["reader", "format", "schema", "dataset"] and "shape" in data["validators"]
    assert data["tool"] == "dsqa" and data["version"] == "0.1.0"
    assert data["passed"] is False and data["fail_on"] == "error"
    assert data["summary"] == {"error": 4, "warning": 1, "info": 0}
    assert [{**d, "stats": d["stats"]["formats"]} for d in data["datasets"]] == [
        {"path": str(path), "format": "openai-chat", "records": 9, "stats": {"openai-chat": 9}, "split": "train"}
    ]
    # added after the first version: the split each dataset was checked as
    assert list(data["datasets"][0]) == ["path", "format", "records", "stats", "split"]


def test_findings_sorted_and_complete(tmp_path: Path) -> None:
    path, data = _report(tmp_path)
    got = [(f["code"], f["severity"], f["line"], f["pointer"]) for f in data["findings"]]
    assert got == [
        ("SCH010", "error", 4, "/messages"),
        ("SCH016", "warning", 4, "/messages/2"),
        ("SCH003", "error", 4, "/messages/2/role"),
        ("SCH001", "error", 8, "/weight"),
        ("DST001", "error", None, None),
    ]
    for f in data["findings"]:
        keys = list(f)
        assert keys[:8] == ["code", "severity", "validator", "path", "line", "pointer", "message", "hint"]
        # then only the optional keys, in this order, each present only when set
        assert keys[8:] == [k for k in ("data", "fingerprint", "excerpt", "baseline") if k in f]
        # findings at a record carry its fingerprint and a masked excerpt; dataset-level ones do not
        assert ("fingerprint" in f) == (f["line"] is not None)
        assert f["path"] == str(path)
    assert data["findings"][2]["message"] == "unknown role 'bot' (expected system, user, assistant, tool, function)"
    assert data["findings"][-1]["data"] == {"examples": 9, "minimum": 10}


def test_output_is_deterministic(tmp_path: Path) -> None:
    path, _ = _report(tmp_path)
    first = run_cli("check", str(path), "--format", "json").stdout
    second = run_cli("check", str(path), "--format", "json").stdout
    assert first == second
