"""CNT002 in every string of preference and prompt/completion records (issue 14 C): where it looks,
how it words the place, and that the raw-line prefilters lose nothing there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_prefilters import CONTENT_PIECES, TEXT, assert_same

from dsqa import check, load_config
from dsqa.validators.content.cnt002_placeholders import place_of, record_strings

CONFIG = load_config("default").with_overrides(select=["CNT002"])

DPO = {
    "input": {"messages": [{"role": "system", "content": "You are the support assistant of Northwind Outfitters."},
                           {"role": "user", "content": "Tell the customer of order 1042 that it shipped."}]},
    "preferred_output": [{"role": "assistant", "content": "Hi Dana, order 1042 shipped today and arrives Friday."}],
    "non_preferred_output": [{"role": "assistant", "content": "Sure!", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "send_email", "arguments": json.dumps({"body": "Dear {{customer_name}}, it shipped."})}}]}],
}
COMPLETION = {"prompt": "Write the closing line of a support reply.", "completion": "Thanks for your patience!",
              "metadata": {"source": "macros", "signature": "Best regards, [INSERT NAME]"}}


def _cnt002(tmp_path: Path, *values: Any) -> list[tuple[int, str, str]]:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(v) + "\n" for v in values), "utf-8")
    return [(f.line, f.pointer, f.message) for f in check([path], CONFIG).findings if f.code == "CNT002"]


def test_a_dpo_pair_whose_rejected_output_calls_a_tool_with_a_template_slot(tmp_path: Path) -> None:
    assert _cnt002(tmp_path, DPO) == [(1, "/non_preferred_output/0/tool_calls/0/function/arguments",
                                       "unfilled template placeholder '{{customer_name}}' in an assistant message")]


def test_a_prompt_completion_record_with_a_slot_in_another_key(tmp_path: Path) -> None:
    assert _cnt002(tmp_path, COMPLETION) == [(1, "/metadata/signature",
                                              "unfilled template placeholder '[INSERT NAME]' in the \"signature\" field")]


def test_the_turns_are_not_read_twice_and_identifiers_are_not_text(tmp_path: Path) -> None:
    pair = {"input": {"messages": [{"role": "user", "content": "Hello {{name}}"}]},
            "preferred_output": [{"role": "assistant", "content": "Hi!"}],
            "non_preferred_output": [{"role": "assistant", "content": "Hey."}], "id": "{pair_1}"}
    completion = {"prompt": "Hi {{name}}", "completion": "Hello.", "type": "<TYPE>"}
    assert _cnt002(tmp_path, pair, completion) == [
        (1, "/input/messages/0/content", "unfilled template placeholder '{{name}}' in a user message"),
        (2, "/prompt", "unfilled template placeholder '{{name}}' in a user message"),
    ]
    assert [w for _, w, _ in record_strings(pair, True)] == []
    assert [w for _, w, _ in record_strings(completion, False)] == []


def test_strings_the_turns_skip_are_read() -> None:
    pair = {"input": "Write {{x}}", "preferred_output": "A {{y}}",
            "non_preferred_output": [{"content": "No role {{z}}"}, {"role": "assistant", "content": "ok", "name": "<BOT>"}]}
    assert list(record_strings(pair, True)) == [
        (None, "/input", "Write {{x}}"), (None, "/preferred_output", "A {{y}}"),
        ("assistant", "/non_preferred_output/1/name", "<BOT>"), (None, "/non_preferred_output/0/content", "No role {{z}}"),
    ]
    assert list(record_strings({"prompt": {"text": "{{q}}"}, "completion": "ok", "a/b": ["~<X>"]}, False)) == [
        (None, "/prompt/text", "{{q}}"), (None, "/a~1b/0", "~<X>")]


def test_the_place_is_named_in_plain_english() -> None:
    assert place_of("assistant", "/non_preferred_output/0/content/0/value") == "an assistant message"
    assert place_of(None, "/non_preferred_output/0/content") == "a message"
    assert place_of(None, "/metadata/notes/0") == 'the "notes" field'
    assert place_of(None, "/input/tools/0/function/description") == 'the "description" field'


# -- the raw-line prefilters: a run with them finds what a reference run finds, in any key


@st.composite
def pairs(draw: Any) -> dict[str, Any]:
    extra = {draw(st.sampled_from(["metadata", "system", "notes", "id", "a/b"])): draw(
        st.one_of(TEXT, st.lists(TEXT, max_size=2), st.dictionaries(st.sampled_from(["k", "type", "text"]), TEXT, max_size=2)))}
    if draw(st.booleans()):
        return {"prompt": draw(st.one_of(TEXT, st.lists(TEXT, max_size=2))), "completion": draw(TEXT), **extra}
    reply: dict[str, Any] = {"role": "assistant", "content": draw(st.one_of(TEXT, st.just([{"type": "text", "value": draw(TEXT)}])))}
    if draw(st.booleans()):
        reply["tool_calls"] = [{"id": "c1", "type": "function",
                                "function": {"name": draw(TEXT), "arguments": json.dumps({"q": draw(TEXT)})}}]
    return {"input": {"messages": [{"role": "user", "content": draw(TEXT)}], **extra},
            "preferred_output": [{"role": "assistant", "content": draw(TEXT)}], "non_preferred_output": [reply], **extra}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(value=pairs(), ensure_ascii=st.booleans(), escape=st.sampled_from(["", "", "{", "<", "[", "T", "I"]))
def test_generated_pairs_give_the_same_findings_in_both_modes(value: dict[str, Any], ensure_ascii: bool, escape: str) -> None:
    assert_same(value, ensure_ascii, escape)


def test_every_piece_in_another_key_is_found_the_same_in_both_modes() -> None:
    found = 0
    for piece in CONTENT_PIECES:
        for value in ({**COMPLETION, "metadata": {"note": piece}}, {**DPO, "notes": [piece]}):
            found += sum(code == "CNT002" for code, *_ in assert_same(value))
    assert found >= 30  # the comparison is not between empty lists
