"""The stats every validator publishes match the types in dsqa.stats, key for key, on real data."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest

from dsqa import check, load_config
from dsqa.stats import DatasetStats, TokensStats
from helpers import ROOT, chat, run_cli, write_jsonl

REAL = Path("/work/shared/data/real/llamafactory")


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def conforms(value: Any, tp: Any, where: str = "stats") -> list[str]:
    """Where ``value`` does not match the type ``tp`` (empty when it does)."""
    origin = get_origin(tp)
    if tp is Any:
        return []
    if origin in (Union, types.UnionType):
        results = [conforms(value, arm, where) for arm in get_args(tp)]
        return [] if any(not r for r in results) else results[0]
    if tp is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if _is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        hints = get_type_hints(tp)
        problems = [f"{where}.{k}: not in {tp.__name__}" for k in value if k not in hints]
        problems += [f"{where}.{k}: missing from {tp.__name__}" for k in tp.__required_keys__ if k not in value]
        for key, item in value.items():
            if key in hints:
                problems += conforms(item, hints[key], f"{where}.{key}")
        return problems
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, item in enumerate(value) for p in conforms(item, get_args(tp)[0], f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        return [p for k, item in value.items() for p in conforms(item, get_args(tp)[1], f"{where}.{k}")]
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, tp)
    return [] if ok else [f"{where}: {value!r} is not {getattr(tp, '__name__', tp)}"]


def test_the_checker_catches_a_wrong_key_and_type() -> None:
    assert conforms({"formats": {"openai-chat": 3}}, DatasetStats) == []
    assert conforms({"formatz": {}}, DatasetStats) == ["stats.formatz: not in DatasetStats"]
    assert conforms({"shape": {"messages": {"2": "x"}, "roles": {}}}, DatasetStats) == ["stats.shape.messages.2: 'x' is not int"]
    tokens: dict[str, Any] = {"model": "m"}
    assert "stats.tokens.encoding: missing from TokensStats" in conforms({"tokens": tokens}, DatasetStats)
    assert typing.get_type_hints(TokensStats)["estimated_cost_usd"] == float | None


@pytest.mark.parametrize("jobs", [1, 2])
def test_sample_data_stats_conform(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import dsqa.engine

    monkeypatch.setattr(dsqa.engine, "PARALLEL_MIN_BYTES", 0)
    report = check([ROOT / "sample_data" / "defects.jsonl", ROOT / "sample_data" / "chat_clean.jsonl"],
                   load_config("default"), validation=[ROOT / "sample_data" / "chat_clean.jsonl"], jobs=jobs)
    seen: set[str] = set()
    for ds in report.datasets:
        # through JSON, as other tools read it
        stats = json.loads(json.dumps(ds.to_dict()))["stats"]
        assert conforms(stats, DatasetStats) == [], ds.path
        seen |= set(stats)
        seen |= {f"duplicates.{k}" for k in stats.get("duplicates", {})}
    assert {"formats", "shape", "tokens", "duplicates", "diversity"} <= seen
    assert {"duplicates.top_clusters", "duplicates.leaked_exact", "duplicates.leaked_near"} <= seen


def test_real_and_preference_stats_conform(tmp_path: Path) -> None:
    files = sorted(REAL.glob("*.json*"))[:3] if REAL.is_dir() else []
    pref = {"input": {"messages": [{"role": "user", "content": "Hi"}]},
            "preferred_output": [{"role": "assistant", "content": "Hello!"}],
            "non_preferred_output": [{"role": "assistant", "content": "Go away."}]}
    paths = [write_jsonl(tmp_path / "pref.jsonl", [pref] * 3), write_jsonl(tmp_path / "chat.jsonl", [chat(i) for i in range(4)])]
    for path in paths:
        data = json.loads(run_cli("check", str(path), "-f", "json", "--epochs", "3").stdout)
        for ds in data["datasets"]:
            assert conforms(ds["stats"], DatasetStats) == [], path
    for path in files:
        data = json.loads(run_cli("check", str(path), "-f", "json", "--jobs", "1").stdout)
        for ds in data["datasets"]:
            assert conforms(ds["stats"], DatasetStats) == [], path
