"""Roles and messages: SCH003, SCH006, SCH009, SCH010, SCH011 and SCH016, and the walk over a conversation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...model import Severity
from ..base import Code
from ..fastpath import ROLES
from . import tools
from .common import Conversation, Mapped, Spot, quote

CODES: dict[str, Code] = {
    "SCH003": Code(
        Severity.ERROR,
        "role unknown or not allowed",
        why="""
            A message's role must be system, user, assistant, tool or function (the last is
            deprecated). OpenAI rejects the file for any other role, including "developer",
            which the chat API accepts but supervised fine-tuning data does not. Use "system"
            for instructions and "assistant" for the replies the model learns.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "Hello"}]}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}',
    ),
    "SCH006": Code(
        Severity.ERROR,
        "unexpected key in a message or part",
        why="""
            Each message may hold only the keys of its role (role, content and name; an
            assistant message also weight, tool_calls, function_call and refusal; a tool
            message tool_call_id), and each content part only its type and value. OpenAI
            rejects the file for any other key. Remove bookkeeping keys such as ids or
            timestamps before uploading.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi", "id": "u1"}, {"role": "assistant", "content": "Hello"}]}',
        passing='{"messages": [{"role": "user", "content": "Hi", "name": "ana"}, {"role": "assistant", "content": "Hello"}]}',
    ),
    "SCH009": Code(
        Severity.ERROR,
        "invalid weight",
        why="""
            weight says whether an assistant message is trained on: 1 (the default) trains on
            it, 0 skips it. Any other value, or a weight on a system, user or tool message,
            makes OpenAI reject the file. Use 0 or 1, and only on assistant messages.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0.5}]}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 1}]}',
    ),
    "SCH010": Code(
        Severity.ERROR,
        "no assistant message with weight 1",
        why="""
            Fine-tuning learns only the assistant messages with weight 1 (the default). An
            example with no assistant message, or whose every assistant message has weight 0,
            teaches nothing, and OpenAI rejects the file. Add the assistant reply the model
            should learn, or set weight 1 on one.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0}]}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}',
    ),
    "SCH011": Code(
        Severity.ERROR,
        "assistant message without content or tool call",
        why="""
            An assistant message may leave content out (or null) only when it makes a tool or
            function call instead; otherwise it has nothing to say and OpenAI rejects the
            file. Give the reply text, or the tool_calls this turn makes.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null}]}',
        passing=(
            '{"messages": [{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": null, "tool_calls":'
            ' [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}]},'
            ' {"role": "tool", "tool_call_id": "call_1", "content": "4 C, rain"}, {"role": "assistant", "content": "4 C and rain."}]}'
        ),
    ),
    "SCH016": Code(
        Severity.WARNING,
        "conversation does not end with an assistant message",
        why="""
            The turns after the last assistant message are not trained on: they cost tokens
            and teach nothing, and often show that an example was cut in the wrong place. End
            each example with the assistant turn the model should learn. An error in the
            strict pack.
        """,
        failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Thanks"}]}',
        passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}',
    ),
}

# -- jsonschema errors inside a message ----------------------------------------------------------


def missing_key(spot: Spot) -> list[Mapped] | None:
    """SCH004: a key the message's role requires."""
    if spot.keyword != "required" or spot.rel:
        return None
    return [Mapped("SCH004", spot.pointer, f"{spot.where} is missing required key '{spot.key}'")]


def unexpected_key(spot: Spot) -> list[Mapped] | None:
    """SCH006 (SCH009 for a weight): a key the message or its content part may not hold."""
    if spot.keyword != "additionalProperties":
        return None
    if not spot.rel:
        if spot.key == "weight":
            return [Mapped(
                "SCH009", spot.pointer, f"'weight' is only allowed on assistant messages, not on {spot.a_where}",
                "remove it; only assistant turns are trained",
            )]
        return [Mapped("SCH006", spot.pointer, f"unexpected key '{spot.key}' in {spot.where}")]
    if len(spot.rel) >= 2 and spot.rel[0] == "content":
        return [Mapped("SCH006", spot.pointer, f"unexpected key '{spot.key}' in a content part")]
    return None


