"""Property: checking a source-format file in place gives the codes that convert-then-check gives."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsqa import check, load_config
from dsqa.convert import convert_file

#: realistic text with and without the problems the content rules look for
TEXTS = [
    "What is the capital of Norway?",
    "Oslo is the capital of Norway.",
    "Summarise the paragraph in one sentence.",
    "Hello! I am {{name}}, an assistant made by {{author}}.",
    "As an AI language model, I cannot have opinions.",
    "I'm sorry, but I cannot help with that.",
    "The café serves crÃ¨me brÃ»lÃ©e on Fridays.",
    "Here is the code:\n```python\nprint('hi')\n",
    "Call me at [insert phone number] tomorrow.",
    "My key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD please keep it.",
    "",
    "   ",
    "Thanks!",
    "The answer is 42.",
    "Write a haiku about autumn leaves.",
    "Red leaves drift and fall / the maple lets go softly / winter waits below",
]
text = st.one_of(st.sampled_from(TEXTS), st.text(min_size=0, max_size=30))
maybe_text = st.one_of(text, text, text, st.none(), st.integers())  # some records are rejected


@st.composite
def alpaca(draw: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"instruction": draw(maybe_text), "input": draw(st.sampled_from(["", "Oslo", "2, 2"])), "output": draw(maybe_text)}
    if draw(st.booleans()):
        record["system"] = draw(text)
    if draw(st.booleans()):
        record["history"] = draw(st.lists(st.tuples(text, text).map(list), max_size=2))
    return record


TOOLS = json.dumps([{"name": "get_weather", "description": "Weather for a city",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])


@st.composite
def sharegpt(draw: Any, preference: bool = False) -> dict[str, Any]:
    turns: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        turns.append({"from": "human", "value": draw(text)})
        if draw(st.booleans()) and not preference:
            turns.append({"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": draw(text)}})})
            turns.append({"from": draw(st.sampled_from(["observation", "observation", "tool_result"])), "value": draw(text)})
        if not preference:
            turns.append({"from": draw(st.sampled_from(["gpt", "gpt", "gpt", "bot"])), "value": draw(maybe_text)})
        elif len(turns) < 3:
            pass
    if preference:
        turns = [t for t in turns if t["from"] == "human"][:1]
        record: dict[str, Any] = {"conversations": turns, "chosen": {"from": "gpt", "value": draw(text)},
                                  "rejected": {"from": "gpt", "value": draw(maybe_text)}}
    else:
        record = {"conversations": turns}
        if any(t["from"] == "function_call" for t in turns):
            record["tools"] = TOOLS
    if draw(st.booleans()):
        record["system"] = draw(text)
    return record


@st.composite
def trl(draw: Any) -> dict[str, Any]:
    layout = draw(st.sampled_from(["strings", "messages", "hh"]))
    prompt, good, bad = draw(text), draw(text), draw(maybe_text)
    if layout == "strings":
        return {"prompt": prompt, "chosen": good, "rejected": bad}
    if layout == "hh":
        head = f"\n\nHuman: {prompt}\n\nAssistant: "
        return {"chosen": head + good, "rejected": head + bad if isinstance(bad, str) else bad}
    user = [{"role": "user", "content": prompt}]
    return {"chosen": user + [{"role": "assistant", "content": good}],
            "rejected": user + [{"role": draw(st.sampled_from(["assistant", "assistant", "user"])), "content": bad}]}


@st.composite
def conversational_completion(draw: Any) -> dict[str, Any]:
    return {"prompt": [{"role": "user", "content": draw(text)}],
            "completion": [{"role": "assistant", "content": draw(maybe_text)}]}


STRATEGIES = {
    "alpaca": alpaca(),
    "sharegpt": sharegpt(),
    "sharegpt-preference": sharegpt(preference=True),
    "trl-preference": trl(),
    "prompt-completion": conversational_completion(),
}


def _config() -> Any:
    cfg = load_config("default")
    cfg.validators = {**cfg.validators, "dataset": {**cfg.validators.get("dataset", {}), "min_examples": 0}}
    return cfg


def _by_record(findings: Any, lines: dict[int, int] | None = None) -> tuple[Counter[tuple[str, int]], Counter[str]]:
    """(code, source line) of the findings at a record, and the codes of the dataset-level ones."""
    at: Counter[tuple[str, int]] = Counter()
    dataset: Counter[str] = Counter()
    for f in findings:
        if f.line is None:
            dataset[f.code] += 1
        else:
            at[(f.code, f.line if lines is None else lines[f.line])] += 1
    return at, dataset


def in_place_and_converted(tmp: Path, records: list[dict[str, Any]], fmt: str) -> tuple[Any, Any, Any]:
    """(in-place findings, converted findings by source line, converted dataset-level codes)."""
    src = tmp / "source.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    cfg = _config()
    report = check([src], cfg)
    out, rejects = tmp / "converted.jsonl", tmp / "rejects.jsonl"
    convert_file(src, out, rejects=rejects, source=fmt)
    rejected = {json.loads(line)["line"] for line in rejects.read_text("utf-8").split("\n") if line}
    kept = [n for n in range(1, len(records) + 1) if n not in rejected]
    converted = check([out], cfg)
    at, dataset = _by_record(converted.findings, {i + 1: line for i, line in enumerate(kept)})
    # what only checking in place reports: the converter's rejects (FMT004, each a line of the
    # rejects file) and FMT003 on prompt/completion, which is not an OpenAI format before conversion
    mine = [f for f in report.findings if f.code not in ("FMT004", "FMT003")]
    assert sorted(f.line for f in report.findings if f.code == "FMT004") == sorted(rejected)
    return _by_record(mine), (at, dataset), report


@pytest.mark.parametrize("fmt", sorted(STRATEGIES))
def test_in_place_gives_the_codes_of_convert_then_check(fmt: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(STRATEGIES[fmt], min_size=1, max_size=8))
    def prop(records: list[dict[str, Any]]) -> None:
        tmp = tmp_path_factory.mktemp(fmt)
        mine, theirs, report = in_place_and_converted(tmp, records, fmt)
        if not (tmp / "converted.jsonl").stat().st_size:
            # everything was rejected: the converted file is empty (DST002), the in-place one is not
            mine, theirs = mine[0], theirs[0]
        assert mine == theirs
        assert report.datasets[0].format == fmt

    prop()


def test_parity_is_not_vacuous(tmp_path: Path) -> None:
    """A fixed alpaca file with known problems: both ways find them, at the same source lines."""
    records = [
        {"instruction": "Who are you?", "input": "", "output": "I am {{name}}."},
        {"instruction": "Add 2 and 2.", "input": "", "output": None},
        {"instruction": "Add 3 and 3.", "input": "", "output": "As an AI language model, I think it is 6."},
        {"instruction": "Who are you?", "input": "", "output": "I am {{name}}."},
    ]
    (mine, dataset), theirs, report = in_place_and_converted(tmp_path, records, "alpaca")
    assert (mine, dataset) == theirs
    assert {("CNT002", 1), ("CNT003", 3), ("DUP001", 4)} <= set(mine)
    assert [(f.code, f.line) for f in report.findings if f.code == "FMT004"] == [("FMT004", 2)]
