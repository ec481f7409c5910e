"""Detect which training-data format a record is in."""

from __future__ import annotations

from typing import Any

CHAT = "openai-chat"
PREFERENCE = "openai-preference"
COMPLETION = "prompt-completion"
FORMATS = (CHAT, PREFERENCE, COMPLETION)
#: the source formats `check` reads in place by converting each record (dsqa.sourcemap), and aliases
IN_PLACE_NAMES = ("alpaca", "sharegpt", "sharegpt-preference", "trl-preference", "hh", "trl")

_PREFERENCE_KEYS = ("preferred_output", "non_preferred_output", "preferred_completion", "non_preferred_completion")


def detect_format(value: Any) -> str | None:
    """Return the format a parsed record looks like, or None when it matches none."""
    if not isinstance(value, dict):
        return None
    if "messages" in value:
        return CHAT
    # an Alpaca record also has "input", but as a string; preference input is an object
    if any(k in value for k in _PREFERENCE_KEYS) or isinstance(value.get("input"), dict):
        return PREFERENCE
    if "prompt" in value or "completion" in value:
        return COMPLETION
    return None
