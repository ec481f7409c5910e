"""The fast structural check gives exactly the verdict of the bundled JSON Schemas.

Records are generated valid and then changed in at most one place (a value replaced, a key
removed or added), so that most of them are near misses: the cases where two implementations
of a format are most likely to disagree.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsqa.formats import CHAT, PREFERENCE
from dsqa.validators.fastpath import chat_is_valid, preference_is_valid
from dsqa.validators.schema import schema_validators

VALIDATORS = schema_validators()
text = st.sampled_from(["Hi", "What is 2+2?", "4.", "a\nb"])
names = st.sampled_from(["get_weather", "lookup-1", "A" * 64])
text_part = st.builds(lambda t: {"type": "text", "text": t}, text)
image_part = st.builds(
    lambda url, detail: {"type": "image_url", "image_url": {"url": url, **({"detail": detail} if detail else {})}},
    st.sampled_from(["https://example.com/a.png", "data:image/png;base64,iVBO"]), st.sampled_from([None, "low", "high", "auto"]),
)
refusal_part = st.builds(lambda t: {"type": "refusal", "refusal": t}, text)
call = st.builds(
    lambda i, n, a: {"id": i, "type": "function", "function": {"name": n, "arguments": a}},
    st.sampled_from(["call_1", "call_2"]), names, st.sampled_from(['{"city": "Oslo"}', "{}"]),
)
opt = st.fixed_dictionaries


def with_optional(base: st.SearchStrategy[dict[str, Any]], optional: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(base, opt({}, optional=optional)).map(lambda t: {**t[0], **t[1]})


system = with_optional(st.builds(lambda c: {"role": "system", "content": c}, text | st.lists(text_part, min_size=1, max_size=2)), {"name": names})
user = with_optional(
    st.builds(lambda c: {"role": "user", "content": c}, text | st.lists(text_part | image_part, min_size=1, max_size=3)), {"name": names}
)
assistant = with_optional(
    st.just({"role": "assistant"}),
    {
        "content": st.none() | text | st.lists(text_part | refusal_part, min_size=1, max_size=2),
        "weight": st.sampled_from([0, 1, 1.0]),
        "tool_calls": st.lists(call, min_size=1, max_size=2),
        "function_call": call.map(lambda c: c["function"]),
        "refusal": st.none() | text,
        "name": names,
    },
)
tool_msg = st.builds(lambda c, i: {"role": "tool", "content": c, "tool_call_id": i}, text | st.lists(text_part, min_size=1), st.sampled_from(["call_1", "x"]))
function_msg = st.builds(lambda c, n: {"role": "function", "content": c, "name": n}, st.none() | text, names)
message = system | user | assistant | tool_msg | function_msg
function_def = with_optional(
    st.builds(lambda n: {"name": n}, names),
    {"description": text, "parameters": st.sampled_from([{}, {"type": "object", "properties": {}}]), "strict": st.none() | st.booleans()},
)
tool = st.builds(lambda f: {"type": "function", "function": f}, function_def)
chat_valid = with_optional(
    st.builds(lambda ms: {"messages": ms}, st.lists(message, min_size=1, max_size=4)),
    {"tools": st.lists(tool, max_size=2), "parallel_tool_calls": st.booleans(), "functions": st.lists(function_def, min_size=1, max_size=2)},
)
output = st.builds(lambda c: [{"role": "assistant", "content": c}], text | st.lists(text_part, min_size=1, max_size=2))
pref_valid = st.builds(
    lambda inp, p, n: {"input": inp, "preferred_output": p, "non_preferred_output": n},
    with_optional(st.builds(lambda ms: {"messages": ms}, st.lists(message, min_size=1, max_size=3)),
                  {"tools": st.lists(tool, max_size=1), "parallel_tool_calls": st.booleans()}),
    output, output,
)
replacements = st.sampled_from(
    [None, True, 0, 1, 2, 1.5, "", "x", "function", "assistant", "user", "text", "image_url", "refusal", "input_audio",
     "developer", "get weather", "a" * 65, "abc\n", [], [{}], {}, {"type": "text"}]
)
# Values that are wrong for a key in ways an implementation could overlook.
near_values: dict[Any, list[Any]] = {
    "weight": [2, -1, 0.5, True, False, "1", None, 1.0, 0.0],
    "detail": ["x", None, "LOW", 1],
    "url": ["", 1, None],
    "type": ["function ", "tool", "image", "text", "refusal", "image_url", None],
    "role": ["developer", "Assistant", None, 1, "function"],
    "name": ["", "get weather", "a" * 65, "ok\n", 1],
    "id": ["", 1, None],
    "arguments": [{}, None, ""],
    "strict": ["true", 1, None],
    "parameters": [[], "x", None],
    "refusal": [1, [], None],
    "tool_call_id": ["", 1, None],
    "content": [None, "", [], 1, [{"type": "text"}], [{"type": "refusal", "refusal": "no"}]],
    "parallel_tool_calls": [1, "true", None],
    "text": [None, 1],
}
extra_keys = st.sampled_from(["zzz", "weight", "name", "content", "role", "detail", "tool_calls", "refusal", "type", "text"])


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*path, i)))
    return out


def _mutate(data: st.DataObject, record: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(record)
    op = data.draw(st.sampled_from(["none", "replace", "delete", "add", "replace", "delete"]))
    if op == "none":
        return record
    paths = _paths(record)[1:] or [()]
    # favour keys with near-miss values so that each of them is exercised often
    keyed = [p for p in paths if p and p[-1] in near_values]
    path = data.draw(st.sampled_from(keyed if keyed and op == "replace" and data.draw(st.booleans()) else paths))
    if not path:
        return record
    parent = record
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "replace":
        pool = near_values.get(last)
        parent[last] = data.draw(st.sampled_from(pool) if pool and data.draw(st.booleans()) else replacements)
    elif op == "delete":
        del parent[last]
    else:
        target = parent[last]
        if isinstance(target, dict):
            target[data.draw(extra_keys)] = data.draw(replacements)
        elif isinstance(target, list):
            target.append(data.draw(replacements))
    return record


SETTINGS = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data(), chat_valid)
def test_chat_fast_check_matches_schema(data: st.DataObject, record: dict[str, Any]) -> None:
    assert VALIDATORS[CHAT].is_valid(record), json.dumps(record)  # the generator itself is right
    mutated = _mutate(data, record)
    assert chat_is_valid(mutated) == VALIDATORS[CHAT].is_valid(mutated), json.dumps(mutated)


@SETTINGS
@given(st.data(), pref_valid)
def test_preference_fast_check_matches_schema(data: st.DataObject, record: dict[str, Any]) -> None:
    assert VALIDATORS[PREFERENCE].is_valid(record), json.dumps(record)
    mutated = _mutate(data, record)
    assert preference_is_valid(mutated) == VALIDATORS[PREFERENCE].is_valid(mutated), json.dumps(mutated)


def test_bundled_samples_take_the_fast_path() -> None:
    from helpers import ROOT

    for line in (ROOT / "sample_data" / "chat_clean.jsonl").read_text().splitlines():
        assert chat_is_valid(json.loads(line))
    for line in (ROOT / "sample_data" / "preference_clean.jsonl").read_text().splitlines():
        assert preference_is_valid(json.loads(line))
