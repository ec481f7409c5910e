"""The schema validator: what OpenAI accepts in chat (SFT) and preference (DPO) records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from ...formats import CHAT, PREFERENCE
from ...model import Finding, Record
from ..base import Code, DatasetContext, Validator
from ..fastpath import CHAT_SCHEMA, PREFERENCE_SCHEMA, bundled_schema, chat_is_valid, preference_is_valid
from . import messages, parts, preference, tools, toplevel
from .common import Mapped
from .mapping import map_error
from .parts import DEFAULT_SPECIAL_TOKENS, SpecialTokens

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

_ALL_CODES = {**toplevel.CODES, **messages.CODES, **parts.CODES, **tools.CODES, **preference.CODES}


@lru_cache(maxsize=None)
def schema_validators() -> dict[str, Draft202012Validator]:
    """Compile the bundled record schemas once per process (jsonschema is imported here, at first use)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    chat, pref = bundled_schema(CHAT_SCHEMA), bundled_schema(PREFERENCE_SCHEMA)
    registry: Registry[Any] = Registry().with_resources(
        [(chat["$id"], Resource.from_contents(chat)), (pref["$id"], Resource.from_contents(pref))]
    )
    return {
        CHAT: Draft202012Validator(chat, registry=registry),
        PREFERENCE: Draft202012Validator(pref, registry=registry),
    }


class SchemaValidator(Validator):
    """Record structure: what OpenAI accepts in chat (SFT) and preference (DPO) examples.

    Each record is checked against the JSON Schemas bundled in ``dsqa/schemas/`` and then against
    the rules a schema cannot express. Every finding carries a JSON Pointer to the exact place in
    the record, e.g. ``/messages/2/role``.
    """

    name = "schema"
    codes: ClassVar[dict[str, Code]] = dict(sorted(_ALL_CODES.items(), key=lambda item: (item[0][:3] != "SCH", item[0])))
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "special_tokens": {
                "type": "array", "items": {"type": "string", "minLength": 1},
                "description": "strings that must not appear in any text of a record (the default: the tiktoken "
                               "and ChatML/harmony special tokens such as <|endoftext|> and <|im_start|>)",
            },
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {"special_tokens": list(DEFAULT_SPECIAL_TOKENS)}

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self._special = SpecialTokens(list(self.options["special_tokens"]))

    def check(self, record: Record) -> Iterator[Finding]:
        fmt = record.format
        if fmt not in (CHAT, PREFERENCE):
            return
        value = record.value
        for code, pointer, message, hint in self._findings(value, fmt, record.raw):
            yield self.finding(code, record, message, pointer, hint)

    def _findings(self, value: Any, fmt: str, raw: bytes | None) -> Iterator[Mapped]:
        seen: set[tuple[str, str]] = set()
        suppressed: set[str] = set()
        if fmt == PREFERENCE:
            for found in preference.old_keys(value):
                old = found.pointer[1:]
                suppressed.update({found.pointer, "/" + preference.OLD_OUTPUT_KEYS[old]})
                seen.add((found.code, found.pointer))
                yield found
        valid = chat_is_valid(value) if fmt == CHAT else preference_is_valid(value)
        # the fast check is a prefilter too: reference mode asks jsonschema about every record
        if not valid or self.context.reference:
            for err in schema_validators()[fmt].iter_errors(value):
                for found in map_error(err, value, fmt):
                    if found.pointer in suppressed or (found.code, found.pointer) in seen:
                        continue
                    seen.add((found.code, found.pointer))
                    yield found
        yield from (messages.chat_rules(value) if fmt == CHAT else preference.preference_rules(value))
        if self.context.reference or self._special.may_occur(raw):
            yield from self._special.find(value)
