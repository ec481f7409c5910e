"""Data-driven golden tests: every case in tests/cases/*.yaml is one test.

A case file is a mapping with one key, ``cases``, holding a list of cases. A case is:

  id:          unique name (required; unique across all case files)
  description: free text (optional)
  input, exactly one of:
    records:   a list of JSON values; each is written as one JSONL line
    text:      the exact file text (written as UTF-8, no newline translation)
    bytes:     the exact file bytes as a Python-style escaped string ("\\xef\\xbb\\xbf{...}\\n"),
               decoded with codecs.escape_decode; non-ASCII must be written as \\x escapes
  filename:    the file name (default data.jsonl; use a .json name for JSON-array files)
  pad_to:      with ``records``: append valid filler chat records until there are this many
  role:        train (default) or validation: how the file is passed to dsqa.check
  pack:        the rule pack the case's temporary pack extends (default: default)
  format:      force the data format (Config.with_overrides(data_format=...))
  options:     a rule-pack mapping deep-merged into the temporary pack
  pack_defaults: true to keep the pack's own options; otherwise validators.dataset.min_examples
               is set to 0 so that DST001 fires only in the cases about it
  ignore:      codes (or prefixes) left out of the comparison
               (the duplicates validator is disabled except in duplicates.yaml: pad_to repeats one
               filler record, and many cases share a prompt)
  expect:      list of expected findings, each {code, line, pointer?, severity?, message?, data?};
               ``line`` is required (null for dataset-level findings); pointer, severity and data are
               compared when given (data as a subset); message is a regular expression searched in
               the finding's message. The expected list must match the reported findings exactly,
               as a multiset; ``expect: []`` means no findings at all.
  xfail:       a reason: dsqa is believed wrong here; the case is a strict xfail

Beyond the expected list, every finding must carry a message, and a pointer must start with "/"
and (for ``records`` input) name a place whose parent exists in the record on that line.
"""

from __future__ import annotations

import codecs
import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dsqa import Config, check, load_config

CASES_DIR = Path(__file__).parent / "cases"

CASE_KEYS = {
    "id", "description", "records", "text", "bytes", "filename", "pad_to", "role", "pack", "format",
    "options", "pack_defaults", "ignore", "expect", "xfail",
}
EXPECT_KEYS = {"code", "line", "pointer", "severity", "message", "data"}

FILLER = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4"},
    ]
}


# -- loading -------------------------------------------------------------------------------------


def _validate_case(case: Any, where: str) -> None:
    if not isinstance(case, dict):
        raise ValueError(f"{where}: a case must be a mapping, got {type(case).__name__}")
    unknown = set(case) - CASE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown case key(s) {sorted(unknown)}")
    if not isinstance(case.get("id"), str) or not case["id"]:
        raise ValueError(f"{where}: every case needs a string 'id'")
    inputs = [k for k in ("records", "text", "bytes") if k in case]
    if len(inputs) != 1:
        raise ValueError(f"{where} ({case['id']}): give exactly one of records, text, bytes (got {inputs})")
    if "pad_to" in case and "records" not in case:
        raise ValueError(f"{where} ({case['id']}): pad_to needs records input")
    if case.get("role", "train") not in ("train", "validation"):
        raise ValueError(f"{where} ({case['id']}): role must be train or validation")
    if not isinstance(case.get("expect"), list):
        raise ValueError(f"{where} ({case['id']}): 'expect' must be a list (use [] for no findings)")
    for i, exp in enumerate(case["expect"]):
        if not isinstance(exp, dict):
            raise ValueError(f"{where} ({case['id']}): expect[{i}] must be a mapping")
        unknown = set(exp) - EXPECT_KEYS
        if unknown:
            raise ValueError(f"{where} ({case['id']}): expect[{i}] has unknown key(s) {sorted(unknown)}")
        if "code" not in exp or "line" not in exp:
            raise ValueError(f"{where} ({case['id']}): expect[{i}] needs 'code' and 'line' (line may be null)")


def load_cases() -> list[Any]:
    params = []
    seen: dict[str, str] = {}
    files = sorted(CASES_DIR.glob("*.yaml"))
    for path in files:
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
            if not isinstance(data, dict) or set(data) != {"cases"} or not isinstance(data["cases"], list):
                raise ValueError(f"{path.name}: a case file is a mapping with one key 'cases' holding a list")
            for n, case in enumerate(data["cases"]):
                _validate_case(case, f"{path.name} case #{n + 1}")
        except (yaml.YAMLError, ValueError) as exc:
            # one broken file must not hide the other files' cases: it becomes one failing test
            params.append(pytest.param(path.stem, {"broken": f"{path.name}: {exc}"}, id=f"{path.stem}::<invalid case file>"))
            continue
        for case in data["cases"]:
            cid = case["id"]
            if cid in seen:
                params.append(pytest.param(
                    path.stem, {"broken": f"{path.name}: duplicate case id {cid!r} (also in {seen[cid]})"},
                    id=f"{path.stem}::<duplicate id {cid}>",
                ))
                continue
            seen[cid] = path.name
            marks = []
            if case.get("xfail"):
                marks.append(pytest.mark.xfail(strict=True, reason=str(case["xfail"])))
            params.append(pytest.param(path.stem, case, id=f"{path.stem}::{cid}", marks=marks))
    return params


# -- building the input and the config ------------------------------------------------------------


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _records_of(case: dict[str, Any]) -> list[Any]:
    records = list(case["records"])
    pad_to = case.get("pad_to")
    if pad_to is not None:
        records += [copy.deepcopy(FILLER) for _ in range(max(0, pad_to - len(records)))]
    return records


