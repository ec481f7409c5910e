"""ShareGPT conversations (LLaMA-Factory, FastChat, Axolotl) to and from OpenAI records.

A conversation is a list of ``{"from": ..., "value": ...}`` turns with the tags human, gpt and
system (user, assistant and tool are accepted too). LLaMA-Factory's ``function_call`` turns
(JSON with ``name`` and ``arguments``, or a list of such calls) become an assistant message with
``tool_calls`` whose ids are ``call_1``, ``call_2``, ... in order; each ``observation`` turn becomes a
``tool`` message answering the oldest unanswered call. The ``tools`` column (JSON text or a list
of function definitions) becomes OpenAI ``tools``. The preference variant has ``chosen`` and
``rejected`` turns after a conversation that ends with the user.

Besides renaming columns, ``--map`` takes LLaMA-Factory's tag names for other layouts:
``role_tag``, ``content_tag`` (the turn keys, default from and value) and ``user_tag``,
``assistant_tag``, ``system_tag``, ``function_tag``, ``observation_tag``, e.g.
``--map conversations=messages --map role_tag=role --map content_tag=content --map user_tag=user``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import (
    CHAT, PREFERENCE, Canonical, ConvertError, check_keys, dumps, field, openai_tools, plain_tools, require_text,
    text_of,
)

#: LLaMA-Factory's tag option -> the tag it renames
TAG_OPTIONS = {
    "user_tag": "human", "assistant_tag": "gpt", "system_tag": "system",
    "function_tag": "function_call", "observation_tag": "observation",
}
KEY_OPTIONS = ("role_tag", "content_tag")
_ALIASES = {"user": "human", "assistant": "gpt", "tool": "observation"}


def _tag_table(mapping: Mapping[str, str]) -> dict[str, str]:
    table = dict(_ALIASES)
    for option, tag in TAG_OPTIONS.items():
        table[mapping.get(option, tag)] = tag
    return table


def _calls(text: str, where: str, counter: list[int]) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise ConvertError(f"{where} is not JSON: {exc}") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    calls = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
            raise ConvertError(f"{where} is not a function call with a name")
        args = item.get("arguments", {})
        if isinstance(args, str):
            try:
                json.loads(args)
            except ValueError:
                raise ConvertError(f"{where} arguments are not JSON") from None
        else:
            args = dumps(args)
        counter[0] += 1
        calls.append({"id": f"call_{counter[0]}", "type": "function", "function": {"name": item["name"], "arguments": args}})
    if not calls:
        raise ConvertError(f"{where} holds no call")
    return calls


def _messages(value: dict[str, Any], mapping: Mapping[str, str]) -> list[dict[str, Any]]:
    turns = field(value, "conversations", mapping)
    if turns is None:
        turns = value.get("messages")
    if not isinstance(turns, list) or not turns:
        raise ConvertError("conversations is missing, empty or not a list")
    tags = _tag_table(mapping)
    key_from, key_value = mapping.get("role_tag", "from"), mapping.get("content_tag", "value")
    messages: list[dict[str, Any]] = []
    system = field(value, "system", mapping)
    if system:
        messages.append({"role": "system", "content": require_text(system, "system")})
    pending: list[str] = []
    counter = [0]
    for i, turn in enumerate(turns):
        where = f"conversations[{i}]"
        if not isinstance(turn, dict):
            raise ConvertError(f"{where} is not an object")
        tag = tags.get(str(turn.get(key_from)))
        if tag is None:
            role = turn.get(key_from)
            if role is None:
                raise ConvertError(f"{where} has no '{key_from}' key naming its role")
            raise ConvertError(f"{where} has unknown role {repr(role) if isinstance(role, str) else dumps(role)}")
        text = require_text(turn.get(key_value), f"{where}.{key_value}")
        if tag == "system":
            if messages:
                raise ConvertError(f"{where} is a system turn after the start of the conversation")
            messages.append({"role": "system", "content": text})
        elif tag == "human":
            messages.append({"role": "user", "content": text})
        elif tag == "gpt":
            messages.append({"role": "assistant", "content": text})
        elif tag == "function_call":
            calls = _calls(text, where, counter)
            pending += [c["id"] for c in calls]
            messages.append({"role": "assistant", "tool_calls": calls})
        else:
            if not pending:
                raise ConvertError(f"{where} is an observation with no function call to answer")
            messages.append({"role": "tool", "tool_call_id": pending.pop(0), "content": text})
    return messages


def _tools_into(out: dict[str, Any], value: dict[str, Any], mapping: Mapping[str, str]) -> None:
    tools = openai_tools(field(value, "tools", mapping))
    if tools:
        out["tools"] = tools


def source(value: dict[str, Any], mapping: Mapping[str, str]) -> Canonical:
    """A sharegpt conversation as an OpenAI chat example."""
    out: dict[str, Any] = {"messages": _messages(value, mapping)}
    _tools_into(out, value, mapping)
    return CHAT, out


def _answer(value: Any, name: str, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        tag = _tag_table(mapping).get(str(value.get(mapping.get("role_tag", "from"))))
        if tag != "gpt":
            raise ConvertError(f"{name} is not a gpt turn")
        value = value.get(mapping.get("content_tag", "value"))
    return [{"role": "assistant", "content": require_text(value, name)}]


def preference_source(value: dict[str, Any], mapping: Mapping[str, str]) -> Canonical:
    """A sharegpt preference record (conversation, chosen, rejected) as an OpenAI preference pair."""
    inp: dict[str, Any] = {"messages": _messages(value, mapping)}
    _tools_into(inp, value, mapping)
    return PREFERENCE, {
        "input": inp,
        "preferred_output": _answer(field(value, "chosen", mapping), "chosen", mapping),
        "non_preferred_output": _answer(field(value, "rejected", mapping), "rejected", mapping),
    }


def _turns(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise ConvertError("messages is missing or empty")
    turns = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise ConvertError(f"{where} is not an object")
        role = m.get("role")
        if role == "system":
            if i:
                raise ConvertError(f"{where} is a system message after the start")
            check_keys(m, {"role", "content"}, where, "sharegpt")
            turns.append({"from": "system", "value": text_of(m.get("content"), f"{where}.content")})
        elif role == "user":
            check_keys(m, {"role", "content"}, where, "sharegpt")
            turns.append({"from": "human", "value": text_of(m.get("content"), f"{where}.content")})
        elif role == "assistant" and m.get("tool_calls"):
            check_keys(m, {"role", "content", "tool_calls"}, where, "sharegpt")
            if m.get("content"):
                raise ConvertError(f"{where} has both text and tool calls, which sharegpt cannot hold in one turn")
            calls = []
            for j, call in enumerate(m["tool_calls"]):
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict):
                    raise ConvertError(f"{where}.tool_calls[{j}] has no function")
                try:
                    args = json.loads(fn.get("arguments", "{}"))
                except (TypeError, ValueError):
                    raise ConvertError(f"{where}.tool_calls[{j}] arguments are not JSON") from None
                calls.append({"name": fn.get("name"), "arguments": args})
            turns.append({"from": "function_call", "value": dumps(calls[0] if len(calls) == 1 else calls)})
        elif role == "assistant":
            check_keys(m, {"role", "content"}, where, "sharegpt")
            turns.append({"from": "gpt", "value": text_of(m.get("content"), f"{where}.content")})
        elif role == "tool":
            check_keys(m, {"role", "content", "tool_call_id"}, where, "sharegpt")
            turns.append({"from": "observation", "value": text_of(m.get("content"), f"{where}.content")})
        else:
            raise ConvertError(f"{where} has role {role!r}, which sharegpt cannot hold")
    return turns


def target(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """A chat example (or preference pair) as a sharegpt (preference) record."""
    if kind == CHAT:
        check_keys(record, {"messages", "tools"}, "the record", "sharegpt")
        out: dict[str, Any] = {"conversations": _turns(record.get("messages"))}
        tools = record.get("tools")
    else:
        inp = record.get("input") or {}
        check_keys(inp, {"messages", "tools"}, "input", "sharegpt")
        out = {"conversations": _turns(inp.get("messages"))}
        for key, name in (("preferred_output", "chosen"), ("non_preferred_output", "rejected")):
            output = record.get(key)
            if not (isinstance(output, list) and len(output) == 1 and isinstance(output[0], dict)):
                raise ConvertError(f"{key} is not one assistant message")
            out[name] = {"from": "gpt", "value": text_of(output[0].get("content"), f"{key}[0].content")}
        tools = inp.get("tools")
    if tools:
        out["tools"] = dumps(plain_tools(tools))
    return out
