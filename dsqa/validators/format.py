"""Per-record format detection findings: unknown, mixed and legacy formats."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ..formats import COMPLETION
from ..model import Finding, Record, Severity
from .base import Code, DatasetContext, Validator


_CHAT = '{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}'
_PREFERENCE = (
    '{"input": {"messages": [{"role": "user", "content": "2+2?"}]}, '
    '"preferred_output": [{"role": "assistant", "content": "4"}], '
    '"non_preferred_output": [{"role": "assistant", "content": "5"}]}'
)


class FormatValidator(Validator):
    """Record formats: every record must be in one format OpenAI can train on.

    dsqa recognises ``openai-chat`` (``messages``), ``openai-preference`` (``input``,
    ``preferred_output``, ``non_preferred_output``) and the legacy ``prompt-completion`` by their
    top-level keys. The first record fixes the file's format unless ``--data-format`` (or
    ``format:`` in the rule pack) names it. A file in a source format checked in place (Alpaca,
    ShareGPT, TRL preference) is converted record by record first (``dsqa.sourcemap``), which
    reports FMT002 and FMT004 for it. Fills ``stats.formats`` with the count of each format.
    """

    name = "format"
    publishes = ("formats",)
    codes: ClassVar[dict[str, Code]] = {
        "FMT001": Code(
            Severity.ERROR, "record matches no known format",
            why="""
                The record has none of the top-level keys of a format dsqa knows (messages;
                input with preferred_output and non_preferred_output; prompt with completion), so
                no other rule can check it and OpenAI cannot train on it. The message lists the
                keys it has. Alpaca, ShareGPT, TRL preference and prompt/completion files are
                checked in place; a record whose columns have other names is not recognised:
                name them with --map (as `dsqa convert --map` takes them, e.g.
                --map instruction=question,output=answer), or rewrite the record as a chat record
                ({"messages": [...]}) or a preference record.
            """,
            failing='{"question": "Add 2 and 2.", "answer": "4"}',
            passing=_CHAT,
        ),
        "FMT002": Code(
            Severity.ERROR, "file mixes record formats",
            why="""
                The record's format differs from the file's: the first record's, or the one
                --data-format or format: in the rule pack sets. OpenAI rejects a file that mixes
                formats ("Unexpected file format, expected either prompt/completion pairs or chat
                messages"). Keep one format per file: convert the odd records or move them to a
                file of their own.
            """,
            failing=_CHAT + "\n" + _PREFERENCE,
            passing=_CHAT + "\n" + _CHAT.replace("2+2", "3+3").replace('"4"', '"6"'),
        ),
        "FMT004": Code(
            Severity.ERROR, "record cannot be converted from the file's source format",
            why="""
                The file is in a format dsqa checks in place (alpaca, sharegpt,
                sharegpt-preference, trl-preference, prompt-completion: the first record with
                known keys or --data-format names it), and every record is checked as
                `dsqa convert` would write it. This record cannot be converted, so nothing else in
                it was checked; the message gives the converter's reason (a missing or non-text
                field, an unknown ShareGPT role, an observation with no function call, a function
                call that is not JSON...), and `dsqa convert` would put it in the rejects file for
                the same reason. Fix the field the message names.
            """,
            failing='{"instruction": "Add 2 and 2.", "input": "", "output": null}',
            passing='{"instruction": "Add 2 and 2.", "input": "", "output": "4"}',
        ),
        "FMT003": Code(
            Severity.ERROR, "legacy prompt/completion format is not trainable",
            why="""
                The legacy prompt/completion format was only taken by babbage-002 and
                davinci-002, whose fine-tuning ended on 2024-10-28, so no current OpenAI base model
                can be trained on it. Convert each record to chat: the prompt becomes a user
                message and the completion an assistant message (`dsqa convert` does this).
            """,
            failing='{"prompt": "2+2?", "completion": "4"}',
            passing=_CHAT,
        ),
    }

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        known = context.first_format
        self.first: tuple[str, int] | None = (known[0], known[1]) if known and known[0] else None
        self.counts: Counter[str] = Counter()

    def check(self, record: Record) -> Iterator[Finding]:
        fmt = record.format
        self.counts[fmt or "unknown"] += 1
        if fmt is None:
            keys = ", ".join(sorted(record.value)[:8]) or "none"
            yield self.finding(
                "FMT001", record,
                f"record matches no known format (top-level keys: {keys})",
                hint="for Alpaca or ShareGPT data under other column names, name them as for dsqa convert --map "
                "(e.g. --map instruction=question); else use {\"messages\": [...]} for chat or "
                "input/preferred_output/non_preferred_output for preference data",
            )
            return
        declared = self.context.data_format
        if self.context.source_map is not None:
            pass  # dsqa.sourcemap compares each record with the file's source format
        elif declared is not None and fmt != declared:
            yield self.finding(
                "FMT002", record, f"record is {fmt} but the file's format is set to {declared}",
                hint="convert the record, or check the --data-format / format: setting",
            )
        elif declared is None:
            if self.first is None:
                self.first = (fmt, record.line)
            elif fmt != self.first[0]:
                yield self.finding(
                    "FMT002", record,
                    f"record is {fmt} but the file is {self.first[0]} (from line {self.first[1]})",
                    hint="keep one format per file; OpenAI rejects mixed files",
                )
        if fmt == COMPLETION:
            yield self.finding(
                "FMT003", record,
                "legacy prompt/completion format: no current OpenAI base model can be trained on it "
                "(babbage-002 and davinci-002 training ended 2024-10-28)",
                hint="convert to chat: {\"messages\": [{\"role\": \"user\", \"content\": PROMPT}, "
                "{\"role\": \"assistant\", \"content\": COMPLETION}]}",
            )

    def merge(self, other: Validator) -> None:
        assert isinstance(other, FormatValidator)
        self.counts.update(other.counts)
        if self.first is None:
            self.first = other.first

    def finish(self) -> Iterator[Finding]:
        if self.counts:
            self.metrics["formats"] = dict(sorted(self.counts.items()))
        return iter(())
