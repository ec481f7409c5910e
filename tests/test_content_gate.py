"""The raw-line tests that let the content validator skip most texts never lose a finding."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa.config import load_config
from dsqa.formats import detect_format
from dsqa.model import Record
from dsqa.validators import DatasetContext
from dsqa.validators.content import ContentValidator

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


def _validator() -> ContentValidator:
    config = load_config()
    context = DatasetContext(path="t.jsonl", role="train", data_format=None, model=config.model,
                             epochs=config.epochs, reference_date=config.reference_date)
    return ContentValidator(config.options("content"), context)


VALIDATOR = _validator()


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _summary(findings: Any) -> list[tuple[Any, ...]]:
    return [(f.code, f.pointer, f.message, json.dumps(f.data, sort_keys=True)) for f in findings]


def _both(value: dict[str, Any], ensure_ascii: bool, escape: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    line = json.dumps(value, ensure_ascii=ensure_ascii)
    if escape:  # a writer that spells this character as a \u escape inside strings
        inner = re.compile(r"\\.|" + re.escape(escape))
        line = _STRING.sub(lambda s: inner.sub(
            lambda m: m.group() if len(m.group()) > 1 else "\\u%04x" % ord(escape), s.group()), line)
        assert json.loads(line) == value
    gated = Record("t.jsonl", 1, 0, value=value, raw=line.encode("utf-8"))
    # a record without a raw line gets every check on every text: the reference
    full = Record("t.jsonl", 1, 0, value=value, raw=b"")
    gated.format = full.format = detect_format(value)
    return _summary(VALIDATOR.check(gated)), _summary(VALIDATOR.check(full))


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
    gated, full = _both(value, ensure_ascii, escape)
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
                gated, full = _both(value, ensure_ascii, "")
                assert gated == full, (piece, role, ensure_ascii)
                found += bool(full)
    assert found > 80  # most pieces are flagged somewhere: the comparison is not of empty lists
