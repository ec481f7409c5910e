"""OpenAI chat and preference records as a source (copied as they are) and as a target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import CHAT, PREFERENCE, Canonical, ConvertError


def chat_source(value: dict[str, Any], mapping: Mapping[str, str]) -> Canonical:
    """An OpenAI chat record, unchanged; the check after conversion judges its contents."""
    if "messages" not in value:
        raise ConvertError("no 'messages' field (not an OpenAI chat record)")
    if not isinstance(value["messages"], list):
        raise ConvertError("'messages' is not a list")
    return CHAT, value


def preference_source(value: dict[str, Any], mapping: Mapping[str, str]) -> Canonical:
    """An OpenAI preference record, unchanged."""
    if not isinstance(value.get("input"), dict):
        raise ConvertError("no 'input' object (not an OpenAI preference record)")
    return PREFERENCE, value


def chat_target(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    if kind != CHAT:
        raise ConvertError("a preference pair is not a chat example; use --to openai-preference")
    return record


def preference_target(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    if kind != PREFERENCE:
        raise ConvertError("the record has no chosen/rejected pair, so it cannot be a preference example")
    return record
