"""TRL and Anthropic-HH preference records (prompt, chosen, rejected) to OpenAI preference pairs.

Three layouts are read: strings (``prompt``, ``chosen``, ``rejected``); TRL's conversational
lists of messages (with or without a separate ``prompt``, in which case the shared start of
``chosen`` and ``rejected`` is the prompt); and HH transcripts (``"\\n\\nHuman: ...\\n\\nAssistant: ..."``)
whose turns before the last answer form the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .base import PREFERENCE, Canonical, ConvertError, field

_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def _hh(text: str, what: str) -> list[dict[str, str]]:
    parts = _HH_TURN.split(text)
    if parts[0].strip() or len(parts) < 3:
        raise ConvertError(f"{what} is not a '\\n\\nHuman: ... \\n\\nAssistant: ...' transcript")
    return [
        {"role": "user" if speaker == "Human" else "assistant", "content": body.strip()}
        for speaker, body in zip(parts[1::2], parts[2::2])
    ]


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def _split_shared(chosen: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> tuple[list[Any], Any, Any]:
    if len(chosen) != len(rejected) or chosen[:-1] != rejected[:-1]:
        raise ConvertError("chosen and rejected differ before their last turn, so they share no prompt")
    return chosen[:-1], chosen[-1], rejected[-1]


def source(value: dict[str, Any], mapping: Mapping[str, str]) -> Canonical:
    """A TRL or HH preference record as an OpenAI preference pair."""
    prompt = field(value, "prompt", mapping)
    chosen, rejected = field(value, "chosen", mapping), field(value, "rejected", mapping)
    if isinstance(chosen, str) and isinstance(rejected, str):
        if prompt is None or (isinstance(prompt, str) and _HH_TURN.search("\n\n" + prompt.lstrip("\n"))):
            head = "" if prompt is None else prompt
            messages, good, bad = _split_shared(_hh(head + chosen, "chosen"), _hh(head + rejected, "rejected"))
        elif isinstance(prompt, str):
            messages = [{"role": "user", "content": prompt}]
            good, bad = {"role": "assistant", "content": chosen}, {"role": "assistant", "content": rejected}
        else:
            raise ConvertError("prompt is not a string, while chosen and rejected are")
    elif _is_messages(chosen) and _is_messages(rejected):
        if prompt is None:
            messages, good, bad = _split_shared(chosen, rejected)
        elif _is_messages(prompt) or isinstance(prompt, str):
            if len(chosen) != 1 or len(rejected) != 1:
                raise ConvertError("chosen and rejected must each be one assistant message after the prompt")
            messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            good, bad = chosen[0], rejected[0]
        else:
            raise ConvertError("prompt is neither a string nor a list of messages")
    else:
        raise ConvertError("chosen and rejected must both be strings or both be lists of messages")
    for name, answer in (("chosen", good), ("rejected", bad)):
        if answer.get("role") != "assistant":
            role = answer.get("role")
            raise ConvertError(f"the {name} answer is a '{role}' turn, not the assistant's" if isinstance(role, str)
                               else f"the {name} answer has no role, so it is not the assistant's")
    return PREFERENCE, {
        "input": {"messages": list(messages)},
        "preferred_output": [good],
        "non_preferred_output": [bad],
    }
