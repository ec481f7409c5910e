"""Preference pairs that teach a shortcut: a preferred output that copies the prompt, and biases between the two sides."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ...formats import PREFERENCE
from ...model import Finding, Record
from ..base import Code, DatasetContext, Validator
from . import biases, copies
from .biases import SideStats


def _output_text(output: Any) -> str | None:
    """The text of a preference output: one assistant message with string content (or text parts)."""
    if not isinstance(output, list) or len(output) != 1 or not isinstance(output[0], dict):
        return None
    content = output[0].get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(texts)  # type: ignore[arg-type]
    return None


def _prompt_text(value: Mapping[str, Any]) -> str | None:
    """The last user turn of a preference input, where the request is."""
    inp = value.get("input")
    messages = inp.get("messages") if isinstance(inp, dict) else None
    if not isinstance(messages, list):
        return None
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [p.get("text") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
                return "\n".join(texts) if texts else None  # type: ignore[arg-type]
            return None
    return None


class PreferenceValidator(Validator):
    """What a preference (DPO) dataset teaches besides the preference: a preferred output that only
    repeats the prompt (PRF008), an opening that only one side uses (PRF009), and a length that
    decides the pair (PRF010). A model trained on such pairs learns the shortcut, not the
    preference. Each rule is a module of this package.
    """

    name = "preference"
    codes: ClassVar[dict[str, Code]] = {**copies.CODES, **biases.CODES}
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {**copies.OPTIONS, **biases.OPTIONS}, "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {**copies.DEFAULTS, **biases.DEFAULTS}

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self.sides = SideStats(self.options["opening_words"])
        self._copy = self.wants("PRF008")
        self._bias = self.wants("PRF009") or self.wants("PRF010")

    def check(self, record: Record) -> Iterator[Finding]:
        if record.format != PREFERENCE or not isinstance(record.value, dict):
            return
        preferred = _output_text(record.value.get("preferred_output"))
        if preferred is None:
            return  # the schema's PRF findings say what is wrong with the pair
        if self._copy:
            prompt = _prompt_text(record.value)
            if prompt is not None:
                how = copies.copy_of(preferred, prompt, self.options["copy_min_words"])
                if how:
                    yield self.finding(
                        "PRF008", record, f"the preferred output {how}", "/preferred_output/0/content",
                        "give the reply the prompt asks for; a pair whose preferred side repeats the prompt teaches repeating",
                    )
        if self._bias:
            rejected = _output_text(record.value.get("non_preferred_output"))
            if rejected is not None:
                self.sides.add(record.line, preferred, rejected)

    def merge(self, other: Validator) -> None:
        assert isinstance(other, PreferenceValidator)
        self.sides.merge(other.sides)

    def finish(self) -> Iterator[Finding]:
        if not self._bias:
            return
        path = self.context.path
        if self.wants("PRF009"):
            yield from biases.opening_findings(self.sides, self.options, path, self.name)
        if self.wants("PRF010"):
            yield from biases.length_findings(self.sides, self.options, path, self.name)
        self.metrics["preference"] = self.sides.stats()
