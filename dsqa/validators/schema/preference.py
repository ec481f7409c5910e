"""Preference (DPO) records: PRF001 to PRF007."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...formats import PREFERENCE
from ...model import Severity
from ..base import Code
from . import messages, tools
from .common import Mapped, Spot, json_type, quote

OLD_OUTPUT_KEYS = {"preferred_completion": "preferred_output", "non_preferred_completion": "non_preferred_output"}
_INPUT_HINT = "put the prompt turns in input.messages"
_ASK = '{"input": {"messages": [{"role": "user", "content": "Capital of France?"}]}'
_GOOD = '"preferred_output": [{"role": "assistant", "content": "Paris."}]'
_BAD = '"non_preferred_output": [{"role": "assistant", "content": "Lyon."}]'
_PASSING = f"{_ASK}, {_GOOD}, {_BAD}}}"

CODES: dict[str, Code] = {
    "PRF001": Code(
        Severity.ERROR,
        "preference input.messages missing or empty",
        why="""
            A preference (DPO) example holds the prompt in input.messages: the turns that the
            two outputs answer. Without them there is nothing to prefer one answer for, and
            OpenAI rejects the file. Put the prompt turns in input.messages.
        """,
        failing=f'{{"input": {{"messages": []}}, {_GOOD}, {_BAD}}}',
        passing=_PASSING,
    ),
    "PRF002": Code(
        Severity.ERROR,
        "preference input ends with an assistant message",
        why="""
            The outputs are the assistant's reply to the input, so the input must end with the
            turn they answer (usually the user's). An input ending with an assistant message
            makes the pair answer the wrong turn. End the input with the user turn and move
            the assistant reply to the outputs.
        """,
        failing=(
            '{"input": {"messages": [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]},'
            f" {_GOOD}, {_BAD}}}"
        ),
        passing=_PASSING,
    ),
    "PRF003": Code(
        Severity.ERROR,
        "preference output must hold exactly one message",
        why="""
            preferred_output and non_preferred_output are each an array of exactly one
            assistant message: DPO compares two single replies. Give each output one message;
            put earlier turns in input.messages.
        """,
        failing=f'{_ASK}, "preferred_output": [], {_BAD}}}',
        passing=_PASSING,
    ),
    "PRF004": Code(
        Severity.ERROR,
        "preference output is not one text-only assistant message",
        why="""
            Each output is one assistant message with text content (a string or text parts)
            and at most a name: no other role, no tool calls, no images, no weight. OpenAI
            rejects the file otherwise. Make each output a plain assistant reply.
        """,
        failing=f'{_ASK}, "preferred_output": [{{"role": "user", "content": "Paris."}}], {_BAD}}}',
        passing=_PASSING,
    ),
    "PRF005": Code(
        Severity.ERROR,
        "preferred and non-preferred outputs are identical",
        why="""
            DPO learns from the difference between the preferred and the non-preferred reply;
            when both are the same (or have the same text) the pair teaches nothing. Give a
            worse reply as non_preferred_output, or drop the pair.
        """,
        failing=f'{_ASK}, {_GOOD}, "non_preferred_output": [{{"role": "assistant", "content": "Paris."}}]}}',
        passing=_PASSING,
    ),
    "PRF006": Code(
        Severity.ERROR,
        "old *_completion key names",
        why="""
            Older documents name the outputs preferred_completion and non_preferred_completion;
            OpenAI's fine-tuning API and Azure expect preferred_output and
            non_preferred_output. Rename the keys.
        """,
        failing=(
            f'{_ASK}, "preferred_completion": [{{"role": "assistant", "content": "Paris."}}],'
            ' "non_preferred_completion": [{"role": "assistant", "content": "Lyon."}]}'
        ),
        passing=_PASSING,
    ),
    "PRF007": Code(
        Severity.ERROR,
        "images in preference data",
        why="""
            Preference (DPO) fine-tuning is text only: an image in the input makes OpenAI
            reject the file. Remove images from DPO examples, or train on them with
            supervised fine-tuning instead.
        """,
        failing=(
            '{"input": {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"},'
            ' {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]},'
            ' "preferred_output": [{"role": "assistant", "content": "A cat."}],'
            ' "non_preferred_output": [{"role": "assistant", "content": "A dog."}]}'
        ),
        passing=_PASSING,
    ),
}

# -- jsonschema errors ---------------------------------------------------------------------------


def input_missing(spot: Spot) -> list[Mapped] | None:
    """PRF001: no ``input``, or an input without ``messages``."""
    if spot.fmt != PREFERENCE or spot.keyword != "required":
        return None
    if not spot.path and spot.key == "input":
        return [Mapped("PRF001", spot.pointer, "preference record has no 'input'", _INPUT_HINT)]
    if spot.path == ["input"] and spot.key == "messages":
        return [Mapped("PRF001", spot.pointer, "preference record has no input.messages", _INPUT_HINT)]
    return None


def input_empty_or_wrong_type(spot: Spot) -> list[Mapped] | None:
    """PRF001: empty input.messages, or an input or input.messages of the wrong type."""
    if spot.fmt != PREFERENCE:
        return None
    if spot.keyword == "minItems" and spot.path in (["messages"], ["input", "messages"]):
        return [Mapped("PRF001", spot.pointer, "input.messages is empty", _INPUT_HINT)]
    if spot.keyword == "type" and spot.path in (["input"], ["input", "messages"]):
        want = "an object holding messages" if spot.path == ["input"] else "an array"
        return [Mapped("PRF001", spot.pointer, f"'{spot.path[-1]}' must be {want}, got {json_type(spot.instance)}", _INPUT_HINT)]
    return None


def output_shape(spot: Spot) -> list[Mapped] | None:
    """PRF003 for an output that is not one message, PRF004 for one that is not a text-only assistant message."""
    kw, path, inst = spot.keyword, spot.path, spot.instance
    if kw == "additionalProperties":
        return [Mapped("PRF004", spot.pointer, f"'{spot.key}' is not allowed in a preference output; outputs are text-only assistant messages")]
    if len(path) == 1 and kw in ("minItems", "maxItems"):
        return [Mapped("PRF003", spot.pointer, f"{path[0]} must hold exactly one assistant message, has {len(inst)}")]
    if len(path) == 1 and kw == "type":
        return [Mapped("PRF003", spot.pointer, f"{path[0]} must be an array holding one assistant message, got {json_type(inst)}")]
    if kw == "const" and path[-1] == "role":
        return [Mapped("PRF004", spot.pointer, f"preference output role must be 'assistant', got {quote(inst)}")]
    if kw == "enum" and path[-1] == "type":
        return [Mapped("PRF004", spot.pointer, f"preference outputs are text only; part type {quote(inst)} is not allowed")]
    return None


# -- rules a schema cannot express ---------------------------------------------------------------


def old_keys(value: dict[str, Any]) -> Iterator[Mapped]:
    """PRF006 for each *_completion key used instead of its *_output name."""
    for old, new in OLD_OUTPUT_KEYS.items():
        if old in value and new not in value:
            yield Mapped("PRF006", "/" + old, f"'{old}' is the old key name; OpenAI expects '{new}'", f"rename '{old}' to '{new}'")


def preference_rules(value: dict[str, Any]) -> Iterator[Mapped]:
    """The rules of a preference record beyond its schema (the input's messages and tools, images, equal outputs)."""
    inp = value.get("input")
    if isinstance(inp, dict):
        yield from tools.definitions(inp.get("tools"), "/input/tools")
        turns = inp.get("messages")
        if isinstance(turns, list) and turns:
            yield from messages.walk(turns, "/input/messages", inp.get("tools"))[0]
            last = turns[-1]
            if isinstance(last, dict) and last.get("role") == "assistant":
                yield Mapped(
                    "PRF002", f"/input/messages/{len(turns) - 1}",
                    "input.messages ends with an assistant message; the outputs are the assistant's reply",
                    "end the input with the user turn the outputs answer",
                )
    image = _first_image(value)
    if image is not None:
        yield Mapped("PRF007", image, "image in preference data; DPO fine-tuning is text only", "remove images from DPO examples")
    yield from _same_outputs(value)


def _same_outputs(value: dict[str, Any]) -> Iterator[Mapped]:
    pref, nonpref = value.get("preferred_output"), value.get("non_preferred_output")
    hint = "give a worse reply as non_preferred_output"
    if isinstance(pref, list) and pref and pref == nonpref:
        yield Mapped(
            "PRF005", "/non_preferred_output", "preferred_output and non_preferred_output are identical; the pair teaches nothing", hint,
        )
    elif _output_text(pref) is not None and _output_text(pref) == _output_text(nonpref):
        yield Mapped(
            "PRF005", "/non_preferred_output", "preferred and non-preferred outputs have the same text; the pair teaches nothing", hint,
        )


def _output_text(output: Any) -> str | None:
    if not isinstance(output, list) or len(output) != 1 or not isinstance(output[0], dict):
        return None
    content = output[0].get("content")
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        text = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)).strip()
        return text or None
    return None


def _first_image(value: dict[str, Any]) -> str | None:
    inp = value.get("input")
    turns = inp.get("messages") if isinstance(inp, dict) else None
    if not isinstance(turns, list):
        return None
    for i, m in enumerate(turns):
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") == "image_url":
                    return f"/input/messages/{i}/content/{j}"
    return None