def _payload(case: dict[str, Any]) -> bytes:
    if "records" in case:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _records_of(case)).encode("utf-8")
    if "text" in case:
        return str(case["text"]).encode("utf-8")
    raw = case["bytes"]
    try:
        raw.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{case['id']}: 'bytes' must be ASCII; write other bytes as \\x escapes") from None
    return codecs.escape_decode(raw.encode("ascii"))[0]


def _config(case: dict[str, Any], tmp_path: Path, case_file: str = "") -> Config:
    pack: dict[str, Any] = {"extends": case.get("pack", "default")}
    if not case.get("pack_defaults"):
        pack["validators"] = {"dataset": {"min_examples": 0}}
    if case_file != "duplicates":
        # pad_to repeats one filler record, and cases share prompts: only duplicates.yaml wants DUP
        pack.setdefault("validators", {})["duplicates"] = {"enabled": False}
    pack = _deep_merge(pack, case.get("options") or {})
    pack_file = tmp_path / "case-pack.yaml"
    pack_file.write_text(yaml.safe_dump(pack, sort_keys=False), "utf-8")
    config = load_config(pack_file)
    if case.get("format"):
        config = config.with_overrides(data_format=case["format"])
    return config


# -- comparing --------------------------------------------------------------------------------------


@dataclass
class Actual:
    code: str
    severity: str
    line: int | None
    pointer: str | None
    message: str
    data: Any

    def show(self) -> str:
        ptr = f" {self.pointer}" if self.pointer else ""
        data = f" data={self.data}" if self.data else ""
        return f"{self.code} line={self.line}{ptr} [{self.severity}] {self.message!r}{data}"


def _show_expected(exp: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {exp[k]!r}" for k in ("code", "line", "pointer", "severity", "message", "data") if k in exp) + "}"


def _matches(exp: dict[str, Any], act: Actual) -> bool:
    if exp["code"] != act.code or exp["line"] != act.line:
        return False
    if "pointer" in exp and exp["pointer"] != act.pointer:
        return False
    if "severity" in exp and str(exp["severity"]) != act.severity:
        return False
    if "message" in exp and not re.search(str(exp["message"]), act.message):
        return False
    if "data" in exp:
        data = act.data or {}
        if any(k not in data or data[k] != v for k, v in exp["data"].items()):
            return False
    return True


def _match(expected: list[dict[str, Any]], actual: list[Actual]) -> tuple[list[int], list[int]]:
    """Maximum matching of expected entries to findings; returns unmatched expected and actual indexes."""
    owner: dict[int, int] = {}  # actual index -> expected index

    def augment(e: int, seen: set[int]) -> bool:
        for a, act in enumerate(actual):
            if a in seen or not _matches(expected[e], act):
                continue
            seen.add(a)
            if a not in owner or augment(owner[a], seen):
                owner[a] = e
                return True
        return False

    for e in range(len(expected)):
        augment(e, set())
    matched_expected = set(owner.values())
    return (
        [e for e in range(len(expected)) if e not in matched_expected],
        [a for a in range(len(actual)) if a not in owner],
    )


_MISSING = object()


def _resolve(value: Any, pointer: str) -> Any:
    if pointer == "":
        return value
    node = value
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if part not in node:
                return _MISSING
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return _MISSING
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _sanity(case: dict[str, Any], actual: list[Actual]) -> list[str]:
    problems = []
    by_line = {i + 1: r for i, r in enumerate(_records_of(case))} if "records" in case else {}
    for act in actual:
        if not act.message.strip():
            problems.append(f"empty message: {act.show()}")
        if act.pointer is None:
            continue
        if not act.pointer.startswith("/"):
            problems.append(f"pointer is not a JSON Pointer: {act.show()}")
            continue
        if act.line in by_line:
            parent = act.pointer.rsplit("/", 1)[0]
            if _resolve(by_line[act.line], parent) is _MISSING:
                problems.append(f"pointer's parent {parent!r} does not exist in the record: {act.show()}")
    return problems


# -- the tests --------------------------------------------------------------------------------------


def test_case_files_exist() -> None:
    assert sorted(CASES_DIR.glob("*.yaml")), f"no case files in {CASES_DIR}"


@pytest.mark.parametrize(("case_file", "case"), load_cases())
def test_case(case_file: str, case: dict[str, Any], tmp_path: Path) -> None:
    if "broken" in case:
        pytest.fail(case["broken"], pytrace=False)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / case.get("filename", "data.jsonl")
    path.write_bytes(_payload(case))
    config = _config(case, tmp_path, case_file)
    if case.get("role", "train") == "validation":
        report = check([], config, validation=[path])
    else:
        report = check([path], config)

    ignore = tuple(case.get("ignore") or ())
    actual = [
        Actual(f.code, str(f.severity), f.line, f.pointer, f.message, f.data)
        for f in report.findings
        if not (ignore and f.code.startswith(ignore))
    ]
    expected = list(case["expect"])
    missing, unexpected = _match(expected, actual)
    problems = _sanity(case, actual)
    if missing or unexpected or problems:
        title = f"case {case_file}::{case['id']}"
        if case.get("description"):
            title += f": {' '.join(str(case['description']).split())}"
        lines = [title]
        if missing:
            lines.append("expected but not reported:")
            lines += [f"  - {_show_expected(expected[e])}" for e in missing]
        if unexpected:
            lines.append("reported but not expected:")
            lines += [f"  + {actual[a].show()}" for a in unexpected]
        if problems:
            lines.append("malformed findings:")
            lines += [f"  ! {p}" for p in problems]
        lines.append("all reported findings:")
        lines += [f"    {a.show()}" for a in actual] or ["    (none)"]
        pytest.fail("\n".join(lines), pytrace=False)
