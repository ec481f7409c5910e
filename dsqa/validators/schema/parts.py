"""Content parts and the text in them: SCH007, SCH008 and SCH015."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...model import Severity
from ..base import Code, pointer_of
from .common import Mapped, Spot, quote

DEFAULT_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|endofprompt|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|return|>",
    "<|call|>",
    "<|constrain|>",
)
#: part types of other APIs that fine-tuning does not take at all (not merely not in this role)
_NOT_FOR_FINE_TUNING = ("input_audio", "file", "audio")
_IMAGE = '{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}'

CODES: dict[str, Code] = {
    "SCH007": Code(
        Severity.ERROR,
        "content part not accepted for fine-tuning",
        why="""
            Content given as a list of parts may hold text parts everywhere, image_url parts in
            user messages and refusal parts in assistant messages; audio and file parts are not
            accepted for fine-tuning at all. OpenAI rejects the file for any other part. Turn
            the part into text, or drop it.
        """,
        failing=(
            '{"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}]},'
            ' {"role": "assistant", "content": "Hello"}]}'
        ),
        passing='{"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}, {"role": "assistant", "content": "Hello"}]}',
    ),
    "SCH008": Code(
        Severity.ERROR,
        "image outside a user message",
        why="""
            Vision fine-tuning takes images only in user messages; an image in a system,
            assistant or tool message makes OpenAI reject the file. Move the image to the user
            message it belongs to.
        """,
        failing=(
            '{"messages": [{"role": "user", "content": "Draw a cat."}, {"role": "assistant", "content": [' + _IMAGE + "]}]}"
        ),
        passing='{"messages": [{"role": "user", "content": [' + _IMAGE + ']}, {"role": "assistant", "content": "A cat."}]}',
    ),
    "SCH015": Code(
        Severity.ERROR,
        "reserved special token inside text",
        why="""
            Strings such as <|endoftext|> or <|im_start|> are the tokenizer's control tokens.
            OpenAI rejects a file whose text contains one ("message contains an invalid
            token"), wherever it is in the record. Remove them, or break them up, e.g.
            "<| endoftext |>".
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello<|endoftext|>"}]}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello <| endoftext |>"}]}',
        options=("special_tokens",),
    ),
}

# -- jsonschema errors: a part type the role does not take ---------------------------------------


def part_type(spot: Spot) -> list[Mapped] | None:
    """SCH008 for an image outside a user message, SCH007 for any other part type not accepted."""
    rel = spot.rel
    if spot.keyword != "enum" or len(rel) != 3 or rel[0] != "content" or rel[2] != "type":
        return None
    inst = spot.instance
    if inst == "image_url":
        return [Mapped(
            "SCH008", spot.pointer, f"image in {spot.a_where}; images are allowed only in user messages", "move the image to a user message",
        )]
    if isinstance(inst, str) and inst in _NOT_FOR_FINE_TUNING:
        return [Mapped("SCH007", spot.pointer, f"content part type {quote(inst)} is not accepted for fine-tuning (text and images only)")]
    allowed = ", ".join(str(v) for v in spot.expected)
    return [Mapped("SCH007", spot.pointer, f"content part type {quote(inst)} is not allowed in {spot.a_where} (allowed: {allowed})")]


# -- rules a schema cannot express: special tokens in any text -----------------------------------


class SpecialTokens:
    """Finds the first reserved special token in each string of a record (SCH015)."""

    def __init__(self, tokens: list[str]) -> None:
        tokens = [t for t in tokens if t]
        by_length = sorted(tokens, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(t) for t in by_length)) if tokens else None
        # the common case: every token starts with '<|', which allows cheap pre-checks
        self.angle_pipe = all(t.startswith("<|") for t in tokens)

    def may_occur(self, raw: bytes | None) -> bool:
        """Prefilter on the record's raw line: False only when no token can be in its text."""
        # '<|' can only be in the text if '<' and '|' are in the line, literally or \u-escaped
        return (
            not raw or not self.angle_pipe
            or ((b"<" in raw or b"\\u003" in raw) and (b"|" in raw or b"\\u007" in raw))
        )

    def find(self, value: Any) -> Iterator[Mapped]:
        """SCH015 for every string of ``value`` that holds a token, at the string's pointer."""
        pattern = self.pattern
        if pattern is None:
            return
        stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, str):
                match = pattern.search(node) if not self.angle_pipe or "<|" in node else None
                if match:
                    yield Mapped(
                        "SCH015", pointer_of(path),
                        f"reserved special token {match.group()} inside text (column {match.start() + 1} of the string); OpenAI rejects the file",
                        "remove it or break it up, e.g. '<| endoftext |>'",
                    )
            elif isinstance(node, dict):
                stack.extend((v, (*path, k)) for k, v in reversed(list(node.items())))
            elif isinstance(node, list):
                stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
