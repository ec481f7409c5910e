"""Validation files named by convention or by a config glob are checked as validation files, for leakage."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from dsqa.pairing import assign_roles, training_partner, validation_by_name

from helpers import run_cli, write_jsonl
from test_duplicates import example


def _roles(data: dict[str, Any]) -> list[tuple[str, str]]:
    # the JSON report says a file's role through its tokens: a validation file is not billed
    return [(d["path"], "train" if d["stats"]["tokens"]["billed"] else "validation") for d in data["datasets"]]


def _pair(tmp_path: Path, train_name: str, val_name: str) -> tuple[Path, Path]:
    rng = random.Random(3)
    train = [example(rng) for _ in range(20)]
    val = [example(rng) for _ in range(4)]
    val[1] = json.loads(json.dumps(train[7]))  # an exact copy of training line 8
    return write_jsonl(tmp_path / train_name, train), write_jsonl(tmp_path / val_name, val)


def test_names_that_say_validation() -> None:
    for name in ("val.jsonl", "support_val.jsonl", "sft.validation.jsonl", "valid-2.jsonl", "qa_dev.jsonl", "VAL.jsonl"):
        assert validation_by_name(f"data/{name}"), name
    for name in ("train.jsonl", "interval.jsonl", "devops.jsonl", "evaluation.jsonl", "values.jsonl"):
        assert not validation_by_name(f"val/{name}"), name


def test_partner_by_name(tmp_path: Path) -> None:
    _, val = _pair(tmp_path, "qa_train.jsonl", "qa_dev.jsonl")
    assert training_partner(str(val)) == str(tmp_path / "qa_train.jsonl")
    assert training_partner(str(tmp_path / "other_val.jsonl")) is None


def test_validation_file_alone_is_checked_against_its_training_file(tmp_path: Path) -> None:
    # what the pre-commit hook and the Action do when only the validation file changed
    train, val = _pair(tmp_path, "train.jsonl", "val.jsonl")
    proc = run_cli("check", "val.jsonl", "--format", "json", cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert _roles(data) == [("train.jsonl", "train"), ("val.jsonl", "validation")]
    leaks = [(f["code"], f["path"], f["line"]) for f in data["findings"] if f["code"].startswith("DUP")]
    assert leaks == [("DUP004", "val.jsonl", 2)]
    # four examples, but a validation file has no minimum
    assert not [f for f in data["findings"] if f["path"] == "val.jsonl" and f["code"].startswith("DSET")]
    assert "val.jsonl is checked for leakage against train.jsonl, which is checked too" in proc.stderr
    assert proc.returncode == 1


def test_both_files_given_as_the_hook_gives_them(tmp_path: Path) -> None:
    _pair(tmp_path, "train.jsonl", "validation.jsonl")
    proc = run_cli("check", "train.jsonl", "validation.jsonl", "--format", "json", "--quiet", cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert _roles(data) == [("train.jsonl", "train"), ("validation.jsonl", "validation")]
    assert [(f["code"], f["line"]) for f in data["findings"] if f["code"].startswith("DUP")] == [("DUP004", 2)]
    assert proc.stderr == ""


def test_config_glob_pairs_other_names(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    _pair(tmp_path / "data", "support.jsonl", "support.holdout.jsonl")
    (tmp_path / ".dsqa.yaml").write_text(yaml.safe_dump({"extends": "default", "validation": "data/*.holdout.jsonl"}))
    # named on the command line: classified by the glob
    proc = run_cli("check", "data/support.jsonl", "data/support.holdout.jsonl", "--format", "json", cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert [r for _, r in _roles(data)] == ["train", "validation"]
    assert [(f["code"], f["path"], f["line"]) for f in data["findings"] if f["code"].startswith("DUP")] == [
        ("DUP004", "data/support.holdout.jsonl", 2)]
    # not named: the glob's files are checked alongside, as a plain path in `validation:` is
    proc = run_cli("check", "data/support.jsonl", "--format", "json", cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert _roles(data) == [
        ("data/support.jsonl", "train"), ("data/support.holdout.jsonl", "validation")]


def test_roles_keep_explicit_validation_and_training_files() -> None:
    roles = assign_roles(["a.jsonl", "b_val.jsonl"], ["c.jsonl"], [])
    assert roles.train == ["a.jsonl"] and roles.validation == ["c.jsonl", "b_val.jsonl"]


def test_a_file_given_with_validation_gets_its_training_partner_once(tmp_path: Path, monkeypatch: Any) -> None:
    _pair(tmp_path, "train.jsonl", "val.jsonl")
    monkeypatch.chdir(tmp_path)
    roles = assign_roles(["val.jsonl"], ["val.jsonl"], [])
    assert roles.validation == ["val.jsonl"] and roles.train == ["train.jsonl"]
    assert roles.notes == ["val.jsonl is checked as a validation file",
                           "val.jsonl is checked for leakage against train.jsonl, which is checked too"]
