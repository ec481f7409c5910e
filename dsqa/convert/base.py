"""What every converter shares: the canonical records, the conversion error and small helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# the two canonical shapes every source becomes and every target is made from: an OpenAI chat
# record ({"messages", "tools"?}) or an OpenAI preference record ({"input", "preferred_output", ...}),
# named as the data formats they are
from ..formats import CHAT, PREFERENCE
from ..jsontypes import json_type

Canonical = tuple[str, dict[str, Any]]


class ConvertError(Exception):
    """A record that cannot be converted; the message is the reason written to the rejects file."""


def field(value: Mapping[str, Any], key: str, mapping: Mapping[str, str]) -> Any:
    """The value of ``key``, or of the column ``--map`` names for it."""
    return value.get(mapping.get(key, key))


def require_text(value: Any, what: str) -> str:
    """``value`` if it is a string, else a ConvertError naming ``what``."""
    if not isinstance(value, str):
        kind = "missing" if value is None else f"{a_json_type(value)}, not a string"
        raise ConvertError(f"{what} is {kind}")
    return value


def text_of(content: Any, what: str) -> str:
    """The text of message content: a string, or the joined text of a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                kind = part.get("type") if isinstance(part, dict) else json_type(part)
                kind = f"'{kind}'" if isinstance(kind, str) else "a part with no type"
                raise ConvertError(f"{what} part {i} is {kind}, only text parts can be converted")
            texts.append(part["text"])
        return "".join(texts)
    raise ConvertError(f"{what} is {'missing' if content is None else a_json_type(content)}, not text")


def a_json_type(value: Any) -> str:
    """The JSON type of a value with its article: "an array", "a number"."""
    name = json_type(value)
    return ("an " if name[0] in "aeiou" else "a ") + name


def dumps(value: Any) -> str:
    """Compact JSON keeping non-ASCII text readable."""
    return json.dumps(value, ensure_ascii=False)


def openai_tools(tools: Any) -> list[dict[str, Any]] | None:
    """OpenAI ``tools`` from a list (or JSON text) of function definitions or OpenAI tools."""
    if tools is None or tools == "" or tools == []:
        return None
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except ValueError as exc:
            raise ConvertError(f"tools is not valid JSON: {exc}") from None
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list):
        raise ConvertError(f"tools is {a_json_type(tools)}, not a list of functions")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise ConvertError(f"tools[{i}] is not an object")
        if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            out.append(tool)
            continue
        unknown = set(tool) - {"name", "description", "parameters", "strict"}
        if unknown:
            raise ConvertError(f"tools[{i}] has keys a function definition does not have: {', '.join(sorted(unknown))}")
        if not isinstance(tool.get("name"), str):
            raise ConvertError(f"tools[{i}] has no function name")
        out.append({"type": "function", "function": dict(tool)})
    return out or None


def plain_tools(tools: Any) -> list[dict[str, Any]]:
    """Function definitions (name, description, parameters) from OpenAI ``tools``."""
    if not isinstance(tools, list):
        raise ConvertError("tools is not a list")
    out = []
    for i, tool in enumerate(tools):
        if not (isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict)):
            raise ConvertError(f"tools[{i}] is not a function tool")
        out.append(tool["function"])
    return out


def check_keys(message: Mapping[str, Any], allowed: set[str], where: str, target: str) -> None:
    """Refuse a message whose fields the target format cannot hold, rather than drop them."""
    extra = set(message) - allowed
    if message.get("weight") == 1:
        extra.discard("weight")  # weight 1 is the default: nothing is lost
    if extra:
        raise ConvertError(f"{where} has {', '.join(sorted(extra))}, which {target} cannot hold")
