"""Leftovers of legacy prompt/completion preparation in chat data: stop markers, shared starts, calculator tags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ...formats import CHAT
from ...model import Finding, Record
from ..base import Code, DatasetContext, Validator
from . import annotations, ends
from .annotations import tags_in
from .ends import Ends


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


class PreparationValidator(Validator):
    """What preparing data for the legacy prompt/completion format leaves in chat data: an ending
    or a start that (almost) every reply or prompt shares (PRP001, PRP002), and calculator
    annotations (PRP003). Each rule is a module of this package.
    """

    name = "preparation"
    codes: ClassVar[dict[str, Code]] = {**ends.CODES, **annotations.CODES}
    options_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": dict(ends.OPTIONS), "additionalProperties": False}
    defaults: ClassVar[Mapping[str, Any]] = dict(ends.DEFAULTS)

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self.reply_ends = Ends(start=False)
        self.reply_starts = Ends(start=True)
        self.prompt_ends = Ends(start=False)
        self._ends = self.wants("PRP001")
        self._starts = self.wants("PRP002")
        self._tags = self.wants("PRP003")

    def check(self, record: Record) -> Iterator[Finding]:
        if record.format != CHAT or not isinstance(record.value, dict):
            return
        messages = record.value.get("messages")
        if not isinstance(messages, list):
            return
        prompt: str | None = None
        tagged: list[tuple[int, list[str]]] = []
        for i, m in enumerate(messages):
            if type(m) is not dict:
                continue
            text = m.get("content")
            if type(text) is not str or not text:
                continue
            role = m.get("role")
            if role == "user":
                prompt = text
            elif role == "assistant":
                if self._ends:
                    self.reply_ends.add(text)
                if self._starts:
                    self.reply_starts.add(text)
                if self._tags:
                    found = tags_in(text)
                    if found:
                        tagged.append((i, found))
        if prompt is not None and self._ends:
            self.prompt_ends.add(prompt)
        if tagged:
            i, found = tagged[0]
            count = sum(len(f) for _, f in tagged)
            yield self.finding(
                "PRP003", record, f"{found[0]!r} in the reply is a calculator annotation ({_plural(count, 'tag')} in this example)",
                f"/messages/{i}/content", "remove the <<...>> tags and keep the arithmetic as text",
                {"tags": count, "first": found[0]},
            )

    def merge(self, other: Validator) -> None:
        assert isinstance(other, PreparationValidator)
        self.reply_ends.merge(other.reply_ends)
        self.reply_starts.merge(other.reply_starts)
        self.prompt_ends.merge(other.prompt_ends)

    def finish(self) -> Iterator[Finding]:
        path, name = self.context.path, self.name
        if self._ends:
            yield from ends.findings(self.reply_ends, "replies", "PRP001", self.options, path, name)
            yield from ends.findings(self.prompt_ends, "prompts", "PRP001", self.options, path, name)
        if self._starts:
            yield from ends.findings(self.reply_starts, "replies", "PRP002", self.options, path, name)
