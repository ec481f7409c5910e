"""More than two splits: train, validation and test files checked together, leakage (DUP004, DUP005)
between every pair naming both splits, one prompt in several splits (DUP007), and `--split NAME=FILE`."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from dsqa import check, load_config
from dsqa.errors import UsageError
from dsqa.pairing import assign_roles, parse_split

from helpers import run_cli, write_jsonl
from test_duplicates import example


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record))


def _reanswered(record: dict[str, Any], answer: str) -> dict[str, Any]:
    out = _copy(record)
    out["messages"][-1]["content"] = answer
    return out


def _three(tmp_path: Path) -> tuple[Path, Path, Path]:
    """train (30), validation (8) and test (10) files with leaks planted between every pair."""
    rng = random.Random(20)
    train = [example(rng) for _ in range(30)]
    val = [example(rng) for _ in range(8)]
    test = [example(rng) for _ in range(10)]
    val[2] = _copy(train[5])  # val line 3 = train line 6
    test[1] = _copy(train[9])  # test line 2 = train line 10
    test[3] = _copy(val[6])  # test line 4 = val line 7
    near = _copy(val[4])
    near["messages"][-1]["content"] += " I hope this helps."
    test[5] = near  # test line 6 ~ val line 5
    test[7] = _reanswered(train[12], "Nobody can say; it depends on too many things.")  # prompt of train line 13
    # test line 9: a prompt of train line 20 that validation line 8 also asked, with a third answer
    val[7] = _reanswered(train[19], "It depends on what you want from it, really.")
    test[8] = _reanswered(train[19], "Ask again tomorrow, when the numbers are in.")
    return (write_jsonl(tmp_path / "train.jsonl", train), write_jsonl(tmp_path / "val.jsonl", val),
            write_jsonl(tmp_path / "test.jsonl", test))


def _found(report: Any) -> list[tuple[str, str, int | None, dict[str, Any]]]:
    return sorted(
        (f.code, Path(f.path).name, f.line, f.data or {}) for f in report.findings if f.code in ("DUP004", "DUP005", "DUP007")
    )


@pytest.mark.parametrize("reference", [False, True])
def test_leakage_between_every_pair_of_three_files(tmp_path: Path, reference: bool) -> None:
    train, val, test = _three(tmp_path)
    report = check([train], load_config("default"), validation=[val], splits=[("test", test)], reference=reference)
    got = [(code, name, line, data.get("other_split"), data.get("training_line")) for code, name, line, data in _found(report)]
    assert got == [
        ("DUP004", "test.jsonl", 2, "train", 10),
        ("DUP004", "test.jsonl", 4, "validation", 7),
        ("DUP004", "val.jsonl", 3, "train", 6),
        ("DUP005", "test.jsonl", 6, "validation", 5),
        ("DUP007", "test.jsonl", 8, None, None),
        ("DUP007", "test.jsonl", 9, None, None),
        ("DUP007", "val.jsonl", 8, None, None),
    ]
    by_line = {(Path(f.path).name, f.line): f for f in report.findings if f.code.startswith("DUP")}
    assert by_line[("test.jsonl", 4)].message == f"test example is also in the validation split: {val} line 7"
    assert by_line[("val.jsonl", 3)].message == f"validation example is also in the train split: {train} line 6"
    assert by_line[("test.jsonl", 6)].message.startswith(f"test example is a near-duplicate of the validation split's {val} line 5 (similarity 0.")
    assert by_line[("test.jsonl", 4)].hint.endswith("make the test results meaningless")
    assert by_line[("val.jsonl", 3)].hint.endswith("make the validation loss meaningless")
    # the prompt of test line 9 is in both earlier splits: one finding that names both
    nine = by_line[("test.jsonl", 9)]
    assert nine.data == {"matches": [
        {"split": "train", "file": str(train), "line": 20}, {"split": "validation", "file": str(val), "line": 8}]}
    assert nine.message == (
        f"test example has the same prompt as the train split's {train} line 20 and the validation split's {val} line 8")
    assert [(Path(d.path).name, d.split, d.records) for d in report.datasets] == [
        ("train.jsonl", "train", 30), ("val.jsonl", "validation", 8), ("test.jsonl", "test", 10)]
    stats = {d.split: d.stats["duplicates"] for d in report.datasets}
    assert "leaked_exact" not in stats["train"]
    assert (stats["validation"]["leaked_exact"], stats["validation"]["leaked_near"], stats["validation"]["shared_prompts"]) == (1, 0, 1)
    assert (stats["test"]["leaked_exact"], stats["test"]["leaked_near"], stats["test"]["shared_prompts"]) == (2, 1, 2)
    # no minimum and no bill for a test split, as for a validation file
    assert not [f for f in report.findings if f.code == "DST001"] or all(Path(f.path).name == "train.jsonl" for f in report.findings if f.code == "DST001")
    assert report.datasets[2].stats["tokens"]["billed"] is False


def test_split_on_the_command_line(tmp_path: Path) -> None:
    _three(tmp_path)
    proc = run_cli(
        "check", "train.jsonl", "--validation", "val.jsonl", "--split", "test=test.jsonl", "--format", "json", "--select", "DUP",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [(d["path"], d["split"]) for d in data["datasets"]] == [
        ("train.jsonl", "train"), ("val.jsonl", "validation"), ("test.jsonl", "test")]
    assert sorted((f["code"], f["path"], f["line"]) for f in data["findings"] if f["code"] in ("DUP004", "DUP005", "DUP007")) == [
        ("DUP004", "test.jsonl", 2), ("DUP004", "test.jsonl", 4), ("DUP004", "val.jsonl", 3), ("DUP005", "test.jsonl", 6),
        ("DUP007", "test.jsonl", 8), ("DUP007", "test.jsonl", 9), ("DUP007", "val.jsonl", 8)]
    # --split validation= is the same as --validation, and a name is taken in lower case
    again = run_cli(
        "check", "train.jsonl", "--split", "validation=val.jsonl", "--split", "TEST=test.jsonl", "--format", "json",
        "--select", "DUP", cwd=tmp_path,
    )
    assert again.returncode == 1, again.stderr
    assert json.loads(again.stdout)["findings"] == data["findings"]


def test_two_validation_files_are_not_compared_with_each_other(tmp_path: Path) -> None:
    rng = random.Random(5)
    train = write_jsonl(tmp_path / "train.jsonl", [example(rng) for _ in range(12)])
    shared = example(rng)
    a = write_jsonl(tmp_path / "a.jsonl", [shared, example(rng)])
    b = write_jsonl(tmp_path / "b.jsonl", [example(rng), shared])
    proc = run_cli("check", str(train), "--validation", str(a), "--validation", str(b), "--format", "json", "--select", "DUP")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == []
    # but as two splits they are
    proc = run_cli("check", str(train), "--validation", str(a), "--split", f"test={b}", "--format", "json", "--select", "DUP")
    assert proc.returncode == 1
    assert [(f["code"], f["line"], f["data"]["training_line"]) for f in json.loads(proc.stdout)["findings"]] == [("DUP004", 2, 1)]


@pytest.mark.parametrize("spec,message", [
    ("test", "--split test: expected NAME=FILE, e.g. --split test=test.jsonl"),
    ("test=", "--split test=: expected NAME=FILE, e.g. --split test=test.jsonl"),
    ("=t.jsonl", "--split =t.jsonl: the split name must start with a letter and hold only letters, digits, - and _ (at most 40)"),
    ("2024 test=t.jsonl", "--split 2024 test=t.jsonl: the split name must start with a letter and hold only letters, digits, - and _ (at most 40)"),
])
def test_a_bad_split_is_a_one_line_usage_error(tmp_path: Path, spec: str, message: str) -> None:
    write_jsonl(tmp_path / "train.jsonl", [example(random.Random(1))])
    proc = run_cli("check", "train.jsonl", "--split", spec, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"dsqa: error: {message}"


def test_a_file_in_two_splits_or_missing_is_refused(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", [example(random.Random(1))])
    proc = run_cli("check", "train.jsonl", "--split", "test=train.jsonl", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "dsqa: error: train.jsonl is given as both the train and the test split; give each file once"
    proc = run_cli("check", "train.jsonl", "--split", "holdout=missing.jsonl", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "dsqa: error: missing.jsonl: cannot read: No such file or directory"


def test_parse_split_and_roles() -> None:
    assert parse_split("test=data/test.jsonl") == ("test", "data/test.jsonl")
    assert parse_split("Eval-2024=x=y.jsonl") == ("eval-2024", "x=y.jsonl")
    with pytest.raises(UsageError):
        parse_split("test")
    roles = assign_roles(["train.jsonl"], [], [], ["test=t.jsonl", "validation=v.jsonl", "test=t.jsonl", "holdout=h.jsonl"])
    assert (roles.train, roles.validation, roles.splits) == (
        ["train.jsonl"], ["v.jsonl"], [("test", "t.jsonl"), ("holdout", "h.jsonl")])
    roles = assign_roles(["a.jsonl"], [], [], ["train=b.jsonl", "train=a.jsonl"])
    assert (roles.train, roles.validation, roles.splits) == (["a.jsonl", "b.jsonl"], [], [])
