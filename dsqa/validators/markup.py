"""Another model's chat-template markup left in the text, and reasoning blocks used unevenly or left open."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ..formats import CHAT, PREFERENCE
from ..model import Finding, Record, Severity
from .base import Code, DatasetContext, Validator
from .turns import Turn, turns

#: chat-template markup of open model families (the tiktoken and ChatML tokens are SCH015's)
_MARKUP = re.compile(
    r"<\|(?:begin_of_text|end_of_text|start_header_id|end_header_id|eot_id|eom_id|python_tag|user|assistant|system)\|>"
    r"|<(?:start_of_turn|end_of_turn)>(?:user|model)?"
    r"|(?:<s>[ \t]*)?\[/?INST\]|<</?SYS>>"
    r"|\[/?(?:TOOL_CALLS|AVAILABLE_TOOLS|TOOL_RESULTS|SYSTEM_PROMPT)\]"
    r"|^[ \t]*###[ \t]*(?:Instruction|Response|Input)[ \t]*:",
    re.M,
)
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)
#: opening and closing tags of a reasoning block
_OPEN = re.compile(r"<(think|thinking|reasoning|thought)>", re.I)
_BLOCKS = {name: re.compile(rf"</{name}>", re.I) for name in ("think", "thinking", "reasoning", "thought")}


def _structural(text: str, start: int, end: int) -> bool:
    """Whether markup at text[start:end] stands where a template puts it: at the start or end of
    the text or of a line. A mention inside a sentence ("use [INST] to ...") is prose about it."""
    before = text[:start]
    after = text[end:]
    line_start = before.rstrip(" \t").endswith("\n") or not before.strip()
    line_end = after.lstrip(" \t").startswith("\n") or not after.strip()
    return line_start or line_end


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {many or word + 's'}"


def markup_in(text: str) -> re.Match[str] | None:
    """The first template markup that stands where a template puts it, outside code; None if none."""
    for m in _MARKUP.finditer(text):
        if not _structural(text, m.start(), m.end()):
            continue
        if "`" in text and any(c.start() <= m.start() < c.end() for c in _CODE.finditer(text)):
            continue
        return m
    return None


class MarkupValidator(Validator):
    """Template markup and reasoning blocks: what a chat template or a reasoning model left in the
    text. Markup from another model's template is trained as words, and a reasoning block in some
    replies but not others teaches the model to think only sometimes.
    """

    name = "markup"
    codes: ClassVar[dict[str, Code]] = {
        "TPL001": Code(
            Severity.WARNING,
            "chat-template markup inside a message",
            why="""
                The text holds the markup of a model's chat template, where the template puts
                it: Llama's [INST], <<SYS>> and <|eot_id|>, Gemma's <start_of_turn>, Mistral's
                [TOOL_CALLS], or alpaca's "### Instruction:" and "### Response:" lines. It is
                left from data rendered for another model. The trainer applies the target
                model's own template, so these become ordinary words the model learns to say.
                Strip them and keep the turns as messages. Markup mentioned inside a sentence or
                in code is not flagged; ChatML and tiktoken's reserved tokens are SCH015 errors.
            """,
            failing='{"messages": [{"role": "user", "content": "<s>[INST] What is the boiling point of water? [/INST]"}, {"role": "assistant", "content": "100 °C at sea level. </s>"}]}',
            passing='{"messages": [{"role": "user", "content": "How does Llama 2 mark a user turn?"}, {"role": "assistant", "content": "It wraps it in `[INST]` and `[/INST]` tags."}]}',
        ),
        "TPL002": Code(
            Severity.WARNING,
            "reasoning blocks in some replies and not in others",
            why="""
                Some assistant replies start with a reasoning block (<think>…</think> and the
                like) and others do not, both in large numbers. The model learns to reason only
                sometimes, and not when it matters. Reported once per file, when at least
                reasoning_min_replies replies are checked and the share with a block is between
                reasoning_mixed_share and one minus it, with the lines of the first replies of
                the smaller side. Make every reply reason, or none.
            """,
            failing="a file of 300 replies where 120 start with <think>…</think> and 180 do not",
            passing="a file where every reply starts with a reasoning block, or none does",
            options=("reasoning_min_replies", "reasoning_mixed_share"),
        ),
        "TPL003": Code(
            Severity.WARNING,
            "reasoning block opened and never closed",
            why="""
                An assistant reply opens a reasoning block (<think>) and never closes it, so the
                answer is trained as part of the reasoning, or the reasoning was cut off. Close
                the block before the answer. A reply that only closes a block (</think>), as
                templates that open it in the prompt produce, is not flagged.
            """,
            failing='{"messages": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "<think>Two and two make four. The answer is 4."}]}',
            passing='{"messages": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "<think>Two and two make four.</think>The answer is 4."}]}',
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "reasoning_min_replies": {
                "type": "integer", "minimum": 1,
                "description": "TPL002 looks at a file with at least this many assistant replies",
            },
            "reasoning_mixed_share": {
                "type": "number", "minimum": 0, "maximum": 0.5,
                "description": "TPL002 fires when the share of replies with a reasoning block is between this and one minus it",
            },
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {"reasoning_min_replies": 50, "reasoning_mixed_share": 0.02}
    #: lines kept of each side for TPL002's message
    EXAMPLES = 5

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self.with_block = 0
        self.without_block = 0
        self.lines_with: list[int] = []
        self.lines_without: list[int] = []
        self._markup = self.wants("TPL001")
        self._reasoning = self.wants("TPL002") or self.wants("TPL003")

    def check(self, record: Record) -> Iterator[Finding]:
        if record.format not in (CHAT, PREFERENCE):
            return
        found: list[tuple[Turn, str]] = []
        opened: list[Turn] = []
        for turn in turns(record.value, record.format):
            text = turn.text
            if self._markup and ("<" in text or "[" in text or "#" in text):
                m = markup_in(text)
                if m is not None:
                    found.append((turn, m.group().strip()))
            if self._reasoning and turn.role == "assistant":
                self._reasoning_of(record, turn, opened)
        if found and self.wants("TPL001"):
            turn, markup = found[0]
            more = f" (and in {_plural(len(found) - 1, 'more message')})" if len(found) > 1 else ""
            yield self.finding(
                "TPL001", record, f"{markup!r} in a {turn.role} message is chat-template markup{more}",
                turn.pointer, "strip the template markup; the trainer applies the target model's own template",
                {"markup": markup, "messages": len(found)},
            )
        if opened and self.wants("TPL003"):
            turn = opened[0]
            yield self.finding(
                "TPL003", record, "the reply opens a reasoning block and never closes it", turn.pointer,
                "close the block before the answer, or drop the reply if the reasoning was cut off",
            )

    def _reasoning_of(self, record: Record, turn: Turn, opened: list[Turn]) -> None:
        text = turn.text
        head = text.lstrip()[:32]
        m = _OPEN.match(head) if head.startswith("<") else None
        has = m is not None or ("</" in text and any(p.search(text) for p in _BLOCKS.values()))
        if has:
            self.with_block += 1
            if len(self.lines_with) < self.EXAMPLES:
                self.lines_with.append(record.line)
        elif text.strip() and not turn.calls:
            self.without_block += 1
            if len(self.lines_without) < self.EXAMPLES:
                self.lines_without.append(record.line)
        if m is not None and not _BLOCKS[m.group(1).lower()].search(text):
            opened.append(turn)

    def merge(self, other: Validator) -> None:
        assert isinstance(other, MarkupValidator)
        self.with_block += other.with_block
        self.without_block += other.without_block
        self.lines_with = (self.lines_with + other.lines_with)[: self.EXAMPLES]
        self.lines_without = (self.lines_without + other.lines_without)[: self.EXAMPLES]

    def finish(self) -> Iterator[Finding]:
        total = self.with_block + self.without_block
        if not (self.wants("TPL002") and total >= self.options["reasoning_min_replies"]):
            return
        share = self.with_block / total
        low = self.options["reasoning_mixed_share"]
        if not low <= share <= 1 - low:
            return
        fewer = "with" if self.with_block <= self.without_block else "without"
        lines = self.lines_with if fewer == "with" else self.lines_without
        yield Finding(
            code="TPL002", severity=self.codes["TPL002"].severity, validator=self.name, path=self.context.path,
            message=(f"{self.with_block:,} of {_plural(total, 'reply', 'replies')} ({share:.1%}) start with a reasoning block and "
                     f"{self.without_block:,} do not; the first replies {fewer} one are at "
                     + ("line " if len(lines) == 1 else "lines ") + ", ".join(f"{n:,}" for n in lines)),
            hint="give every reply a reasoning block, or none",
            data={"with_block": self.with_block, "without_block": self.without_block, "lines": lines},
        )
