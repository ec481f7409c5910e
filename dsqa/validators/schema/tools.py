"""Tool calls and tools: SCH012, SCH013, SCH014, SCH017, SCH019 and SCH020."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ...model import Severity
from ...reading import loads
from ..base import Code
from .common import Conversation, Mapped, Spot, json_type, quote, short

_CALL = '{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": %s}}'
_TOOL = '{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}'
_ASK = '{"role": "user", "content": "Weather in Oslo?"}'
_ANSWER = '{"role": "tool", "tool_call_id": "%s", "content": "4 C, rain"}, {"role": "assistant", "content": "4 C and rain."}'


def _example(arguments: str = '"{\\"city\\": \\"Oslo\\"}"', answer_id: str = "call_1", tools: str = "", name: str = "get_weather") -> str:
    call = (_CALL % arguments).replace("get_weather", name)
    head = f'"tools": [{tools}], ' if tools else ""
    return f'{{{head}"messages": [{_ASK}, {{"role": "assistant", "content": null, "tool_calls": [{call}]}}, {_ANSWER % answer_id}]}}'


CODES: dict[str, Code] = {
    "SCH012": Code(
        Severity.ERROR,
        "tool-call arguments are not a JSON object",
        why="""
            A tool call's arguments is a string that holds a JSON object, such as
            "{\\"city\\": \\"Oslo\\"}". OpenAI rejects the file when that string is not valid
            JSON or holds something other than an object; an object given directly instead of
            the string fails the schema too. Serialise the arguments with json.dumps.
        """,
        failing=_example('"{city: Oslo}"'),
        passing=_example(),
    ),
    "SCH013": Code(
        Severity.ERROR,
        "tool message answers no earlier tool call",
        why="""
            A tool message carries the result of one tool call and names it by tool_call_id;
            OpenAI rejects the file when no earlier assistant message made a call with that id,
            which usually means the ids were renumbered or the calling turn was cut off. Give
            the tool message the id of the assistant's tool_calls entry before it.
        """,
        failing=_example(answer_id="call_9"),
        passing=_example(),
    ),
    "SCH014": Code(
        Severity.ERROR,
        "malformed tool or function definition",
        why="""
            Each entry of tools is {"type": "function", "function": {...}} whose function has a
            name matching ^[a-zA-Z0-9_-]{1,64}$, defined once, and parameters that are a valid
            JSON Schema of type object. OpenAI rejects the file otherwise. Fix the definition
            the pointer names.
        """,
        failing=_example(tools=_TOOL.replace("get_weather", "get weather")),
        passing=_example(tools=_TOOL),
    ),
    "SCH017": Code(
        Severity.INFO,
        "deprecated functions / function_call",
        why="""
            functions, function_call and the function role are the old form of tool calling.
            OpenAI still accepts them but recommends tools, tool_calls and tool messages, which
            also allow several calls per turn. Convert them when you can. A warning in the
            strict pack.
        """,
        failing=(
            '{"messages": [{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": null,'
            ' "function_call": {"name": "get_weather", "arguments": "{}"}}, {"role": "function", "name": "get_weather",'
            ' "content": "4 C"}, {"role": "assistant", "content": "4 C."}]}'
        ),
        passing=_example(),
    ),
    "SCH019": Code(
        Severity.WARNING,
        "tool call names a function that is not in tools",
        why="""
            When an example lists its tools, every tool call should name one of them: a call to
            a function the model was not offered teaches it to invent functions. Add the
            function to tools or fix the name. An error in the strict pack.
        """,
        failing=_example(tools=_TOOL, name="get_forecast"),
        passing=_example(tools=_TOOL),
    ),
    "SCH020": Code(
        Severity.ERROR,
        "tool call id used twice in one example",
        why="""
            Tool messages find their call by id, so two tool calls with the same id in one
            example make the answers ambiguous, and OpenAI rejects the file. Give every tool
            call its own id.
        """,
        failing=(
            '{"messages": [{"role": "user", "content": "Weather in Oslo and Rome?"}, {"role": "assistant", "content": null,'
            ' "tool_calls": [' + (_CALL % '"{}"') + ", " + (_CALL % '"{}"') + ']}, {"role": "tool", "tool_call_id": "call_1",'
            ' "content": "4 C"}, {"role": "assistant", "content": "Cold in both."}]}'
        ),
        passing=_example(),
    ),
}

# -- jsonschema errors inside tools or functions -------------------------------------------------


def malformed(spot: Spot) -> list[Mapped]:
    """SCH014: every schema error in a tool or function definition."""
    if spot.keyword == "required":
        return [Mapped("SCH014", spot.pointer, f"tool definition is missing '{spot.key}'")]
    if spot.keyword == "additionalProperties":
        return [Mapped("SCH014", spot.pointer, f"unexpected key '{spot.key}' in a tool definition")]
    if spot.keyword == "pattern":
        return [Mapped("SCH014", spot.pointer, f"function name {quote(spot.instance)} must match {spot.expected}")]
    return [Mapped("SCH014", spot.pointer, f"malformed tool definition: {short(spot.text)}")]


# -- rules a schema cannot express ---------------------------------------------------------------


def names_of(tools: Any) -> set[str] | None:
    """The function names of a tools list, or None when there is no list."""
    if not isinstance(tools, list):
        return None
    return {
        t["function"]["name"]
        for t in tools
        if isinstance(t, dict) and isinstance(t.get("function"), dict) and isinstance(t["function"].get("name"), str)
    }


def definitions(tools: Any, prefix: str) -> Iterator[Mapped]:
    """SCH014: a function defined twice, or parameters that are not a JSON Schema object."""
    if not isinstance(tools, list):
        return
    names: dict[str, int] = {}
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict):
            continue
        ptr = f"{prefix}/{i}/function"
        name = fn.get("name")
        if isinstance(name, str):
            if name in names:
                yield Mapped("SCH014", f"{ptr}/name", f"function {name!r} is defined twice in tools (first at {prefix}/{names[name]})")
            else:
                names[name] = i
        params = fn.get("parameters")
        if isinstance(params, dict):
            yield from _parameters(params, ptr)


def _parameters(params: dict[str, Any], ptr: str) -> Iterator[Mapped]:
    if "type" in params and params["type"] != "object":
        yield Mapped(
            "SCH014", f"{ptr}/parameters/type",
            f"function parameters must be a JSON Schema of type 'object', got type {quote(params['type'])}",
        )
    problem = _schema_problem(json.dumps(params, sort_keys=True))
    if problem is not None:
        yield Mapped("SCH014", f"{ptr}/parameters", f"function parameters are not a valid JSON Schema: {short(problem)}")


@lru_cache(maxsize=1024)
def _schema_problem(canonical: str) -> str | None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(json.loads(canonical))
    except SchemaError as exc:
        return str(exc.message)
    return None


def calls(tool_calls: list[Any], ptr: str, conv: Conversation) -> Iterator[Mapped]:
    """SCH020, SCH012 and SCH019 for the tool calls of one assistant message."""
    for j, call in enumerate(tool_calls):
        if not isinstance(call, dict):
            continue
        call_id = call.get("id")
        if isinstance(call_id, str):
            if call_id in conv.call_ids:
                yield Mapped(
                    "SCH020", f"{ptr}/tool_calls/{j}/id", f"tool call id {call_id!r} is used twice in this example",
                    "give every tool call its own id",
                )
            conv.call_ids.add(call_id)
        fn = call.get("function")
        if isinstance(fn, dict):
            yield from arguments(fn, f"{ptr}/tool_calls/{j}/function")
            name = fn.get("name")
            if conv.tool_names is not None and isinstance(name, str) and name not in conv.tool_names:
                yield Mapped(
                    "SCH019", f"{ptr}/tool_calls/{j}/function/name", f"tool call names {name!r}, which is not among the example's tools",
                    "add the function to tools or fix the name",
                )


def arguments(fn: dict[str, Any], ptr: str) -> Iterator[Mapped]:
    """SCH012: arguments that are not a string holding a JSON object."""
    args = fn.get("arguments")
    if not isinstance(args, str):
        return
    hint = "arguments is a string holding a JSON object, e.g. \"{\\\"city\\\": \\\"Paris\\\"}\""
    try:
        parsed = loads(args)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        yield Mapped("SCH012", f"{ptr}/arguments", f"tool-call arguments are not valid JSON: {reason}", hint)
        return
    if not isinstance(parsed, dict):
        yield Mapped("SCH012", f"{ptr}/arguments", f"tool-call arguments must be a JSON object, got {json_type(parsed)}", hint)


def answer(m: dict[str, Any], ptr: str, conv: Conversation) -> Iterator[Mapped]:
    """SCH013: a tool message whose tool_call_id no earlier tool call has."""
    tcid = m.get("tool_call_id")
    if isinstance(tcid, str) and tcid and tcid not in conv.call_ids:
        yield Mapped(
            "SCH013", f"{ptr}/tool_call_id", f"tool message answers tool_call_id {tcid!r}, which no earlier assistant tool call has",
            "match the id of the assistant's tool_calls entry before it",
        )


def deprecated_calls(pointer: str) -> Mapped:
    """SCH017 for function_call or a function message, at its first use."""
    return Mapped(
        "SCH017", pointer, "deprecated function-calling fields; OpenAI recommends tools and tool_calls",
        "convert functions/function_call to tools/tool_calls",
    )


def deprecated_functions() -> Mapped:
    """SCH017 for a top-level functions list."""
    return Mapped("SCH017", "/functions", "deprecated 'functions'; OpenAI recommends 'tools'", "convert functions to tools")
