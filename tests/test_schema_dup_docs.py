"""The documentation of every SCH, PRF and DUP code is complete, and its examples are true.

Each ``failing`` example gets its code and each ``passing`` example does not: a JSONL record for
the schema codes; for the dataset-level DUP codes, lines written ``line N: {...}`` (one file) or
``training file line N: {...}`` / ``validation file line N: {...}`` (a training and a validation file).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dsqa import check, load_config
from dsqa.validators.duplicates import DuplicatesValidator
from dsqa.validators.schema import SchemaValidator

SCHEMA_CODES = sorted(SchemaValidator.codes)
DUP_CODES = sorted(DuplicatesValidator.codes)
_LINE = re.compile(r"^(training file |validation file |)line (\d+): (.*)$")


def _codes(tmp_path: Path, files: dict[str, list[str]]) -> set[str]:
    """The codes of checking ``files`` ({"train": lines, "validation": lines}), lines being JSON texts."""
    paths = {}
    for role, lines in files.items():
        path = tmp_path / f"{role}.jsonl"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        paths[role] = path
    report = check([paths["train"]], load_config("default"), validation=[paths["validation"]] if "validation" in paths else [])
    return {f.code for f in report.findings}


def _dataset(example: str) -> dict[str, list[str]]:
    """The files a dataset-level example describes, line by line."""
    files: dict[str, dict[int, str]] = {}
    for text in example.splitlines():
        match = _LINE.match(text.strip())
        assert match, f"not a 'line N: {{...}}' line: {text!r}"
        role = "validation" if match.group(1) == "validation file " else "train"
        json.loads(match.group(3))  # each line is a JSON record
        files.setdefault(role, {})[int(match.group(2))] = match.group(3)
    out = {}
    for role, lines in files.items():
        assert sorted(lines) == list(range(1, len(lines) + 1)), f"{role} lines are not 1..n"
        out[role] = [lines[n] for n in sorted(lines)]
    return out


@pytest.mark.parametrize("cls", [SchemaValidator, DuplicatesValidator])
def test_every_code_is_documented(cls: type) -> None:
    props = cls.options_schema["properties"]
    for code, info in cls.codes.items():
        assert info.why.strip() and info.failing.strip() and info.passing.strip(), code
        assert set(info.options) <= set(props), code
    for name, spec in props.items():
        assert spec.get("description"), f"{cls.name}.{name} has no description"
    assert "Codes:" not in (cls.__doc__ or "") and "Options" not in (cls.__doc__ or "")


@pytest.mark.parametrize("code", SCHEMA_CODES)
def test_schema_examples(tmp_path: Path, code: str) -> None:
    info = SchemaValidator.codes[code]
    failing, passing = json.loads(info.failing), json.loads(info.passing)
    assert isinstance(failing, dict) and isinstance(passing, dict)
    (tmp_path / "f").mkdir()
    (tmp_path / "p").mkdir()
    assert code in _codes(tmp_path / "f", {"train": [info.failing]})
    assert code not in _codes(tmp_path / "p", {"train": [info.passing]})


@pytest.mark.parametrize("code", [c for c in DUP_CODES if c != "DUP006"])
def test_duplicates_examples(tmp_path: Path, code: str) -> None:
    info = DuplicatesValidator.codes[code]
    (tmp_path / "f").mkdir()
    (tmp_path / "p").mkdir()
    assert code in _codes(tmp_path / "f", _dataset(info.failing))
    assert code not in _codes(tmp_path / "p", _dataset(info.passing))


def test_dup006_example_is_a_description() -> None:
    # DUP006 needs a file that changes while it is checked: tests/test_duplicates.py makes one
    info = DuplicatesValidator.codes["DUP006"]
    assert "file" in info.failing and "line" not in info.failing
