"""A fast yes/no check that a record satisfies the bundled chat or preference JSON Schema.

jsonschema walks a chat record in about a millisecond; this hand-written equivalent takes a few
microseconds. The schema validator asks it first and runs jsonschema only on records it rejects,
to get the precise errors. The format's vocabulary (top-level keys, roles, the keys of each
message, the part types each role accepts, the function-name pattern) is read from the bundled
JSON Schemas, not written here again; ``tests/test_fastpath.py`` proves on generated records that
both give the same verdict, so the JSON Schemas stay the single definition of the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from typing import Any

CHAT_SCHEMA = "openai-chat"
PREFERENCE_SCHEMA = "openai-preference"


@lru_cache(maxsize=None)
def bundled_schema(name: str) -> dict[str, Any]:
    """The bundled JSON Schema ``dsqa/schemas/<name>.schema.json``, parsed once per process."""
    data: dict[str, Any] = json.loads((files("dsqa") / "schemas" / f"{name}.schema.json").read_text("utf-8"))
    return data


_CHAT = bundled_schema(CHAT_SCHEMA)
_DEFS: dict[str, Any] = _CHAT["$defs"]
_PREF = bundled_schema(PREFERENCE_SCHEMA)


def _keys(definition: dict[str, Any]) -> frozenset[str]:
    return frozenset(definition["properties"])


def _part_types(definition: str) -> frozenset[str]:
    return frozenset(_DEFS[definition]["properties"]["type"]["enum"])


#: the roles a chat message may have, in the schema's order (messages name them in this order)
ROLES: tuple[str, ...] = tuple(_DEFS["message"]["properties"]["role"]["enum"])
_NAME = re.compile(_DEFS["function"]["properties"]["name"]["pattern"])
_CHAT_KEYS = _keys(_CHAT)
_FUNCTIONS_MAX: int = _CHAT["properties"]["functions"]["maxItems"]
_INPUT_KEYS = _keys(_PREF["properties"]["input"])
_PREF_KEYS = frozenset(_PREF["required"])
_OUTPUT_KEYS = _keys(_PREF["$defs"]["output"]["items"])
#: the two outputs of a preference record
OUTPUTS: tuple[str, ...] = tuple(k for k, v in _PREF["properties"].items() if v.get("$ref") == "#/$defs/output")
_FUNCTION_KEYS = _keys(_DEFS["function"])
_KEYS = {role: _keys(_DEFS[f"{role}_message"]) for role in ROLES}
_TEXT_TYPES = _part_types("text_part")
_USER_TYPES = _part_types("user_part")
_ASSISTANT_TYPES = _part_types("assistant_part")
_IMAGE = next(
    rule["then"]["properties"]["image_url"] for rule in _DEFS["part_shape"]["allOf"] if "image_url" in rule["then"]["properties"]
)
_IMAGE_KEYS = _keys(_IMAGE)
_DETAILS = frozenset(_IMAGE["properties"]["detail"]["enum"])
_WEIGHTS = frozenset(_DEFS["assistant_message"]["properties"]["weight"]["enum"])


def _part(p: Any, allowed: frozenset[str]) -> bool:
    if type(p) is not dict:
        return False
    t = p.get("type")
    if type(t) is not str or t not in allowed:
        return False
    if t == "text":
        return "text" in p and type(p["text"]) is str and len(p) == 2
    if t == "refusal":
        return "refusal" in p and type(p["refusal"]) is str and len(p) == 2
    image = p.get("image_url")
    if len(p) != 2 or type(image) is not dict or not image.keys() <= _IMAGE_KEYS:
        return False
    url = image.get("url")
    if type(url) is not str or not url:
        return False
    return "detail" not in image or (type(image["detail"]) is str and image["detail"] in _DETAILS)


def _content(c: Any, allowed: frozenset[str]) -> bool:
    if type(c) is str:
        return True
    if type(c) is not list or not c:
        return False
    return all(_part(p, allowed) for p in c)


def _function_call(fc: Any) -> bool:
    return (
        type(fc) is dict
        and len(fc) == 2
        and type(fc.get("name")) is str
        and bool(fc["name"])
        and type(fc.get("arguments")) is str
    )


def _tool_call(tc: Any) -> bool:
    return (
        type(tc) is dict
        and len(tc) == 3
        and type(tc.get("id")) is str
        and bool(tc["id"])
        and tc.get("type") == "function"
        and type(tc["type"]) is str
        and _function_call(tc.get("function"))
    )


def _weight(w: Any) -> bool:
    # the schema says integer 0 or 1; JSON Schema counts 1.0 as an integer, but not true
    return (type(w) is int or type(w) is float) and w in _WEIGHTS


def _name_ok(m: dict[str, Any]) -> bool:
    return "name" not in m or type(m["name"]) is str


def _system(m: dict[str, Any]) -> bool:
    return m.keys() <= _KEYS["system"] and "content" in m and _name_ok(m) and _content(m["content"], _TEXT_TYPES)


def _user(m: dict[str, Any]) -> bool:
    return m.keys() <= _KEYS["user"] and "content" in m and _name_ok(m) and _content(m["content"], _USER_TYPES)


def _assistant(m: dict[str, Any]) -> bool:
    if not m.keys() <= _KEYS["assistant"]:
        return False
    if "content" in m and m["content"] is not None and not _content(m["content"], _ASSISTANT_TYPES):
        return False
    if not _name_ok(m) or ("weight" in m and not _weight(m["weight"])):
        return False
    if "tool_calls" in m:
        calls = m["tool_calls"]
        if type(calls) is not list or not calls or not all(_tool_call(c) for c in calls):
            return False
    if "function_call" in m and not _function_call(m["function_call"]):
        return False
    return "refusal" not in m or m["refusal"] is None or type(m["refusal"]) is str


def _tool_message(m: dict[str, Any]) -> bool:
    if not m.keys() <= _KEYS["tool"] or "content" not in m:
        return False
    tcid = m.get("tool_call_id")
    return type(tcid) is str and bool(tcid) and _content(m["content"], _TEXT_TYPES)


def _function_message(m: dict[str, Any]) -> bool:  # deprecated
    if not m.keys() <= _KEYS["function"] or "content" not in m or type(m.get("name")) is not str:
        return False
    return m["content"] is None or type(m["content"]) is str


_BY_ROLE: dict[str, Callable[[dict[str, Any]], bool]] = {
    "system": _system, "user": _user, "assistant": _assistant, "tool": _tool_message, "function": _function_message,
}
assert _BY_ROLE.keys() == set(ROLES), "every role of the schema needs its fast check"


def _message(m: Any) -> bool:
    if type(m) is not dict:
        return False
    role = m.get("role")
    check = _BY_ROLE.get(role) if type(role) is str else None
    return check is not None and check(m)


def _function(f: Any) -> bool:
    if type(f) is not dict or not f.keys() <= _FUNCTION_KEYS:
        return False
    name = f.get("name")
    if type(name) is not str or not _NAME.search(name):
        return False
    if "description" in f and type(f["description"]) is not str:
        return False
    if "parameters" in f and type(f["parameters"]) is not dict:
        return False
    return "strict" not in f or f["strict"] is None or type(f["strict"]) is bool


def _tool(t: Any) -> bool:
    return (
        type(t) is dict
        and len(t) == 2
        and t.get("type") == "function"
        and type(t["type"]) is str
        and _function(t.get("function"))
    )


def _messages(ms: Any) -> bool:
    return type(ms) is list and bool(ms) and all(_message(m) for m in ms)


def _tools(ts: Any) -> bool:
    return type(ts) is list and all(_tool(t) for t in ts)


def _setup(value: dict[str, Any]) -> bool:
    """The tools and parallel_tool_calls of a chat record or a preference input."""
    if "tools" in value and not _tools(value["tools"]):
        return False
    return "parallel_tool_calls" not in value or type(value["parallel_tool_calls"]) is bool


def chat_is_valid(value: Any) -> bool:
    """True exactly when ``value`` satisfies ``openai-chat.schema.json``."""
    if type(value) is not dict or not value.keys() <= _CHAT_KEYS or not _messages(value.get("messages")):
        return False
    if not _setup(value):
        return False
    if "functions" in value:
        fs = value["functions"]
        if type(fs) is not list or not 1 <= len(fs) <= _FUNCTIONS_MAX or not all(_function(f) for f in fs):
            return False
    return True


def _output(o: Any) -> bool:
    if type(o) is not list or len(o) != 1:
        return False
    m = o[0]
    if type(m) is not dict or not m.keys() <= _OUTPUT_KEYS or "content" not in m:
        return False
    if m.get("role") != "assistant" or type(m["role"]) is not str:
        return False
    return _name_ok(m) and _content(m["content"], _TEXT_TYPES)


def preference_is_valid(value: Any) -> bool:
    """True exactly when ``value`` satisfies ``openai-preference.schema.json``."""
    if type(value) is not dict or value.keys() != _PREF_KEYS:
        return False
    inp = value["input"]
    if type(inp) is not dict or not inp.keys() <= _INPUT_KEYS or not _messages(inp.get("messages")):
        return False
    return _setup(inp) and _output(value["preferred_output"]) and _output(value["non_preferred_output"])
