"""The engine builds only the validators a run needs: a reported code, or stats the report shows."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from dsqa import check, load_config
from dsqa.config import Config
from dsqa.validators import all_validators
from helpers import chat, run_cli, write_jsonl

CNT_CODES = [f"CNT00{i}" for i in range(1, 7)]


def _data(tmp_path: Path) -> Path:
    records = [chat(i) for i in range(12)]
    records[2]["messages"][2]["content"] = "I cannot help with that request."  # CNT003
    records[4]["messages"][2]["content"] = ""  # CNT001
    return write_jsonl(tmp_path / "d.jsonl", records)


def _watched(config: Config, name: str, built: list[Any]) -> Config:
    """``config`` whose validator ``name`` records each instance it makes (and its context)."""
    base = config.registry[name]

    class Watched(base):  # type: ignore[valid-type,misc]
        def __init__(self, options: Any, context: Any) -> None:
            built.append(context)
            super().__init__(options, context)

    return dataclasses.replace(config, registry={**config.registry, name: Watched})


def test_ignoring_every_content_code_does_not_build_the_content_validator(tmp_path: Path) -> None:
    assert list(all_validators()["content"].codes) == CNT_CODES
    path = _data(tmp_path)
    built: list[Any] = []
    config = _watched(load_config("default"), "content", built)
    report = check([path], config.with_overrides(ignore=("CNT003", *CNT_CODES[:2], *CNT_CODES[3:])))
    assert built == []
    assert "content" not in report.validators and "schema" in report.validators
    assert not [f for f in report.findings if f.code.startswith("CNT")]


def test_ignoring_one_content_code_builds_it_and_tells_it_what_is_reported(tmp_path: Path) -> None:
    path = _data(tmp_path)
    built: list[Any] = []
    config = _watched(load_config("default"), "content", built)
    report = check([path], config.with_overrides(ignore=("CNT003",)))
    assert len(built) == 1 and "content" in report.validators
    enabled = built[0].enabled
    assert "CNT001" in enabled and "CNT003" not in enabled and "SCH001" in enabled
    codes = {f.code for f in report.findings}
    assert "CNT001" in codes and "CNT003" not in codes
    full = {f.code for f in check([path], load_config("default")).findings}
    assert "CNT003" in full


def test_select_builds_only_the_selected_rules_and_the_stats_publishers(tmp_path: Path) -> None:
    path = _data(tmp_path)
    report = check([path], load_config("default").with_overrides(select=("SCH",)))
    ran = set(report.validators)
    assert {"reader", "schema"} <= ran
    assert not ran & {"content", "sensitive", "dataset"}
    # the validators whose stats the reports show still run, and publish them
    publishers = {name for name, cls in all_validators().items() if cls.publishes}
    assert publishers == {"format", "shape", "tokens", "duplicates", "diversity"}
    assert publishers <= ran
    assert {"formats", "shape", "tokens", "duplicates", "diversity"} <= set(report.datasets[0].stats)


def test_ignored_stats_publisher_keeps_its_stats_but_not_its_findings(tmp_path: Path) -> None:
    records = [chat(i) for i in range(12)] + [chat(3)]  # DUP001 at line 13
    path = write_jsonl(tmp_path / "d.jsonl", records)
    report = check([path], load_config("default").with_overrides(ignore=("DUP", "TOK")))
    assert not [f for f in report.findings if f.code.startswith(("DUP", "TOK"))]
    stats = report.datasets[0].stats
    assert stats["duplicates"]["exact_duplicates"] == 1
    assert stats["tokens"]["examples"] == 13 and stats["tokens"]["total_tokens"] > 0
    proc = run_cli("check", str(path), "--ignore", "DUP,TOK")
    assert "1 exact duplicate in 1 group" in proc.stdout and "billed tokens" in proc.stdout


def test_disabled_stats_publisher_is_not_built(tmp_path: Path) -> None:
    path = _data(tmp_path)
    config = load_config("default")
    config = dataclasses.replace(config, validators={**config.validators, "tokens": {"enabled": False}})
    report = check([path], config)
    assert "tokens" not in report.validators and "tokens" not in report.datasets[0].stats


@pytest.mark.parametrize("jobs", [1, 3])
def test_fold_is_the_same_with_jobs(tmp_path: Path, jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import dsqa.engine

    monkeypatch.setattr(dsqa.engine, "PARALLEL_MIN_BYTES", 0)
    path = write_jsonl(tmp_path / "d.jsonl", [chat(i % 40) for i in range(120)])
    config = load_config("default").with_overrides(ignore=("CNT", "SEC"))
    one = check([path], config).to_dict()
    many = check([path], config, jobs=jobs).to_dict()
    assert one == many and "content" not in one["validators"]
