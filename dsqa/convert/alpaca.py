"""Alpaca records (instruction, input, output, optional system and history) to and from OpenAI.

The user turn is ``instruction`` followed by a newline and ``input`` (LLaMA-Factory builds the
same prompt). When ``input`` is not empty the turn is written as two text parts, the instruction
and the newline plus input, so that the text is the same and the way back gives the two fields
exactly. LLaMA-Factory's preference variant (``chosen`` and ``rejected`` instead of ``output``)
becomes an OpenAI preference record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import CHAT, PREFERENCE, Canonical, ConvertError, check_keys, field, require_text, text_of


def _optional_text(value: Any, what: str) -> str:
    return "" if value is None else require_text(value, what)


def _prompt(instruction: str, extra: str) -> str | list[dict[str, str]]:
    if not extra:
        return instruction
    return [{"type": "text", "text": instruction}, {"type": "text", "text": "\n" + extra}]


def source(value: dict[str, Any], mapping: Mapping[str, str]) -> Canonical:
    """An alpaca record as a chat example, or a preference pair when it has chosen and rejected."""
    instruction = require_text(field(value, "instruction", mapping), "instruction")
    extra = _optional_text(field(value, "input", mapping), "input")
    system = _optional_text(field(value, "system", mapping), "system")
    history = field(value, "history", mapping) or []
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    if not isinstance(history, list):
        raise ConvertError("history is not a list of [instruction, response] pairs")
    for i, pair in enumerate(history):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            raise ConvertError(f"history[{i}] is not an [instruction, response] pair of strings")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    messages.append({"role": "user", "content": _prompt(instruction, extra)})
    chosen, rejected = field(value, "chosen", mapping), field(value, "rejected", mapping)
    if chosen is not None or rejected is not None:
        return PREFERENCE, {
            "input": {"messages": messages},
            "preferred_output": [{"role": "assistant", "content": require_text(chosen, "chosen")}],
            "non_preferred_output": [{"role": "assistant", "content": require_text(rejected, "rejected")}],
        }
    output = require_text(field(value, "output", mapping), "output")
    messages.append({"role": "assistant", "content": output})
    return CHAT, {"messages": messages}


def _split_prompt(content: Any, where: str) -> tuple[str, str]:
    if (
        isinstance(content, list) and len(content) == 2
        and all(isinstance(p, dict) and p.get("type") == "text" for p in content)
        and isinstance(content[1].get("text"), str) and content[1]["text"].startswith("\n")
    ):
        return require_text(content[0].get("text"), where), content[1]["text"][1:]
    return text_of(content, where), ""


def _fields(messages: Any, tools: Any, want_last_assistant: bool) -> dict[str, Any]:
    """instruction, input, system and history from chat messages (the final answer excluded)."""
    if tools:
        raise ConvertError("alpaca cannot hold tools; use --to sharegpt")
    if not isinstance(messages, list) or not messages:
        raise ConvertError("messages is missing or empty")
    system = ""
    if isinstance(messages[0], dict) and messages[0].get("role") == "system":
        check_keys(messages[0], {"role", "content"}, "messages[0]", "alpaca")
        system = text_of(messages[0].get("content"), "messages[0].content")
        messages = messages[1:]
        start = 1
    else:
        start = 0
    expected = ["user", "assistant"] * ((len(messages) + 1) // 2)
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    if roles != expected[: len(roles)] or (roles[-1] == "assistant") != want_last_assistant:
        ending = "an assistant answer" if want_last_assistant else "a user turn"
        raise ConvertError(f"alpaca needs alternating user/assistant turns ending with {ending}, got {', '.join(map(str, roles))}")
    for i, m in enumerate(messages, start):
        check_keys(m, {"role", "content"}, f"messages[{i}]", "alpaca")
    texts = [text_of(m.get("content"), f"messages[{i}].content") for i, m in enumerate(messages, start)]
    last_user = len(messages) - (2 if want_last_assistant else 1)
    instruction, extra = _split_prompt(messages[last_user].get("content"), f"messages[{last_user + start}].content")
    out: dict[str, Any] = {"instruction": instruction, "input": extra}
    if system:
        out["system"] = system
    if last_user:
        out["history"] = [[texts[i], texts[i + 1]] for i in range(0, last_user, 2)]
    if want_last_assistant:
        out["output"] = texts[-1]
    return out


def target(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """A chat example or preference pair as an alpaca record."""
    if kind == CHAT:
        fields = _fields(record.get("messages"), record.get("tools"), True)
        check_keys(record, {"messages"}, "the record", "alpaca")
        out = {"instruction": fields["instruction"], "input": fields["input"], "output": fields["output"]}
    else:
        inp = record.get("input") or {}
        fields = _fields(inp.get("messages"), inp.get("tools"), False)
        out = {"instruction": fields["instruction"], "input": fields["input"]}
        for key, name in (("preferred_output", "chosen"), ("non_preferred_output", "rejected")):
            output = record.get(key)
            if not (isinstance(output, list) and len(output) == 1 and isinstance(output[0], dict)):
                raise ConvertError(f"{key} is not one assistant message")
            out[name] = text_of(output[0].get("content"), f"{key}[0].content")
    for key in ("system", "history"):
        if key in fields:
            out[key] = fields[key]
    return out