def unknown_role(spot: Spot) -> list[Mapped] | None:
    """SCH003: a role the format does not have."""
    if spot.keyword != "enum" or spot.rel != ["role"]:
        return None
    if spot.instance == "developer":
        return [Mapped(
            "SCH003", spot.pointer, "role 'developer' is not accepted in supervised fine-tuning data", "use 'system' for instructions",
        )]
    return [Mapped("SCH003", spot.pointer, f"unknown role {quote(spot.instance)} (expected {', '.join(ROLES)})")]


def bad_weight(spot: Spot) -> list[Mapped] | None:
    """SCH009: a weight other than 0 or 1."""
    if spot.rel[:1] != ["weight"] or spot.keyword in ("required", "additionalProperties"):
        return None
    return [Mapped("SCH009", spot.pointer, f"weight must be 0 or 1, got {quote(spot.instance)}", "use 1 to train on this turn, 0 to skip it")]


# -- rules a schema cannot express ---------------------------------------------------------------


def walk(messages: list[Any], prefix: str, tool_defs: Any) -> tuple[list[Mapped], Conversation]:
    """The findings of each message in order (tool calls and answers included), and what the walk learnt."""
    conv = Conversation(tools.names_of(tool_defs), set())
    out: list[Mapped] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "assistant":
            _assistant(m, f"{prefix}/{i}", conv, out)
        elif role == "tool":
            out.extend(tools.answer(m, f"{prefix}/{i}", conv))
        elif role == "function" and conv.deprecated_at is None:
            conv.deprecated_at = f"{prefix}/{i}/role"
    if conv.deprecated_at is not None:
        out.append(tools.deprecated_calls(conv.deprecated_at))
    return out, conv


def _assistant(m: dict[str, Any], ptr: str, conv: Conversation, out: list[Mapped]) -> None:
    """SCH011, and the tool and function calls of one assistant message, appended to ``out``."""
    # an invalid weight is SCH009's business; only an explicit 0 means "do not train"
    weight = m.get("weight", 1)
    if not (weight == 0 and not isinstance(weight, bool)):
        conv.trainable = True
    calls = m.get("tool_calls")
    fcall = m.get("function_call")
    if fcall is not None and conv.deprecated_at is None:
        conv.deprecated_at = f"{ptr}/function_call"
    if m.get("content") is None and not calls and not fcall:
        state = "null" if "content" in m else "missing"
        out.append(Mapped(
            "SCH011", f"{ptr}/content", f"assistant message content is {state} and it has no tool_calls",
            "give the reply text, or the tool_calls this turn makes",
        ))
    if isinstance(calls, list):
        out.extend(tools.calls(calls, ptr, conv))
    if isinstance(fcall, dict):
        out.extend(tools.arguments(fcall, f"{ptr}/function_call"))


def chat_rules(value: dict[str, Any]) -> Iterator[Mapped]:
    """The rules of a chat record beyond its schema (tools, messages, trainability, the last turn)."""
    messages = value.get("messages")
    if "tools" in value:
        yield from tools.definitions(value["tools"], "/tools")
    if "functions" in value:
        yield tools.deprecated_functions()
    if not isinstance(messages, list) or not messages:
        return
    found, conv = walk(messages, "/messages", value.get("tools"))
    yield from found
    if not conv.trainable:
        yield _nothing_to_train(messages)
    last = messages[-1]
    if isinstance(last, dict) and last.get("role") != "assistant":
        role = last.get("role")
        what = f"a {quote(role)} message" if isinstance(role, str) else "a message without a valid role"
        yield Mapped(
            "SCH016", f"/messages/{len(messages) - 1}", f"conversation ends with {what}, not an assistant reply",
            "end each example with the assistant turn to learn",
        )


def _nothing_to_train(messages: list[Any]) -> Mapped:
    """SCH010, worded by whether there is an assistant message at all."""
    if any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        return Mapped(
            "SCH010", "/messages", "every assistant message has weight 0: nothing to train on",
            "set weight 1 on at least one assistant message",
        )
    return Mapped("SCH010", "/messages", "no assistant message: nothing to train on", "add the assistant reply the model should learn")
