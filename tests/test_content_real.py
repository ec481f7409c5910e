"""Content and secrets rules on real public data: placeholders found where they are, few flags elsewhere.

The LLaMA-Factory demo sets are read directly (Alpaca fields and ShareGPT turns turned into chat
records here), so these tests do not depend on the converter. The flagged lines on the clean sets
were reviewed by hand; each is listed with why it is right, so a new flag fails the test and must
be looked at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dsqa import check, load_config

REAL = Path("/work/shared/data/real/llamafactory")
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real data not present")


def _alpaca(rec: dict[str, Any]) -> dict[str, Any]:
    user = rec["instruction"] + (("\n\n" + rec["input"]) if rec.get("input") else "")
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": rec["output"]}]}


def _glaive(rec: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    k = 0
    for turn in rec["conversations"]:
        who, value = turn["from"], turn["value"]
        if who == "human":
            messages.append({"role": "user", "content": value})
        elif who == "gpt":
            messages.append({"role": "assistant", "content": value})
        elif who == "function_call":
            call = json.loads(value)
            k += 1
            messages.append({"role": "assistant", "content": None, "tool_calls": [{
                "id": f"call_{k}", "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments", {}))},
            }]})
        elif who == "observation":
            messages.append({"role": "tool", "tool_call_id": f"call_{k}", "content": value})
    out: dict[str, Any] = {"messages": messages}
    tools = json.loads(rec["tools"]) if rec.get("tools") else []
    if tools:
        out["tools"] = [{"type": "function", "function": t} for t in tools]
    return out


def _flagged(tmp_path: Path, name: str, convert: Any) -> tuple[list[dict[str, Any]], dict[str, set[int]], Any]:
    data = json.loads((REAL / f"{name}.json").read_text("utf-8"))
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(convert(r)) + "\n" for r in data), "utf-8")
    report = check([path], load_config("default"))
    lines: dict[str, set[int]] = {}
    for f in report.findings:
        if f.code[:3] in ("CNT", "SEC") and f.line is not None:
            lines.setdefault(f.code, set()).add(f.line)
    return data, lines, report


def test_identity_placeholders_exactly_where_they_are(tmp_path: Path) -> None:
    data, lines, report = _flagged(tmp_path, "identity", _alpaca)
    with_slots = {i + 1 for i, r in enumerate(data) if "{{" in r["output"]}
    assert len(with_slots) == 85
    assert lines["CNT002"] == with_slots
    messages = {f.message for f in report.findings if f.code == "CNT002"}
    assert any("'{{name}}'" in m for m in messages)
    # "As an AI assistant developed by {{author}}" introduces the assistant: not a disclaimer
    assert set(lines) == {"CNT002"}


#: every content/secrets flag on alpaca_en_demo.json (999 records), reviewed by hand
ALPACA_EXPECTED = {
    # "As an AI, I don't have access to real-time ..." and similar: real AI-disclaimer boilerplate
    # ("As an AI assistant, I would assist ..." role-play in 600, 631, 800 is not flagged)
    # "I'm sorry, I'm an AI language model and do not have access ..." in 408, 433, 712, 737
    "CNT003": {44, 68, 81, 96, 118, 157, 265, 276, 381, 408, 433, 503, 527, 609, 666, 692, 712, 737, 795, 818,
               943, 974},
    # a letter with [insert date], [Your Name], ... left in
    "CNT002": {361},
    # a multiplication table stopping at "4x8=32" in an open code block; an article ending "... of"
    "CNT005": {180, 464},
}

#: every content/secrets flag on glaive_toolcall_en_demo.json (300 records), reviewed by hand
GLAIVE_EXPECTED = {
    # "I'm sorry, but as an AI, I don't have the ability to ..." / "I'm unable to assist with that"
    "CNT003": {1, 23, 24, 30, 58, 60, 107, 127, 129, 130, 135, 140, 160, 165, 184, 207, 208, 211, 214, 216,
               227, 237, 247, 263, 277, 289, 290, 295},
    # a reply ending "... dimensionality reduction. For"; a reply of 0s with an unclosed code block
    "CNT005": {52, 244},
}


@pytest.mark.parametrize(("name", "convert", "expected"), [
    ("alpaca_en_demo", _alpaca, ALPACA_EXPECTED),
    ("glaive_toolcall_en_demo", _glaive, GLAIVE_EXPECTED),
])
def test_clean_sets_flag_only_the_reviewed_lines(tmp_path: Path, name: str, convert: Any, expected: dict[str, set[int]]) -> None:
    data, lines, _ = _flagged(tmp_path, name, convert)
    assert lines == expected
    # no secrets or personal data in either set: a fictional (555) number and an address at
    # example-domain.com are not flagged
    assert not any(code.startswith("SEC") for code in lines)
    assert "CNT001" not in lines and "CNT004" not in lines and "CNT006" not in lines


def test_diversity_stats_on_real_data(tmp_path: Path) -> None:
    data, _, report = _flagged(tmp_path, "glaive_toolcall_en_demo", _glaive)
    stats = report.datasets[0].stats["diversity"]
    assert stats["examples"] == len(data) == 300
    assert stats["with_tools_share"] == round(sum(1 for r in data if json.loads(r["tools"] or "[]")) / 300, 4)
    assert stats["assistant_openings"][0]["text"] == "You're welcome! If you have"
    assert 0.3 < stats["distinct"]["assistant"]["distinct_2"] < 0.9
    assert not any(f.code.startswith("DIV") for f in report.findings)
