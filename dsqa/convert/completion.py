"""Prompt/completion records (legacy OpenAI, TRL) to chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import CHAT, Canonical, ConvertError, a_json_type, field


def _messages(value: Any, what: str, role: str) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        return list(value)
    kind = "missing" if value is None else "empty" if value == [] else a_json_type(value)
    raise ConvertError(f"{what} is {kind}, not a string or a list of messages")


def source(value: dict[str, Any], mapping: Mapping[str, str]) -> Canonical:
    """``prompt`` becomes the user turn(s) and ``completion`` the assistant turn(s)."""
    prompt = _messages(field(value, "prompt", mapping), "prompt", "user")
    completion = _messages(field(value, "completion", mapping), "completion", "assistant")
    return CHAT, {"messages": prompt + completion}
