"""Every report format on the sample data: golden files, SARIF schema, JUnit parsed back, GitHub escaping.

Golden files in tests/golden/ are rewritten only with DSQA_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from dsqa import Report, check, load_config
from dsqa.model import DatasetResult, Finding, Severity
from dsqa.reporters import REPORTERS, render
from dsqa.reporters.github import escape_data, escape_property
from dsqa.reporters.htmlreport import tokens_chart
from helpers import ROOT, run_cli

GOLDEN = ROOT / "tests" / "golden"
#: the validators the golden files cover; new validators would otherwise change every golden file
GOLDEN_VALIDATORS = ("reader", "format", "schema", "dataset", "shape", "engine")
SUFFIX = {"text": "txt", "json": "json", "html": "html", "markdown": "md", "sarif": "sarif", "junit": "xml", "github": "txt"}
SECRET = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture(scope="module")
def sample_report() -> Report:
    cwd = os.getcwd()
    os.chdir(ROOT)  # relative paths in the report, so the golden files hold no machine's directory
    try:
        config = load_config("default")
        config = dataclasses.replace(config, registry={k: v for k, v in config.registry.items() if k in GOLDEN_VALIDATORS})
        return check(["sample_data/defects.jsonl"], config, validation=["sample_data/chat_clean.jsonl"])
    finally:
        os.chdir(cwd)


def _render(name: str, report: Report) -> str:
    buf = io.StringIO()
    render(name, report, buf)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_golden(sample_report: Report, name: str) -> None:
    got = _render(name, sample_report)
    path = GOLDEN / f"defects.{name}.{SUFFIX.get(name, 'out')}"
    if os.environ.get("DSQA_UPDATE_GOLDEN") == "1":
        path.write_bytes(got.encode("utf-8"))
    assert path.exists(), f"{path} is missing; run with DSQA_UPDATE_GOLDEN=1 to write it"
    want = path.read_bytes().decode("utf-8")
    assert got == want, f"{name} report differs from {path}; if the change is intended, rerun with DSQA_UPDATE_GOLDEN=1"
    assert str(ROOT) not in got  # stable across machines


def test_cli_knows_every_reporter() -> None:
    from dsqa.cli import REPORT_FORMATS

    assert set(REPORT_FORMATS) == set(REPORTERS)


def test_sarif_is_valid_2_1_0(sample_report: Report) -> None:
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads(_render("sarif", sample_report))
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    sch003 = rules[ids.index("SCH003")]
    assert sch003["defaultConfiguration"]["level"] == "error"
    fmt001 = rules[ids.index("FMT001")]
    # a rule's help is its code's documentation, exactly what `dsqa rules CODE` prints
    assert fmt001["help"]["text"].startswith("FMT001: record matches no known format\n")
    assert "Why:" in fmt001["help"]["text"] and "Passing:" in fmt001["help"]["text"]
    results = run["results"]
    assert len(results) == len(sample_report.findings)
    by_line = {(r["ruleId"], r["locations"][0]["physicalLocation"].get("region", {}).get("startLine")) for r in results}
    assert ("SCH003", 5) in by_line and ("RDR005", 4) in by_line
    blank = next(r for r in results if r["ruleId"] == "RDR005")
    assert blank["level"] == "warning"
    assert blank["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sample_data/defects.jsonl"
    assert all(ids[r["ruleIndex"]] == r["ruleId"] for r in results)


def test_sarif_with_baseline_is_valid(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    lines = (ROOT / "sample_data" / "defects.jsonl").read_bytes().split(b"\n")
    data = tmp_path / "d.jsonl"
    data.write_bytes(b"\n".join(lines))
    run_cli("check", str(data), "-f", "json", "-o", str(tmp_path / "old.json"))
    data.write_bytes(b"\n".join(lines[:4] + lines[5:]))  # line 5 (SCH003) fixed by deletion
    proc = run_cli("check", str(data), "-f", "sarif", "--baseline", str(tmp_path / "old.json"))
    assert proc.returncode == 0, proc.stderr
    log = json.loads(proc.stdout)
    jsonschema.Draft4Validator(schema).validate(log)
    states = [(r["ruleId"], r["baselineState"]) for r in log["runs"][0]["results"]]
    assert ("SCH003", "absent") in states
    assert {s for _, s in states} == {"unchanged", "absent"}


def test_junit_parses_back(sample_report: Report) -> None:
    root = ET.fromstring(_render("junit", sample_report))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["sample_data/defects.jsonl", "sample_data/chat_clean.jsonl"]
    defects, clean = suites
    cases = {c.get("name"): c for c in defects.findall("testcase")}
    assert list(cases) == ["reader", "format", "schema", "dataset", "shape"]
    assert defects.get("tests") == "5"
    errors = sum(1 for f in sample_report.findings if f.path.endswith("defects.jsonl") and f.severity == Severity.ERROR)
    assert int(defects.get("failures")) == errors == 27
    assert sorted(f.get("type") for f in cases["format"].findall("failure")) == ["FMT001", "FMT002", "FMT003"]
    # warnings are below --fail-on error: listed, but not failures
    assert "RDR005" not in [f.get("type") for f in cases["reader"].findall("failure")]
    assert "RDR005" in cases["reader"].find("system-out").text
    assert clean.get("failures") == "0" and not clean.findall("testcase/failure")
    assert int(root.get("failures")) == 27


def test_junit_fail_on_warning_makes_warnings_failures(sample_report: Report) -> None:
    report = dataclasses.replace(sample_report, fail_on="warning")
    root = ET.fromstring(_render("junit", report))
    assert int(root.get("failures")) == 30


def test_github_escaping() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    finding = Finding("SCH003", Severity.ERROR, "bad: role, 100%\nnext", "schema", "dir,1/a:b.jsonl", 7, "/messages/0/role")
    report = Report([finding], [DatasetResult("dir,1/a:b.jsonl", "openai-chat", 10)])
    out = _render("github", report)
    # a line break that came from the data is shown, not followed (as in every human format)
    assert out == "::error file=dir%2C1/a%3Ab.jsonl,line=7,title=SCH003::bad: role, 100%25\\x0anext (at /messages/0/role)\n"


def test_github_levels(sample_report: Report) -> None:
    lines = _render("github", sample_report).splitlines()
    assert len(lines) == len(sample_report.findings)
    assert "::warning file=sample_data/defects.jsonl,line=4,title=RDR005::" in "\n".join(lines)
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)


def test_excerpt_masks_secrets(tmp_path: Path) -> None:
    record = {"messages": [{"role": "user", "content": "my key?"}, {"role": "bot", "content": f"it is {SECRET}"}]}
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    report = check([path], load_config("default"))
    for name in REPORTERS:
        assert SECRET not in _render(name, report), name
    sch003 = next(f for f in report.findings if f.code == "SCH003")
    assert sch003.excerpt is not None and "[masked]" in sch003.excerpt


def test_html_token_histogram_marks_limit() -> None:
    svg = tokens_chart({"max_tokens_per_example": 1000, "histogram": [
        {"lo": 0, "hi": 500, "count": 3}, {"lo": 500, "hi": 1000, "count": 2}, {"lo": 1000, "hi": 1500, "count": 1},
    ]})
    assert svg is not None and 'data-chart="tokens"' in svg
    assert svg.count('class="limit"') == 1 and "limit 1,000" in svg
    assert svg.count('class="bar over"') == 1  # the bin past the limit


def test_one_run_writes_every_format(tmp_path: Path) -> None:
    targets = {name: tmp_path / f"report.{SUFFIX[name]}.{name}" for name in REPORTERS}
    proc = run_cli("check", "sample_data/defects.jsonl", "-q", "-f", "json",
                   *(f"--report={name}:{path}" for name, path in targets.items()))
    assert proc.returncode == 1 and proc.stderr == ""
    assert json.loads(targets["json"].read_text(encoding="utf-8")) == json.loads(proc.stdout)
    assert json.loads(targets["sarif"].read_text(encoding="utf-8"))["version"] == "2.1.0"
    errors = json.loads(proc.stdout)["summary"]["error"]
    assert ET.parse(targets["junit"]).getroot().get("failures") == str(errors)
    assert targets["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert targets["markdown"].read_text(encoding="utf-8").startswith("## dsqa: ❌ failed")
    assert targets["github"].read_text(encoding="utf-8").startswith("::error file=sample_data/defects.jsonl,line=1,")
    assert "FAILED" in targets["text"].read_text(encoding="utf-8")


def test_bad_report_spec_is_exit_2(tmp_path: Path) -> None:
    proc = run_cli("check", "sample_data/defects.jsonl", "--report", f"pdf:{tmp_path / 'r.pdf'}")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--report 'pdf:" in lines[0] and "FORMAT:PATH" in lines[0]
