"""Rule packs and project configuration: discovery, extends, validation and precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsqa import check, load_config
from dsqa.config import pack_names
from dsqa.model import Severity
from helpers import chat, run_cli, write_jsonl


def _data(tmp_path: Path) -> Path:
    records = [chat(i) for i in range(12)]
    records[1]["messages"].append({"role": "user", "content": "ok"})  # SCH016, a warning
    return write_jsonl(tmp_path / "train.jsonl", records)


def _verdict(data: Path, cwd: Path, *args: str) -> tuple[int, bool, str]:
    proc = run_cli("check", str(data), "--format", "json", *args, cwd=cwd)
    report = json.loads(proc.stdout)
    return proc.returncode, report["passed"], report["fail_on"]


def test_bundled_packs() -> None:
    assert {"default", "openai-sft", "openai-dpo", "strict"} <= set(pack_names())
    assert load_config("openai-sft").data_format == "openai-chat"
    assert load_config("openai-dpo").data_format == "openai-preference"
    strict = load_config("strict")
    assert strict.fail_on == "warning"
    assert strict.severity["SCH016"] is Severity.ERROR
    assert [Path(s).name for s in strict.sources] == ["default.yaml", "strict.yaml"]


def test_nearest_project_config_wins(tmp_path: Path) -> None:
    data = _data(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.dsqa]\nfail_on = "never"\n')
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (tmp_path / "a" / ".dsqa.yaml").write_text("fail_on: warning\n")
    assert _verdict(data, nested) == (1, False, "warning")
    assert _verdict(data, tmp_path) == (0, True, "never")
    (nested / "pyproject.toml").write_text('[tool.dsqa]\nseverity = {SCH016 = "info"}\n')
    proc = run_cli("check", str(data), "--format", "json", cwd=nested)
    assert proc.returncode == 0
    assert [f["severity"] for f in json.loads(proc.stdout)["findings"]] == ["info"]


def test_pyproject_without_dsqa_table_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "sub").mkdir()
    cfg = load_config(start=tmp_path / "sub")
    assert [Path(s).name for s in cfg.sources] == ["default.yaml"]


def test_rules_flag_replaces_project_config(tmp_path: Path) -> None:
    data = _data(tmp_path)
    (tmp_path / ".dsqa.yaml").write_text("fail_on: warning\n")
    assert _verdict(data, tmp_path) == (1, False, "warning")
    assert _verdict(data, tmp_path, "--rules", "default") == (0, True, "error")


def test_extends_layers_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "base.yaml").write_text("extends: strict\nseverity:\n  SCH016: info\nignore: [RDR005]\n")
    (tmp_path / "team.yaml").write_text("extends: packs/base.yaml\nvalidators:\n  dataset:\n    min_examples: 20\n")
    cfg = load_config(tmp_path / "team.yaml")
    assert cfg.fail_on == "warning"
    assert cfg.severity["SCH016"] is Severity.INFO and cfg.severity["RDR004"] is Severity.ERROR
    assert cfg.ignore == ("RDR005",)
    assert cfg.options("dataset") == {"min_examples": 20}
    report = check([_data(tmp_path)], cfg)
    assert sorted((f.code, str(f.severity), f.line) for f in report.findings) == [
        ("DST001", "error", None),
        ("SCH016", "info", 2),
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (".dsqa.yaml", "fial_on: warning\n", "unknown key 'fial_on'"),
        (".dsqa.yaml", "fail_on: sometimes\n", "fail_on: 'sometimes' is not one of"),
        (".dsqa.yaml", "validators:\n  schema:\n    special_tokenz: []\n", "unknown option 'validators.schema.special_tokenz'"),
        (".dsqa.yaml", "validators:\n  nosuch: {}\n", "unknown validator 'validators.nosuch'"),
        (".dsqa.yaml", "severity:\n  SCH999: error\n", "severity: unknown code 'SCH999'"),
        (".dsqa.yaml", "ignore: [ZZZ]\n", "ignore: 'ZZZ' matches no known finding code"),
        (".dsqa.yaml", "extends: nosuchpack\n", "unknown rule pack 'nosuchpack'"),
        (".dsqa.yaml", "extends: ./.dsqa.yaml\n", "'extends' loops"),
        (".dsqa.yaml", "fail_on: [\n", "invalid YAML (line"),
        ("pyproject.toml", "[tool.dsqa]\nbogus = 1\n", "unknown key 'tool.dsqa.bogus'"),
    ],
)
def test_bad_config_is_exit_2_naming_file_and_key(tmp_path: Path, name: str, text: str, message: str) -> None:
    data = _data(tmp_path)
    (tmp_path / name).write_text(text)
    proc = run_cli("check", str(data), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert str(tmp_path) in lines[0] or "nosuchpack" in lines[0]
    assert message in lines[0], lines[0]
