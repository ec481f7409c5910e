"""The conversation rules: turn-taking (DLG), template markup and reasoning blocks (TPL), and leftovers of prompt/completion preparation (PRP), in one pass over the messages."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...formats import CHAT, PREFERENCE
from ...model import Finding, Record
from ...wording import article, plural
from ..base import Code, DatasetContext, Validator
from ..turns import turns
from . import annotations, ends, identity, images, markup, reasoning, repeats, short_replies, turn_order
from .annotations import tags_in
from .ends import Ends
from .identity import Claim, allowed_families, claim_message, claims_in, may_claim_identity
from .images import Image, ImageCount, read_image
from .markup import markup_in, may_hold_markup
from .messages import Conversation, read_conversation, text_pointer
from .reasoning import Reasoning
from .repeats import copy_of
from .short_replies import ShortReplies


class ConversationValidator(Validator):
    """How the turns of each example fit together, and what another template or a reasoning model
    left in them: a missing user turn, turns out of order or said twice, replies that echo the
    prompt or answer a long question with a word (DLG), chat-template markup and reasoning
    blocks (TPL), what preparing prompt/completion data left: stop markers, shared starts and
    calculator tags (PRP), and images beyond the vision fine-tuning limits (IMG).

    OpenAI accepts all of these, and a model learns from them exactly what they show. Each is
    reported once per example and code, at the first place, with the count. Each rule is in a
    module of this package named for what it checks.
    """

    name = "conversation"
    codes: ClassVar[dict[str, Code]] = {
        **turn_order.CODES, **repeats.CODES, **short_replies.CODES, **markup.CODES, **reasoning.CODES,
        **ends.CODES, **annotations.CODES, **images.CODES, **identity.CODES,
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {**repeats.OPTIONS, **short_replies.OPTIONS, **reasoning.OPTIONS, **ends.OPTIONS, **identity.OPTIONS},
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {
        **repeats.DEFAULTS, **short_replies.DEFAULTS, **reasoning.DEFAULTS, **ends.DEFAULTS, **identity.DEFAULTS,
    }

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self.short = ShortReplies(self.options["short_reply_words"], self.options["short_prompt_words"])
        self.reasoning = Reasoning()
        self._order = any(self.wants(c) for c in turn_order.CODES)
        self._repeat = self.wants("DLG004")
        self._copy = self.wants("DLG005")
        self._short = self.wants("DLG006")
        self._markup = self.wants("TPL001")
        self._reasoning = self.wants("TPL002") or self.wants("TPL003")
        self._min_words = self.options["copy_min_words"]
        self.reply_ends = Ends(start=False)
        self.reply_starts = Ends(start=True)
        self.prompt_ends = Ends(start=False)
        self._ends = self.wants("PRP001")
        self._starts = self.wants("PRP002")
        self._tags = self.wants("PRP003")
        self._images = any(self.wants(c) for c in images.CODES)
        self._identity = self.wants("DLG007")
        self.image_examples = ImageCount()

    def check(self, record: Record) -> Iterator[Finding]:
        if not isinstance(record.value, dict):
            return
        if record.format == CHAT:
            yield from self._chat(record)
        elif record.format == PREFERENCE:
            yield from self._preference(record)

    def _chat(self, record: Record) -> Iterator[Finding]:
        messages = record.value.get("messages")
        if not isinstance(messages, list):
            return
        conv = read_conversation(messages)
        if conv is None:
            return
        shape = turn_order.shape_of(conv)
        if self._order:
            yield from turn_order.check(self, record, conv, shape)
        if self._repeat and shape.repeats:
            yield from repeats.repeated(self, record, messages, conv)
        seen = _Seen()
        prompt: str | None = None
        for i, role in enumerate(conv.roles):
            text = conv.texts[i]
            if text is None:
                self._parts(seen, messages[i], i)
            elif role == "user":
                self._markup_of(seen, text, i)
                prompt = text
            elif role == "assistant":
                self._markup_of(seen, text, i)
                self._reply(seen, record, conv, i, text, prompt)
                self._claims_of(seen, text, i)
            else:
                self._markup_of(seen, text, i)
        if prompt and self._ends:
            self.prompt_ends.add(prompt)
        yield from self._report(seen, record, messages, conv)

    def _parts(self, seen: _Seen, message: dict[str, Any], i: int) -> None:
        """A message whose content holds images: their checks, and markup in its text parts."""
        if self._markup:
            seen.tags.extend((i, t) for t in _part_markup(message, self.context.reference))
        if self._images:
            seen.pictures.extend(_images_of(message, i))

    def _markup_of(self, seen: _Seen, text: str, i: int) -> None:
        if self._markup and (self.context.reference or may_hold_markup(text)):
            tag = markup_in(text)
            if tag is not None:
                seen.tags.append((i, tag))

    def _claims_of(self, seen: _Seen, text: str, i: int) -> None:
        if self._identity and (self.context.reference or may_claim_identity(text)):
            seen.claims.extend((i, c) for c in claims_in(text))

    def _reply(self, seen: _Seen, record: Record, conv: Conversation, i: int, text: str, prompt: str | None) -> None:
        """The rules of one assistant reply: reasoning, shared ends, calculator tags, echoes, length."""
        if self._reasoning and self.reasoning.add(record.line, text, conv.calls[i]):
            seen.opened.append(i)
        if text:
            if self._ends:
                self.reply_ends.add(text)
            if self._starts:
                self.reply_starts.add(text)
            if self._tags:
                found = tags_in(text)
                if found:
                    seen.calculator.append((i, found))
        if conv.calls[i] or conv.untrained[i]:
            return
        if self._copy and prompt is not None:
            how = copy_of(text, prompt, self._min_words)
            if how:
                seen.copies.append((i, how))
        if self._short:
            self.short.add(record.line, i, text, prompt)

    def _report(self, seen: _Seen, record: Record, messages: list[Any], conv: Conversation) -> Iterator[Finding]:
        """The example's findings from what its messages showed, once per code."""
        if seen.pictures:
            self.image_examples.examples += 1
            yield from images.check(self, record, seen.pictures)
        if seen.copies and self.wants("DLG005"):
            yield from repeats.copied(self, record, messages, seen.copies)
        if seen.calculator:
            yield annotations.finding(self, record, messages, seen.calculator)
        if seen.tags and self.wants("TPL001"):
            i, tag = seen.tags[0]
            yield self._markup_finding(record, conv.roles[i], text_pointer(messages, i, tag), tag, len(seen.tags))
        if seen.opened and self.wants("TPL003"):
            yield self._open_finding(record, text_pointer(messages, seen.opened[0], "<"))
        if seen.claims:
            system = [t for r, t in zip(conv.roles, conv.texts) if r in ("system", "developer") and t]
            claims = self._foreign(seen.claims, system)
            if claims:
                i, claim = claims[0]
                yield self._claim_finding(record, text_pointer(messages, i, claim.said), [c for _, c in claims], bool(system), "\n".join(system))

    def _foreign(self, claims: list[tuple[int, Claim]], system: list[str]) -> list[tuple[int, Claim]]:
        """The claims to be a model that neither the system prompt nor the identity option names."""
        allowed, _ = allowed_families(self.options["identity"], "\n".join(system))
        return [(i, c) for i, c in claims if c.family not in allowed]

    def _claim_finding(self, record: Record, pointer: str, claims: list[Claim], has_system: bool, system: str = "") -> Finding:
        _, said = allowed_families(self.options["identity"], system)
        first = claims[0]
        return self.finding(
            "DLG007", record, claim_message(claims, said, has_system), pointer,
            "rewrite the line with your assistant's own name and maker, or drop the example; "
            "set identity: {name, maker} in the rule pack to say who the assistant is",
            {"model": identity.FAMILIES[first.family].model, "maker": identity.FAMILIES[first.family].maker,
             "claim": first.phrase, "claims": len(claims)},
        )

    def _preference(self, record: Record) -> Iterator[Finding]:
        tags, opened, claims, system = self._preference_turns(record)
        if tags and self.wants("TPL001"):
            role, pointer, tag = tags[0]
            yield self._markup_finding(record, role, pointer, tag, len(tags))
        if opened and self.wants("TPL003"):
            yield self._open_finding(record, opened[0])
        if claims:
            allowed, _ = allowed_families(self.options["identity"], "\n".join(system))
            foreign = [(p, c) for p, c in claims if c.family not in allowed]
            if foreign:
                yield self._claim_finding(record, foreign[0][0], [c for _, c in foreign], bool(system), "\n".join(system))

    def _preference_turns(self, record: Record) -> tuple[list[tuple[str, str, str]], list[str], list[tuple[str, Claim]], list[str]]:
        """What the turns of a preference record show: markup, unclosed reasoning, identity claims, and its system texts."""
        tags: list[tuple[str, str, str]] = []
        opened: list[str] = []
        claims: list[tuple[str, Claim]] = []
        system: list[str] = []
        for turn in turns(record.value, record.format):
            if turn.role == "system":
                system.append(turn.text)
            elif self._identity and turn.role == "assistant" and (self.context.reference or may_claim_identity(turn.text)):
                claims.extend((turn.pointer, c) for c in claims_in(turn.text))
            if self._markup and (self.context.reference or may_hold_markup(turn.text)):
                tag = markup_in(turn.text)
                if tag is not None:
                    tags.append((turn.role, turn.pointer, tag))
            if self._reasoning and turn.role == "assistant" and self.reasoning.add(record.line, turn.text, turn.calls):
                opened.append(turn.pointer)
        return tags, opened, claims, system

    def _markup_finding(self, record: Record, role: str, pointer: str, tag: str, count: int) -> Finding:
        more = f" (and in {plural(count - 1, 'more message')})" if count > 1 else ""
        return self.finding(
            "TPL001", record, f"{tag!r} in {article(role)} message is chat-template markup{more}", pointer,
            "strip the template markup; the trainer applies the target model's own template",
            {"markup": tag, "messages": count},
        )

    def _open_finding(self, record: Record, pointer: str) -> Finding:
        return self.finding(
            "TPL003", record, "the reply opens a reasoning block and never closes it", pointer,
            "close the block before the answer, or drop the reply if the reasoning was cut off",
        )

    def merge(self, other: Validator) -> None:
        assert isinstance(other, ConversationValidator)
        self.short.merge(other.short)
        self.reasoning.merge(other.reasoning)
        self.reply_ends.merge(other.reply_ends)
        self.reply_starts.merge(other.reply_starts)
        self.prompt_ends.merge(other.prompt_ends)
        self.image_examples.merge(other.image_examples)

    def finish(self) -> Iterator[Finding]:
        path, name = self.context.path, self.name
        if self.wants("IMG005"):
            yield from self.image_examples.findings(path, name)
        if self._ends:
            yield from ends.findings(self.reply_ends, "replies", "PRP001", self.options, path, name)
            yield from ends.findings(self.prompt_ends, "prompts", "PRP001", self.options, path, name)
        if self._starts:
            yield from ends.findings(self.reply_starts, "replies", "PRP002", self.options, path, name)
        if self._short:
            yield from self.short.findings(self.options["short_reply_share"], self.context.path, self.name)
        if self.wants("TPL002"):
            yield from self.reasoning.findings(self.options, self.context.path, self.name)


@dataclass
class _Seen:
    """What the messages of one example showed, reported once per code at the end."""

    tags: list[tuple[int, str]] = field(default_factory=list)
    copies: list[tuple[int, str]] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    calculator: list[tuple[int, list[str]]] = field(default_factory=list)
    pictures: list[Image] = field(default_factory=list)
    claims: list[tuple[int, Claim]] = field(default_factory=list)


def _images_of(message: dict[str, Any], index: int) -> Iterator[Image]:
    """The image parts of a message whose content is a list."""
    content = message.get("content")
    if not isinstance(content, list):
        return
    for j, part in enumerate(content):
        if isinstance(part, dict) and part.get("type") == "image_url":
            yield read_image(part, f"/messages/{index}/content/{j}/image_url")


def _part_markup(message: dict[str, Any], reference: bool) -> Iterator[str]:
    """TPL001 in the text parts of a message whose content also holds images."""
    content = message.get("content")
    if not isinstance(content, list):
        return
    for part in content:
        text = part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str) and (reference or may_hold_markup(text)):
            tag = markup_in(text)
            if tag is not None:
                yield tag
