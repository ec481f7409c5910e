"""The raw-line tests that let the content validator skip most texts never lose a finding."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa.validators.content import ContentValidator, _not_refusal
from helpers import default_validator, gated_and_full

PIECES = [
    "{{name}}", "{name}", "{ name }", "{% if x %}", "<PLACEHOLDER>", "<your name>", "[INSERT NAME]", "[TODO]", "TODO",
    "TBD", "FIXME", "TO DO", "{\"a\": 1}", "[1, 2]", "f\"{x}\"", "`{code}`", "```\n{block}\n```", "\\frac{a}{b}",
    "As an AI language model", "as an ai", "I'm just an AI", "I cannot help with that", "I can't assist with this",
    "I won't do that", "I will not share", "I am unable to help", "I must decline to answer", "I do not have opinions",
    "I don't have feelings", "I don’t have beliefs", "I can’t help", "not allowed to help", "model", "AI",
    "cafÃ©", "â€™", "\ufffd", "café", "it’s", "naïve",
    "ha ha ha ha ha ha ha ha ha ha ha ha ha", "the end of the", "and so,", "an open ``` fence",
]
WORDS = ["the", "answer", "is", "here", "A", "I", "Ok", "we", "can", "not", "help", "you", "with", "that", "model"]
GLUE = [" ", " ", " ", "\n", ", ", ". ", "", "'", "\"", "\\", "/", "-", "{", "}", "[", "]", "<", ">"]

text = st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(WORDS), st.sampled_from(GLUE)), max_size=16).map("".join)


VALIDATOR = default_validator(ContentValidator)


@settings(max_examples=400, deadline=None)
@given(system=text, user=text, reply=text, ensure_ascii=st.booleans(),
       escape=st.sampled_from(["", "", "", "{", "<", "[", "'", "A", "I", "T", "m", "&"]))
def test_the_raw_line_gates_find_what_checking_every_text_finds(
    system: str, user: str, reply: str, ensure_ascii: bool, escape: str
) -> None:
    value = {"messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": reply},
    ]}
    gated, full = gated_and_full(VALIDATOR, value, ensure_ascii, escape)
    assert gated == full


def test_every_piece_in_every_role() -> None:
    found = 0
    for piece in PIECES:
        for role in ("system", "user", "assistant"):
            value = {"messages": [
                {"role": role, "content": f"Well, {piece} is what I would say about this whole matter."},
                {"role": "assistant", "content": "Fine, thanks for asking about it."},
            ]}
            for ensure_ascii in (False, True):
                gated, full = gated_and_full(VALIDATOR, value, ensure_ascii)
                assert gated == full, (piece, role, ensure_ascii)
                found += bool(full)
    assert found > 80  # most pieces are flagged somewhere: the comparison is not of empty lists


@settings(max_examples=400, deadline=None)
@given(head=st.lists(st.sampled_from(["not", "an", "an ", "will ", " able", " allowed", "c", "nnot", "n", "o", "t", " "]),
                     max_size=12).map("".join))
def test_the_not_literals_are_found_around_each_not(head: str) -> None:
    literals = ("annot", "an not", "not able", "will not", "not allowed")
    assert _not_refusal(head) == any(literal in head for literal in literals)
