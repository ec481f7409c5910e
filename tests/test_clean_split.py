"""clean keeps error-free records byte for byte; split is deterministic and keeps duplicates together."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from dsqa import load_config
from dsqa.convert.clean import clean_file
from dsqa.convert.split import duplicate_links, split_file
from dsqa.errors import InputError
from dsqa.model import Finding, Severity
from dsqa.validators import all_validators
from helpers import ROOT, chat, run_cli, write_jsonl

SAMPLES = ROOT / "sample_data"


def _jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _story(i: int, tail: str = "") -> dict[str, Any]:
    """A long record; a different ``tail`` on the user turn makes a near-duplicate."""
    rng = random.Random(i)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 8))) for _ in range(60)]
    text = f"Story {i}: " + " ".join(words)
    return {"messages": [{"role": "user", "content": f"Summarise: {text}{tail}"}, {"role": "assistant", "content": f"Animals shop at market {i}."}]}


def _readme_table() -> dict[int, str]:
    """line -> defect text, from the table in sample_data/README.md."""
    rows = {}
    for m in re.finditer(r"^\| (\d+) \| [^|]+ \| (.+) \|$", (SAMPLES / "README.md").read_text(encoding="utf-8"), re.M):
        rows[int(m.group(1))] = m.group(2)
    return rows


def test_clean_on_the_defective_sample_rejects_exactly_the_defective_lines(tmp_path: Path) -> None:
    out, rejects = tmp_path / "clean.jsonl", tmp_path / "rejects.jsonl"
    proc = run_cli("clean", str(SAMPLES / "defects.jsonl"), "-o", str(out), "--rejects", str(rejects))
    table = _readme_table()
    warning_only = {n for n, text in table.items() if "warning only" in text}
    assert warning_only == {4, 23}
    error_lines = sorted(set(table) - warning_only)
    assert proc.stdout.splitlines()[0] == f"read 27, kept 1, rejected {len(error_lines)}"
    entries = _jsonl(rejects)
    assert [e["line"] for e in entries] == error_lines
    raw_lines = (SAMPLES / "defects.jsonl").read_bytes().split(b"\n")
    for e in entries:
        original = raw_lines[e["line"] - 1]
        if "raw_base64" in e:
            import base64

            assert base64.b64decode(e["raw_base64"]) == original
        else:
            assert e["text"].encode("utf-8") == original
        assert e["codes"]
    assert next(e for e in entries if e["line"] == 27)["codes"] == ["RDR002"]
    assert out.read_bytes() == raw_lines[22] + b"\n"  # line 23, a warning only, kept byte for byte
    # one record is too few for a training file: the check after cleaning says so
    assert proc.returncode == 1 and "DST001" in proc.stdout


def test_clean_output_passes_and_keeps_bytes(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    clean_lines = (SAMPLES / "chat_clean.jsonl").read_bytes().splitlines()
    defect_lines = (SAMPLES / "defects.jsonl").read_bytes().splitlines()
    src.write_bytes(b"\n".join(clean_lines[:20] + defect_lines + clean_lines[20:]) + b"\n")
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    proc = run_cli("clean", str(src), "-o", str(out), "--rejects", str(rejects))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0] == "read 62, kept 36, rejected 26"
    assert "(after cleaning): passed" in proc.stdout
    assert out.read_bytes().splitlines() == clean_lines[:20] + [defect_lines[22]] + clean_lines[20:]
    assert [e["line"] for e in _jsonl(rejects)] == [20 + n for n in range(1, 29) if n not in (4, 23)]
    # --reject-on warning also drops the unfinished conversation
    proc = run_cli("clean", str(src), "-o", str(out), "--rejects", str(rejects), "--reject-on", "warning")
    assert proc.stdout.splitlines()[0] == "read 62, kept 35, rejected 27"


def test_clean_json_array_writes_jsonl(tmp_path: Path) -> None:
    records = [chat(i) for i in range(12)]
    records[3]["messages"][1]["role"] = "bot"
    src = tmp_path / "data.json"
    src.write_text(json.dumps(records, indent=1), encoding="utf-8")
    result = clean_file(src, tmp_path / "out.jsonl", tmp_path / "rej.jsonl", load_config("default"))
    assert (result.read, result.kept, result.rejected) == (12, 11, 1)
    assert _jsonl(tmp_path / "out.jsonl") == records[:3] + records[4:]
    (entry,) = _jsonl(tmp_path / "rej.jsonl")
    assert entry["codes"] == ["SCH003"]


@pytest.mark.skipif("duplicates" not in all_validators(), reason="the duplicates validator is not installed")
def test_drop_duplicates_uses_the_duplicates_validator(tmp_path: Path) -> None:
    records = [_story(i) for i in range(12)]
    src = write_jsonl(tmp_path / "d.jsonl", records + [_story(3), _story(5, " Thanks!")])
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    result = clean_file(src, out, rejects, load_config("default"))
    assert (result.kept, result.rejected) == (14, 0)  # duplicates are warnings: kept by default
    result = clean_file(src, out, rejects, load_config("default"), drop_duplicates=True)
    assert (result.read, result.kept, result.rejected, result.duplicates) == (14, 12, 2, 2)
    assert [(e["line"], e["codes"]) for e in _jsonl(rejects)] == [(13, ["DUP001"]), (14, ["DUP002"])]


def test_split_is_deterministic_and_keeps_exact_duplicates_together(tmp_path: Path) -> None:
    records = [chat(i) for i in range(200)]
    copies = [chat(i) for i in range(0, 200, 10)]  # 20 exact duplicates
    spaced = chat(7)
    spaced["messages"][1]["content"] = "  WHAT is 7 plus   7?"  # same after normalisation
    src = write_jsonl(tmp_path / "all.jsonl", records + copies + [spaced])
    a = split_file(src, tmp_path / "a", 0.1, seed=1)
    b = split_file(src, tmp_path / "b", 0.1, seed=1)
    c = split_file(src, tmp_path / "c", 0.1, seed=2)
    assert (a.read, a.train + a.validation, a.validation) == (221, 221, 22)
    assert (a.groups, a.grouped) == (21, 42)
    for name in ("train.jsonl", "validation.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "validation.jsonl").read_bytes() != (tmp_path / "c" / "validation.jsonl").read_bytes()
    lines = set((tmp_path / "a" / "train.jsonl").read_bytes().splitlines()) | set(
        (tmp_path / "a" / "validation.jsonl").read_bytes().splitlines()
    )
    assert lines == set(src.read_bytes().splitlines())

    def question(r: dict[str, Any]) -> str:
        return " ".join(r["messages"][1]["content"].split()).casefold()

    train = {question(r) for r in _jsonl(tmp_path / "a" / "train.jsonl")}
    valid = {question(r) for r in _jsonl(tmp_path / "a" / "validation.jsonl")}
    assert not train & valid


def test_split_joins_linked_records_and_counts(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "x.jsonl", [chat(i) for i in range(10)])
    result = split_file(src, tmp_path / "s", 5, seed=0, links=[(1, 2), (2, 3), (4, 5), (6, 7), (8, 9)])
    assert (result.validation, result.groups, result.grouped) == (5, 4, 9)
    valid_q = {r["messages"][1]["content"] for r in _jsonl(tmp_path / "s" / "validation.jsonl")}
    groups = [{1, 2, 3}, {4, 5}, {6, 7}, {8, 9}, {10}]
    for g in groups:
        inside = {f"What is {n - 1} plus {n - 1}?" for n in g}
        assert inside <= valid_q or not inside & valid_q
    finding = Finding("DUP002", Severity.WARNING, "near", "duplicates", "x.jsonl", 9, None, None, {"of": 3})
    cluster = {"representative": 1, "size": 3, "members": [{"line": 4, "similarity": 0.95}, {"line": 6, "similarity": 0.91}]}
    stats: Any = {"duplicates": {"clusters": 1, "top_clusters": [cluster]}}
    assert duplicate_links([finding], stats) == [(3, 9), (1, 4), (1, 6)]
    assert duplicate_links([finding, finding], {"duplicates": {**stats["duplicates"], "top_clusters": [{**cluster, "representative": 3, "members": [{"line": 9, "similarity": 0.9}]}]}}) == [(3, 9)]


def test_split_keeps_near_duplicates_together_when_dup002_is_ignored(tmp_path: Path) -> None:
    # the clusters come from stats.duplicates.top_clusters, which the validator publishes
    # (``clusters`` there is a count, not a list of lines: reading it as a list linked nothing)
    if "duplicates" not in all_validators():
        pytest.skip("no duplicates validator")
    src = write_jsonl(tmp_path / "n.jsonl", [_story(i) for i in range(40)] + [_story(5, " Thanks!")])
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nignore: [DUP002]\n", encoding="utf-8")
    for seed in range(6):
        proc = run_cli("split", str(src), "-o", str(tmp_path / "out"), "--validation", "0.5", "--seed", str(seed), "-r", str(pack))
        assert proc.returncode == 0, proc.stderr
        assert "1 link from the duplicates validator" in proc.stdout
        train = (tmp_path / "out" / "train.jsonl").read_text(encoding="utf-8")
        assert ("Story 5:" in train) == ("Thanks!" in train)


def test_split_cli_uses_near_duplicates(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "n.jsonl", [_story(i) for i in range(40)] + [_story(5, " Thanks!")])
    proc = run_cli("split", str(src), "-o", str(tmp_path / "out"), "--validation", "0.5", "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "read 41: train 21, validation 20 (seed 4)"
    train = (tmp_path / "out" / "train.jsonl").read_text(encoding="utf-8")
    assert ("Story 5:" in train) == ("Thanks!" in train)
    if "duplicates" in all_validators():
        assert "1 link from the duplicates validator" in proc.stdout
    proc = run_cli("split", str(src), "-o", str(tmp_path / "out"), "--validation", "41")
    assert proc.returncode == 2 and "leaves no training records" in proc.stderr


def test_split_refuses_a_line_it_could_not_keep(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "x.jsonl", [chat(i) for i in range(5)])
    with open(src, "a", encoding="utf-8") as f:
        f.write(json.dumps(chat(99, extra="x" * 2000)) + "\n")
    with pytest.raises(InputError, match=r"x.jsonl: line 6: line is .* over the 1,000 bytes limit"):
        split_file(src, tmp_path / "out", 0.2, seed=0, max_line_bytes=1000)
    assert not (tmp_path / "out").exists()


def test_clean_writes_rejects_only_when_something_is_rejected(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "good.jsonl", [chat(i) for i in range(12)])
    proc = run_cli("clean", str(src), "-o", str(tmp_path / "out.jsonl"))
    assert proc.returncode == 0, proc.stderr
    assert "read 12, kept 12, rejected 0" in proc.stdout
    assert "rejected records" not in proc.stdout
    assert not (tmp_path / "out.rejects.jsonl").exists()
    bad = [chat(i) for i in range(12)]
    bad[4]["messages"][1]["role"] = "bot"
    src = write_jsonl(tmp_path / "bad.jsonl", bad)
    proc = run_cli("clean", str(src), "-o", str(tmp_path / "out.jsonl"))
    assert f"rejected records: {tmp_path / 'out.rejects.jsonl'}" in proc.stdout
    assert [e["line"] for e in _jsonl(tmp_path / "out.rejects.jsonl")] == [5]
