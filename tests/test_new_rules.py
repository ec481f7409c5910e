"""The conversation, preference and preparation rules on real data, and their --jobs merges."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dsqa import check, load_config
from dsqa.validators.conversation.ends import MAX_KEYS, Ends
from helpers import REAL, run_cli

NEW = ("DLG", "TPL", "PRF008", "PRF009", "PRF010", "PRP")


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("real")
    files = {}
    for name in ("alpaca_en_demo", "glaive_toolcall_en_demo", "dpo_en_demo", "identity"):
        target = out / f"{name}.jsonl"
        proc = run_cli("convert", str(REAL / f"{name}.json"), "-o", str(target))
        assert target.is_file(), proc.stderr
        files[name] = target
    return files


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the demo sets are not at {REAL}")
def test_new_rules_find_nothing_wrong_in_the_demo_sets(converted: dict[str, Path]) -> None:
    # reviewed by hand: the only candidates were an editing task answered with its input
    # (DLG005, no longer flagged) and two extractive answers in dpo_en_demo (PRF008, likewise)
    config = load_config("default").with_overrides(select=NEW)
    for name, path in converted.items():
        report = check([path], config)
        assert [(f.code, f.line) for f in report.findings] == [], name


def test_shared_ends_merge_like_one_run() -> None:
    rng = random.Random(1)
    texts = [f"{rng.random():.12f} answer!!!" for _ in range(MAX_KEYS + 5_000)]
    whole = Ends()
    for t in texts:
        whole.add(t)
    parts = [Ends() for _ in range(3)]
    cut = len(texts) // 3
    for i, t in enumerate(texts):
        parts[min(i // cut, 2)].add(t)
    merged = parts[0]
    merged.merge(parts[1])
    merged.merge(parts[2])
    assert (merged.width, merged.counts, merged.texts) == (whole.width, whole.counts, whole.texts)
    # past MAX_KEYS distinct (start, end) pairs the window narrows, the same way in both
    assert whole.width == 4 and whole.shared(0.9, start=False) == ("r!!!", len(texts))


def test_jobs_give_the_same_new_findings(tmp_path: Path) -> None:
    rng = random.Random(2)
    rows = []
    for i in range(3_000):
        reply = f" The total is {rng.randint(1, 999)}.!!!" if i % 50 else "<think>Adding up.</think> Done."
        rows.append({"messages": [{"role": "user", "content": f"Question {i}: add the numbers {rng.random()}"},
                                  {"role": "assistant", "content": reply}]})
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = load_config("default").with_overrides(select=NEW)
    one = check([path], config, jobs=1)
    three = check([path], config, jobs=3)
    assert [f.to_dict() for f in one.findings] == [f.to_dict() for f in three.findings]
    assert {f.code for f in one.findings} == {"PRP001", "PRP002", "TPL002"}
