"""Duplicates found after the pass in a one-line JSON array name their records by index (every record is on line 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dsqa import check, load_config
from dsqa.fingerprint import fingerprint
from dsqa.model import Record
from helpers import run_cli, write_jsonl

_TOPICS = [
    ("How do I reset my home router?", "Hold the reset button on the back for ten seconds, then wait for the lights to settle."),
    ("What is a good first houseplant?", "A pothos: it forgives missed waterings and grows in low light."),
    ("How long should I boil an egg for a runny yolk?", "Six minutes in boiling water, then straight into cold water."),
    ("Can I freeze cooked rice?", "Yes. Cool it quickly, freeze it flat in a bag and use it within a month."),
    ("Why does my bike chain squeak?", "It is dry or dirty: clean it with a rag and add a drop of chain oil to each link."),
    ("How often should I water a cactus?", "Every two to three weeks in summer and about once a month in winter."),
    ("What does a VPN do?", "It encrypts your traffic and sends it through a server elsewhere, hiding it from your network."),
    ("How do I remove a coffee stain from a shirt?", "Rinse it with cold water from the back, then rub in a little washing-up liquid."),
    ("What is the capital of Australia?", "Canberra, not Sydney: it was chosen as a compromise between Sydney and Melbourne."),
    ("How many hours of sleep does an adult need?", "Most adults need seven to nine hours a night."),
    ("How do I stop my glasses fogging up?", "Wash the lenses with a drop of dish soap and let them air dry."),
    ("What temperature kills bacteria in chicken?", "Cook it until the thickest part reaches 74 degrees Celsius."),
]


def _chat(question: str, answer: str) -> dict[str, Any]:
    return {"messages": [
        {"role": "system", "content": "You are a friendly assistant who answers household questions briefly."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer},
    ]}


def _records() -> list[dict[str, Any]]:
    return [_chat(q, a) for q, a in _TOPICS]


def _one_line(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert path.read_text(encoding="utf-8").count("\n") == 0  # one line: every record has line 1
    return path


def _print(value: dict[str, Any]) -> str | None:
    return fingerprint(Record("x.json", 1, 0, value=value))


def _dups(report: Any, path: Path) -> list[Any]:
    return sorted((f for f in report.findings if f.code.startswith("DUP") and f.path == str(path)),
                  key=lambda f: (f.code, (f.data or {}).get("record", -1)))


def test_exact_near_and_conflicting_copies_name_their_records(tmp_path: Path) -> None:
    rows = _records()
    rows.append(json.loads(json.dumps(rows[3])))  # record 12: an exact copy of record 3
    near = _chat(_TOPICS[7][0], _TOPICS[7][1] + " Wash it soon after.")
    rows.append(near)  # record 13: a near copy of record 7
    rows.append(_chat(_TOPICS[9][0], "Adults do best with twelve hours, split into three naps."))  # record 14: conflicts with 9
    data = _one_line(tmp_path / "train.json", rows)
    report = check([data], load_config("default"))
    found = _dups(report, data)
    assert [(f.code, f.line, f.data["record"]) for f in found] == [("DUP001", 1, 12), ("DUP002", 1, 13), ("DUP003", 1, 14)]
    exact, similar, conflict = found
    assert exact.message == "exact duplicate of record 3"
    assert exact.data == {"of": 1, "record": 12, "of_record": 3}
    assert similar.message.startswith("near-duplicate of record 7 (similarity ")
    assert similar.data["of_record"] == 7 and similar.data["of"] == 1
    assert conflict.message.startswith("same prompt as record 9 with a different answer (answer similarity ")
    assert conflict.data["of_record"] == 9
    # each is stamped from the record it names, not from another record on line 1
    assert exact.fingerprint == _print(rows[12])
    assert similar.fingerprint == _print(near) != _print(rows[7])
    assert conflict.fingerprint == _print(rows[14]) != _print(rows[9])
    assert len({f.fingerprint for f in found}) == 3


def test_the_cli_json_report_names_the_record(tmp_path: Path) -> None:
    rows = _records()
    rows.insert(0, json.loads(json.dumps(rows[10])))  # record 0 is the first; record 11 repeats it
    data = _one_line(tmp_path / "faq.json", rows)
    proc = run_cli("check", str(data), "--format", "json", "--select", "DUP001")
    assert proc.returncode == 0, proc.stderr  # a warning
    (finding,) = json.loads(proc.stdout)["findings"]
    assert (finding["code"], finding["line"], finding["data"]["record"]) == ("DUP001", 1, 11)
    assert finding["message"] == "exact duplicate of record 0"
    proc = run_cli("check", str(data), "--select", "DUP001")
    assert f"{data}:1 (record 11): DUP001 warning exact duplicate of record 0" in proc.stdout


def test_leakage_names_the_training_record(tmp_path: Path) -> None:
    rows = _records()
    train = _one_line(tmp_path / "train.json", rows)
    leaked = json.loads(json.dumps(rows[4]))
    near = _chat(_TOPICS[6][0], _TOPICS[6][1] + " Use one you trust.")
    fresh = _chat("How do I descale a kettle?", "Boil a mix of water and white vinegar, leave it an hour, then rinse twice.")
    asked = _chat(_TOPICS[8][0], "It is Canberra.")  # the same prompt as training record 8, another answer
    val = _one_line(tmp_path / "val.json", [fresh, leaked, near, asked])
    report = check([train], load_config("default"), validation=[val])
    found = _dups(report, val)
    assert [(f.code, f.line, f.data["record"]) for f in found] == [("DUP004", 1, 1), ("DUP005", 1, 2), ("DUP007", 1, 3)]
    exact, similar, prompt = found
    assert prompt.message == f"validation example has the same prompt as the train split's {train} record 8"
    assert prompt.data["matches"] == [{"split": "train", "file": str(train), "line": 1, "record": 8}]
    assert exact.message == f"validation example is also in the train split: {train} record 4"
    assert exact.data == {"training_file": str(train), "training_line": 1, "training_record": 4, "other_split": "train", "record": 1}
    assert similar.message.startswith(f"validation example is a near-duplicate of the train split's {train} record 6 (similarity ")
    assert similar.data["training_record"] == 6 and similar.data["record"] == 2
    assert exact.fingerprint == _print(leaked) and similar.fingerprint == _print(near)


def test_jsonl_findings_still_name_lines(tmp_path: Path) -> None:
    rows = _records()
    rows.append(json.loads(json.dumps(rows[3])))
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    (finding,) = [f for f in check([data], load_config("default")).findings if f.code == "DUP001"]
    assert (finding.line, finding.message, finding.data) == (13, "exact duplicate of line 4", {"of": 4})


def test_a_pretty_printed_array_names_the_record_and_its_line(tmp_path: Path) -> None:
    rows = _records()
    rows.append(json.loads(json.dumps(rows[3])))
    data = tmp_path / "train.json"
    data.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    (finding,) = [f for f in check([data], load_config("default")).findings if f.code == "DUP001"]
    start = data.read_text(encoding="utf-8").splitlines().index("  {", 0)  # record 0 starts on line 2
    assert start == 1 and finding.data["record"] == 12 and finding.data["of_record"] == 3
    assert finding.data["of"] > 2 and finding.line > finding.data["of"]
    assert finding.message == f"exact duplicate of record 3 at line {finding.data['of']}"


def test_split_keeps_near_and_conflicting_copies_of_a_one_line_array_on_one_side(tmp_path: Path) -> None:
    """Every record of the array has line 1, so links by line joined nothing: the copies must be joined by index."""
    rows = _records()
    near = _chat(_TOPICS[7][0], _TOPICS[7][1] + " Wash it soon after.")
    conflict = _chat(_TOPICS[9][0], "Adults do best with twelve hours, split into three naps.")
    rows += [near, conflict]  # records 12 and 13: a near copy of record 7, a conflict with record 9
    data = _one_line(tmp_path / "train.json", rows)
    apart = 0
    for seed in range(12):
        out = tmp_path / f"split{seed}"
        proc = run_cli("split", str(data), "--validation", "4", "--seed", str(seed), "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        assert "(2 links from the duplicates validator)" in proc.stdout
        sides = {}
        for name in ("train", "validation"):
            for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
                sides[line] = name
        assert len(sides) == len(rows)
        side = {i: sides[json.dumps(r)] for i, r in enumerate(rows)}
        assert side[12] == side[7] and side[13] == side[9], seed
        apart += side[7] != side[9]
    assert apart  # the seeds do move records between the sides
