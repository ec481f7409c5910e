"""A fast yes/no check that a record satisfies the bundled chat or preference JSON Schema.

jsonschema walks a chat record in about a millisecond; this hand-written equivalent takes a few
microseconds. The schema validator asks it first and runs jsonschema only on records it rejects,
to get the precise errors. ``tests/test_fastpath.py`` proves on generated records that both give
the same verdict, so the JSON Schemas stay the single definition of the format.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
_SYSTEM_KEYS = frozenset({"role", "content", "name"})
_ASSISTANT_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "function_call", "refusal"})
_TOOL_KEYS = frozenset({"role", "content", "tool_call_id"})
_CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
_PREF_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
_TEXT_TYPES = frozenset({"text"})
_USER_TYPES = frozenset({"text", "image_url"})
_ASSISTANT_TYPES = frozenset({"text", "refusal"})
_DETAILS = frozenset({"auto", "low", "high"})


def _is_str(v: Any) -> bool:
    return type(v) is str


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
    if len(p) != 2 or type(image) is not dict or not image.keys() <= {"url", "detail"}:
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
    if type(w) is int:
        return w in (0, 1)
    if type(w) is float:
        return w in (0.0, 1.0)
    return False


def _message(m: Any) -> bool:
    if type(m) is not dict:
        return False
    role = m.get("role")
    if type(role) is not str or role not in _ROLES:
        return False
    keys = m.keys()
    if role == "user" or role == "system":
        if not keys <= _SYSTEM_KEYS or "content" not in m:
            return False
        if "name" in m and type(m["name"]) is not str:
            return False
        return _content(m["content"], _USER_TYPES if role == "user" else _TEXT_TYPES)
    if role == "assistant":
        if not keys <= _ASSISTANT_KEYS:
            return False
        if "content" in m and m["content"] is not None and not _content(m["content"], _ASSISTANT_TYPES):
            return False
        if "name" in m and type(m["name"]) is not str:
            return False
        if "weight" in m and not _weight(m["weight"]):
            return False
        if "tool_calls" in m:
            calls = m["tool_calls"]
            if type(calls) is not list or not calls or not all(_tool_call(c) for c in calls):
                return False
        if "function_call" in m and not _function_call(m["function_call"]):
            return False
        return "refusal" not in m or m["refusal"] is None or type(m["refusal"]) is str
    if role == "tool":
        if not keys <= _TOOL_KEYS or "content" not in m:
            return False
        tcid = m.get("tool_call_id")
        return type(tcid) is str and bool(tcid) and _content(m["content"], _TEXT_TYPES)
    # function (deprecated)
    if not keys <= _SYSTEM_KEYS or "content" not in m or type(m.get("name")) is not str:
        return False
    return m["content"] is None or type(m["content"]) is str


def _function(f: Any) -> bool:
    if type(f) is not dict or not f.keys() <= {"name", "description", "parameters", "strict"}:
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


def chat_is_valid(value: Any) -> bool:
    """True exactly when ``value`` satisfies ``openai-chat.schema.json``."""
    if type(value) is not dict or not value.keys() <= _CHAT_KEYS or not _messages(value.get("messages")):
        return False
    if "tools" in value and not _tools(value["tools"]):
        return False
    if "parallel_tool_calls" in value and type(value["parallel_tool_calls"]) is not bool:
        return False
    if "functions" in value:
        fs = value["functions"]
        if type(fs) is not list or not 1 <= len(fs) <= 128 or not all(_function(f) for f in fs):
            return False
    return True


def _output(o: Any) -> bool:
    if type(o) is not list or len(o) != 1:
        return False
    m = o[0]
    if type(m) is not dict or not m.keys() <= _SYSTEM_KEYS or "content" not in m:
        return False
    if m.get("role") != "assistant" or type(m["role"]) is not str:
        return False
    if "name" in m and type(m["name"]) is not str:
        return False
    return _content(m["content"], _TEXT_TYPES)


def preference_is_valid(value: Any) -> bool:
    """True exactly when ``value`` satisfies ``openai-preference.schema.json``."""
    if type(value) is not dict or value.keys() != _PREF_KEYS:
        return False
    inp = value["input"]
    if type(inp) is not dict or not inp.keys() <= _INPUT_KEYS or not _messages(inp.get("messages")):
        return False
    if "tools" in inp and not _tools(inp["tools"]):
        return False
    if "parallel_tool_calls" in inp and type(inp["parallel_tool_calls"]) is not bool:
        return False
    return _output(value["preferred_output"]) and _output(value["non_preferred_output"])
