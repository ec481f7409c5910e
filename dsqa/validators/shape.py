"""Dataset shape statistics for the reports: messages per example and messages per role."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ..formats import CHAT, PREFERENCE
from ..model import Finding, Record
from .base import Code, DatasetContext, Validator


class ShapeValidator(Validator):
    """Shape of the conversations for the reports; it reports no findings.

    Fills ``stats.shape``: ``messages`` (examples per number of messages: a chat record's
    ``messages``, a preference record's ``input.messages``) and ``roles`` (messages per role),
    which the HTML and Markdown reports draw as charts.
    """

    name = "shape"
    publishes = ("shape",)
    codes: ClassVar[dict[str, Code]] = {}

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self.lengths: Counter[int] = Counter()
        self.roles: Counter[str] = Counter()

    def check(self, record: Record) -> Iterator[Finding]:
        value = record.value
        if record.format == CHAT:
            messages = value.get("messages")
        elif record.format == PREFERENCE and isinstance(value.get("input"), dict):
            messages = value["input"].get("messages")
        else:
            messages = None
        if isinstance(messages, list):
            self.lengths[len(messages)] += 1
            for m in messages:
                role = m.get("role") if isinstance(m, dict) else None
                self.roles[role if isinstance(role, str) else "(none)"] += 1
        return iter(())

    def merge(self, other: Validator) -> None:
        assert isinstance(other, ShapeValidator)
        self.lengths.update(other.lengths)
        self.roles.update(other.roles)

    def finish(self) -> Iterator[Finding]:
        if self.lengths:
            self.metrics["shape"] = {
                "messages": {str(n): c for n, c in sorted(self.lengths.items())},
                "roles": dict(sorted(self.roles.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
        return iter(())
