"""Property tests: no input, however broken, crashes the reader or the engine or loses a line."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsqa import check, load_config

CONFIG = load_config("default")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
roles = st.sampled_from(["system", "user", "assistant", "tool", "function", "developer", "bot", 3, None])
keys = st.sampled_from(["role", "content", "weight", "tool_calls", "tool_call_id", "name", "function_call", "refusal", "x"])
messages = st.lists(
    st.dictionaries(keys, json_values, max_size=5).flatmap(
        lambda d: roles.map(lambda r: {**d, "role": r})
    ),
    max_size=5,
)
chatlike = st.fixed_dictionaries(
    {"messages": messages},
    optional={"tools": json_values, "weight": json_values, "parallel_tool_calls": json_values},
)
preflike = st.fixed_dictionaries(
    {"input": st.fixed_dictionaries({"messages": messages}) | json_values},
    optional={"preferred_output": messages | json_values, "non_preferred_output": messages | json_values},
)


def _run(data: bytes, suffix: str = ".jsonl") -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        path.write_bytes(data)
        return check([path], CONFIG)


def _assert_sane(report: Any, data: bytes) -> None:
    n_lines = data.count(b"\n") + 1
    assert all(f.code != "DSQ001" for f in report.findings), [f.message for f in report.findings if f.code == "DSQ001"]
    for f in report.findings:
        assert f.line is None or 1 <= f.line <= n_lines
    assert report.datasets[0].records <= n_lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _assert_sane(_run(data), data)
    _assert_sane(_run(data, ".json"), data)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=6))
def test_arbitrary_json_lines_never_crash(values: list[Any]) -> None:
    data = "".join(json.dumps(v) + "\n" for v in values).encode()
    report = _run(data)
    _assert_sane(report, data)
    assert report.datasets[0].records == len(values)
    arr = json.dumps(values, indent=1).encode()
    report = _run(arr, ".json")
    _assert_sane(report, arr)
    assert report.datasets[0].records == len(values)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(chatlike | preflike, min_size=1, max_size=4))
def test_chat_shaped_records_never_crash_and_every_bad_record_is_flagged(values: list[Any]) -> None:
    data = "".join(json.dumps(v) + "\n" for v in values).encode()
    report = _run(data)
    _assert_sane(report, data)
    for f in report.findings:
        assert f.pointer is None or f.pointer == "" or f.pointer.startswith("/")
