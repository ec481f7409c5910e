"""The fast token counting paths give exactly the counts of the plain ones (tiktoken's list, the general message loop)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa import tokencount
from dsqa.tokencount import ChatCounter, get_encoding, guarded, tiktoken_tokens

ENCODINGS = ("o200k_base", "cl100k_base")
SPECIAL = ("<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|endoftext|", " ", "\ud800", "é中😀", "Paris.")
TEXT = st.lists(st.sampled_from(SPECIAL) | st.text(max_size=40), max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_buffer_counts_are_the_token_list_lengths(text: str) -> None:
    # special-token text counts as ordinary text; a lone surrogate goes through tiktoken's own retry
    for name in ENCODINGS:
        enc = get_encoding(name)
        assert tiktoken_tokens(enc)(text) == len(enc.encode_ordinary(text))


def test_long_strings_count_the_same_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Capital of France? Paris. " * 40 + "x" * 300
    enc = get_encoding("o200k_base")
    whole = len(enc.encode_ordinary(text))
    monkeypatch.setattr(tokencount, "PIECE_CHARS", 64)
    assert len(tokencount.pieces(text, 64)) > 5
    assert tiktoken_tokens(enc)(text) == whole
    assert guarded(enc.encode_ordinary, True)(text) == whole


ROLE = st.sampled_from(["user", "assistant", "system", "tool", "developer", "bob"]) | st.none() | st.integers(0, 2)
CONTENT = TEXT | st.none() | st.just([{"type": "text", "text": "Hi"}]) | st.integers(0, 2)
WEIGHT = st.sampled_from([0, 1, 2, True, False, None, "1", 0.0])
MESSAGE = st.builds(
    lambda role, content, weight, extra: {
        **({} if role == 2 else {"role": role}), **({} if content == 2 else {"content": content}),
        **({} if weight is None else {"weight": weight}), **extra,
    },
    ROLE, CONTENT, WEIGHT | st.none(), st.sampled_from([{}, {}, {"name": "bob"}, {"refusal": "no"}]),
) | st.sampled_from([None, "x", 3])


def _general(messages: list[Any]) -> list[Any]:
    """The same messages, each with a key that costs nothing but keeps it off the inline path."""
    return [{**m, "zz": None} if isinstance(m, dict) else m for m in messages]


@settings(max_examples=400, deadline=None)
@given(st.lists(MESSAGE, max_size=6))
def test_the_inline_message_path_counts_like_the_general_one(messages: list[Any]) -> None:
    counter = ChatCounter("o200k_base")
    fast = counter.chat({"messages": messages})
    slow = ChatCounter("o200k_base").chat({"messages": _general(messages)})
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    pair = {"input": {"messages": messages[:2]}, "preferred_output": messages[2:4], "non_preferred_output": messages[4:]}
    general = {"input": {"messages": _general(messages[:2])}, "preferred_output": _general(messages[2:4]),
               "non_preferred_output": _general(messages[4:])}
    assert dataclasses.asdict(counter.preference(pair)) == dataclasses.asdict(ChatCounter("o200k_base").preference(general))
