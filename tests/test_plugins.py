"""Third-party validators arrive through the `dsqa.validators` entry-point group, like an installed package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import chat, run_cli, write_jsonl

PLUGIN = '''
"""A third-party validator: flags assistant replies written in capitals."""
from dsqa.model import Severity
from dsqa.validators import Code, Validator


class ShoutingValidator(Validator):
    """Shouting: assistant replies in capital letters.

    Codes:
      SHT001  assistant reply is all capitals
    """

    name = "shouting"
    codes = {"SHT001": Code(Severity.ERROR, "assistant reply is all capitals")}
    options_schema = {"type": "object", "properties": {"min_length": {"type": "integer"}}}
    defaults = {"min_length": 4}

    def check(self, record):
        for i, m in enumerate(record.value.get("messages", [])):
            text = m.get("content") if isinstance(m, dict) else None
            if m.get("role") == "assistant" and isinstance(text, str) and len(text) >= self.options["min_length"] and text.isupper():
                yield self.finding("SHT001", record, "assistant reply is all capitals", f"/messages/{i}/content")
'''


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "dsqa_shouting.py").write_text(PLUGIN)
    info = site / "dsqa_shouting-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dsqa-shouting\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[dsqa.validators]\nshouting = dsqa_shouting:ShoutingValidator\n")
    return site


def _data(tmp_path: Path) -> Path:
    records = [chat(i) for i in range(12)]
    records[6]["messages"][2]["content"] = "STOP SHOUTING AT ME."
    return write_jsonl(tmp_path / "train.jsonl", records)


def test_entry_point_validator_reports_findings(tmp_path: Path, site: Path) -> None:
    proc = run_cli("check", str(_data(tmp_path)), "--format", "json", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 1, proc.stderr
    found = [(f["code"], f["validator"], f["line"], f["pointer"]) for f in json.loads(proc.stdout)["findings"]]
    assert found == [("SHT001", "shouting", 7, "/messages/2/content")]


def test_engine_applies_pack_policy_to_plugin_findings(tmp_path: Path, site: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nseverity:\n  SHT001: warning\nvalidators:\n  shouting:\n    min_length: 4\n")
    proc = run_cli("check", str(_data(tmp_path)), "--rules", str(pack), "--format", "json", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [(f["code"], f["severity"]) for f in data["findings"]] == [("SHT001", "warning")]
    disabled = tmp_path / "off.yaml"
    disabled.write_text("validators:\n  shouting:\n    enabled: false\n")
    proc = run_cli("check", str(_data(tmp_path)), "--rules", str(disabled), "--format", "json", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []


def test_plugin_is_documented_and_its_options_checked(tmp_path: Path, site: Path) -> None:
    proc = run_cli("rules", "SHT001", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0
    assert "Shouting: assistant replies in capital letters." in proc.stdout
    pack = tmp_path / "bad.yaml"
    pack.write_text("validators:\n  shouting:\n    min_lenght: 3\n")
    proc = run_cli("check", str(_data(tmp_path)), "--rules", str(pack), env={"PYTHONPATH": str(site)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"dsqa: error: {pack}: unknown option 'validators.shouting.min_lenght'"


def test_plugin_that_raises_does_not_stop_the_run(tmp_path: Path, site: Path) -> None:
    (site / "dsqa_shouting.py").write_text(PLUGIN.replace("for i, m in enumerate", "1 / 0\n        for i, m in enumerate"))
    proc = run_cli("check", str(_data(tmp_path)), "--format", "json", env={"PYTHONPATH": str(site)})
    data = json.loads(proc.stdout)
    crashes = [f for f in data["findings"] if f["code"] == "DSQ001"]
    assert len(crashes) == 12 and crashes[0]["line"] == 1
    assert "ZeroDivisionError" in crashes[0]["message"]
    assert data["datasets"][0]["records"] == 12
