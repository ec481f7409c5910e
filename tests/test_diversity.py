"""Diversity statistics: exact numbers on a small file, the same report with --jobs, text and JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from dsqa import check, engine, load_config
from dsqa.validators.diversity import _Distinct
from helpers import run_cli, write_jsonl


def _rec(i: int, system: str | None = None, tools: bool = False, image: bool = False, turns: int = 1) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for t in range(turns):
        user: Any = f"Question {i % 40} part {t}: how far is town {i % 40}?"
        if image and t == 0:
            user = [{"type": "text", "text": user}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": f"{['Sure', 'Well', 'Yes'][i % 3]}, town {i} is {i * 3} km away."})
    record: dict[str, Any] = {"messages": messages}
    if tools:
        record["tools"] = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    return record


def _pack(tmp_path: Path, **options: Any) -> Any:
    pack = tmp_path / "pack.yaml"
    pack.write_text(yaml.safe_dump({"extends": "default", "validators": {"diversity": options}}), "utf-8")
    return load_config(pack)


def test_exact_stats_on_a_small_file(tmp_path: Path) -> None:
    records = [_rec(0, system="You are a guide.", tools=True), _rec(1, image=True, turns=2), _rec(2, system="You are a guide."),
               _rec(40, system="You are a map.")]  # record 40 asks record 0's question again
    path = write_jsonl(tmp_path / "small.jsonl", records)
    stats = check([path], load_config("default")).datasets[0].stats["diversity"]
    assert stats["examples"] == 4
    assert stats["sample_size"] == 4
    assert stats["roles"] == {"system": 3, "user": 5, "assistant": 5}
    assert stats["turns"] == {"min": 3, "mean": 3.25, "max": 4, "histogram": {"3": 3, "4": 1}}
    assert stats["with_tools_share"] == 0.25
    assert stats["with_images_share"] == 0.25
    assert stats["system_prompts"] == {"examples_with": 3, "distinct": 2,
                                       "top": [{"text": "You are a guide.", "count": 2}, {"text": "You are a map.", "count": 1}]}
    assert stats["unique_first_user_share"] == 0.75
    openings = {o["text"]: (o["count"], o["share"]) for o in stats["assistant_openings"]}
    assert openings["Well, town 1 is 3"] == (2, 0.4)
    assert stats["lengths"]["assistant_chars"]["min"] == len("Yes, town 2 is 6 km away.")
    assert stats["lengths"]["user_chars"]["max"] == 2 * len("Question 1 part 0: how far is town 1?")


@pytest.mark.parametrize("options", [
    {"sample_size": 7, "max_system_prompts": 3},     # the sample and the system-prompt cap both overflow
    {"sample_size": 5000, "max_system_prompts": 50},  # everything exact
])
@pytest.mark.parametrize("jobs", [2, 3])
def test_jobs_give_the_same_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], jobs: int) -> None:
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    records = [_rec(i, system=f"You are helper {i % 5}." if i % 3 else None, tools=i % 7 == 0, image=i % 11 == 0,
                    turns=1 + i % 3) for i in range(1500)]
    path = write_jsonl(tmp_path / "many.jsonl", records)
    config = _pack(tmp_path, **options)
    one = check([path], config, jobs=1).to_dict()
    many = check([path], config, jobs=jobs).to_dict()
    assert many == one
    stats = one["datasets"][0]["stats"]["diversity"]
    assert stats["sample_size"] == min(options["sample_size"], 1500)
    if options["max_system_prompts"] < 5:
        assert stats["system_prompts"]["distinct"] is None and stats["system_prompts"]["more_than"] == 3
    else:
        assert stats["system_prompts"]["distinct"] == 5


@pytest.mark.parametrize("jobs", [1, 3])
def test_exact_counts_across_the_blocks_the_lengths_are_folded_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    # lengths and first user messages are folded in 4,096 records at a time: 9,000 records cross
    # two block boundaries (and the worker spans cross them at other places)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    users = [f"Question {i % 900}: " + "x" * (i % 900 % 37) for i in range(9000)]  # 900 distinct: counted exactly
    replies = [f"Answer {i}." for i in range(9000)]
    records = [{"messages": [{"role": "user", "content": u}, {"role": "assistant", "content": a}]} for u, a in zip(users, replies)]
    path = write_jsonl(tmp_path / "blocks.jsonl", records)
    stats = check([path], load_config("default"), jobs=jobs).datasets[0].stats["diversity"]
    assert stats["examples"] == 9000
    assert stats["roles"] == {"user": 9000, "assistant": 9000}
    assert stats["unique_first_user_share"] == 0.1
    for key, texts in (("user_chars", users), ("assistant_chars", replies)):
        lengths = [len(t) for t in texts]
        summary = stats["lengths"][key]
        assert (summary["min"], summary["max"]) == (min(lengths), max(lengths))
        assert summary["mean"] == round(sum(lengths) / 9000, 1)


def test_hyperloglog_is_exact_when_small_and_close_when_large() -> None:
    small, large = _Distinct(), _Distinct()
    for i in range(2000):
        small.add(f"prompt {i % 1000}")
    assert small.estimate() == 1000
    for i in range(50_000):
        large.add(f"prompt number {i}")
    assert abs(large.estimate() - 50_000) < 50_000 * 0.04
    half = _Distinct()
    for i in range(25_000):
        half.add(f"prompt number {i}")
    other = _Distinct()
    for i in range(25_000, 50_000):
        other.add(f"prompt number {i}")
    half.merge(other)
    assert half.registers == large.registers


def test_text_and_json_reports_carry_the_block(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [_rec(i, system="You are a guide.") for i in range(12)])
    text = run_cli("check", str(path), "-f", "text")
    assert text.returncode == 0, text.stderr
    assert "diversity (distinct-n, first messages and openings over every record looked at):" in text.stdout
    assert "  all 12 records looked at\n" in text.stdout
    assert "most common assistant openings:" in text.stdout
    report = json.loads(run_cli("check", str(path), "-f", "json").stdout)
    assert report["datasets"][0]["stats"]["diversity"]["system_prompts"]["distinct"] == 1
