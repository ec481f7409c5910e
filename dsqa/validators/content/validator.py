"""The content validator: runs each content rule (one module per code) over every text of a record."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ...formats import CHAT, COMPLETION, PREFERENCE
from ...model import Finding, Record
from ...redact import mask_secrets
from ...wording import article
from ..base import Code, Validator
from ..turns import turns
from . import cnt001_empty, cnt002_placeholders, cnt003_boilerplate, cnt004_loops, cnt005_cutoff, cnt006_mojibake
from .cnt002_placeholders import find_placeholders, may_hold_placeholder, other_strings, place_of, record_strings
from .cnt003_boilerplate import find_boilerplate, find_boilerplate_gated
from .cnt004_loops import find_loop, loop_min_chars, may_repeat, probe_needed
from .cnt005_cutoff import looks_cut_off, may_look_cut_off
from .cnt006_mojibake import find_mojibake, may_hold_mojibake
from .common import has_calls, pointer, quote
from .lines import OPEN, Gates, line_gates


class ContentValidator(Validator):
    """Content quality: turns that teach the model the wrong thing although the record is well-formed.

    Checks the text of every chat message (string content and text parts), of preference inputs
    and outputs, and of prompt/completion pairs. Replies meant as the worse answer
    (``non_preferred_output``) are exempt from the refusal, repetition and cut-off checks.
    """

    wants_signature = True
    name = "content"
    codes: ClassVar[dict[str, Code]] = {
        "CNT001": cnt001_empty.CODE,
        "CNT002": cnt002_placeholders.CODE,
        "CNT003": cnt003_boilerplate.CODE,
        "CNT004": cnt004_loops.CODE,
        "CNT005": cnt005_cutoff.CODE,
        "CNT006": cnt006_mojibake.CODE,
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "placeholder_patterns": {
                "type": "array", "items": {"type": "string", "minLength": 1},
                "description": "extra regular expressions whose matches count as placeholders",
            },
            "allow_placeholders": {
                "type": "array", "items": {"type": "string"},
                "description": 'exact placeholder strings that are meant to be there, e.g. ["{name}"]',
            },
            "repeat_min_times": {
                "type": "integer", "minimum": 2,
                "description": "how many times in a row a phrase must be said to count as a loop",
            },
            "repeat_min_words": {
                "type": "integer", "minimum": 1,
                "description": "how many words the repeated run must cover",
            },
            "cutoff_min_chars": {
                "type": "integer", "minimum": 0,
                "description": "replies shorter than this many characters are not judged",
            },
            "refusal_chars": {
                "type": "integer", "minimum": 1,
                "description": "refusals are looked for in this many first characters of a reply (AI disclaimers anywhere)",
            },
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {
        "placeholder_patterns": [],
        "allow_placeholders": [],
        "repeat_min_times": 4,
        "repeat_min_words": 12,
        "cutoff_min_chars": 40,
        "refusal_chars": 300,
    }

    def __init__(self, options: Mapping[str, Any], context: Any) -> None:
        super().__init__(options, context)
        try:
            self._extra = [re.compile(p) for p in self.options["placeholder_patterns"]]
        except re.error as exc:
            from ...errors import ConfigError

            raise ConfigError(f"validators.content.placeholder_patterns: invalid regular expression: {exc}") from None
        self._allowed = frozenset(self.options["allow_placeholders"])
        self._times = self.options["repeat_min_times"]
        self._words = self.options["repeat_min_words"]
        self._loop_chars = loop_min_chars(self._words)
        self._unprobed = not probe_needed(self._words)
        self._cutoff = self.options["cutoff_min_chars"]
        self._refusal_chars = self.options["refusal_chars"]
        #: reference mode: every prefilter answers yes
        self._reference = bool(getattr(context, "reference", False))
        # a rule whose code this run does not report does not run
        self._empty = self.wants("CNT001")
        self._boilerplate = self.wants("CNT003")
        self._loops = self.wants("CNT004")
        self._cut = self.wants("CNT005")
        self._reply_checks = self._boilerplate or self._loops or self._cut
        #: the raw-line gates a rule that does not run keeps shut
        self._mask = Gates(self.wants("CNT002"), self.wants("CNT006"), True)
        self._masked = self._mask != OPEN
        self._adjusted = self._masked or bool(self._extra)

    def _adjust(self, gates: Gates) -> Gates:
        """The raw-line gates with extra placeholder patterns open and those of rules that do not run shut."""
        if self._extra:
            gates = gates._replace(placeholder=True)
        if self._masked:
            mask = self._mask
            gates = Gates(gates.placeholder and mask.placeholder, gates.mojibake and mask.mojibake, gates.apostrophe)
        return gates

    def check(self, record: Record) -> list[Finding]:
        gates = OPEN if self._reference else line_gates(record)
        if self._adjusted:
            gates = self._adjust(gates)
        out: list[Finding] = []
        fmt = record.format
        value = record.value
        if fmt != CHAT:
            for turn in turns(value, fmt):
                self._text(out, record, turn.role, turn.text, {"tool_calls": turn.calls}, turn.pointer, gates)
            if gates.placeholder and (fmt == PREFERENCE or fmt == COMPLETION):
                self._other_placeholders(out, record, record_strings(value, fmt == PREFERENCE))
            return out
        messages = value.get("messages")
        if not isinstance(messages, list):
            return out
        suspect = gates.placeholder or gates.mojibake
        for i, m in enumerate(messages):
            if type(m) is not dict:
                continue
            content = m.get("content")
            if type(content) is str:
                role = m.get("role")
                # the common case, a turn with text in a line with no hint of a placeholder or
                # mojibake: a user or system turn needs only the emptiness test, and a reply only
                # the reply checks; the pointer is the index until a finding
                if not suspect and content and not content.isspace():
                    if role == "assistant" and self._reply_checks:
                        self._reply(out, record, content, m, i, gates)
                    continue
                self._text(out, record, role, content, m, i, gates)
            elif isinstance(content, list):
                self._parts(out, record, m, i, content, gates)
        if gates.placeholder:
            self._other_placeholders(out, record, other_strings(messages))
        return out

    def _parts(self, out: list[Finding], record: Record, message: dict[str, Any], i: int, content: list[Any], gates: Gates) -> None:
        """Every rule on the text parts of a message whose content is a list."""
        for j, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                self._text(out, record, message.get("role"), part["text"], message, f"/messages/{i}/content/{j}/text", gates)

    def _other_placeholders(self, out: list[Finding], record: Record, strings: Iterable[tuple[Any, str, str]]) -> None:
        """CNT002 on the strings of a record beyond its turns' texts (``other_strings``, ``record_strings``)."""
        # placeholders hide in every string, not only in message text (issue 14 C)
        for role, where, text in strings:
            if text and (self._reference or may_hold_placeholder(text, self._extra)):
                self._placeholders(out, record, role, text, where)

    def _text(self, out: list[Finding], record: Record, role: Any, text: str, message: dict[str, Any],
              where: str | int, gates: Gates) -> None:
        """Every rule on one text of the record."""
        if not text or text.isspace():
            if self._empty and not has_calls(message):
                out.append(self.finding("CNT001", record, f"{role} message has empty content", pointer(where),
                                        hint="write the turn or drop the example"))
            return
        if gates.placeholder and (self._reference or may_hold_placeholder(text, self._extra)):
            self._placeholders(out, record, role, text, where)
        if gates.mojibake and (self._reference or may_hold_mojibake(text)):
            found = find_mojibake(text)
            if found is not None:
                out.append(self.finding(
                    "CNT006", record, f"mojibake: {found[1]} at column {found[0] + 1} of {article(role)} message", pointer(where),
                    hint="the text was decoded with the wrong encoding; re-read the source as UTF-8 (e.g. ftfy.fix_text)",
                ))
        if (role == "assistant" and self._reply_checks
                and not (type(where) is str and where.startswith("/non_preferred_output"))):
            self._reply(out, record, text, message, where, gates)

    def _placeholders(self, out: list[Finding], record: Record, role: Any, text: str, where: str | int) -> None:
        """CNT002 on one text."""
        found = find_placeholders(text, self._extra)
        if found and self._allowed:
            found = [p for p in found if p not in self._allowed]
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            out.append(self.finding(
                "CNT002", record, f"unfilled template placeholder {quote(found[0])} in {place_of(role, pointer(where))}{more}", pointer(where),
                hint="fill in the template (or list intended ones in validators.content.allow_placeholders)",
                data={"placeholders": [mask_secrets(p) for p in found[:10]]},
            ))

    def _reply(self, out: list[Finding], record: Record, text: str, message: dict[str, Any],
               where: str | int, gates: Gates) -> None:
        """The rules of a non-empty assistant reply: boilerplate, loops, a cut-off end."""
        reference = self._reference
        if self._boilerplate:
            m = (find_boilerplate(text, self._refusal_chars) if reference
                 else find_boilerplate_gated(text, self._refusal_chars, gates.apostrophe))
            if m is not None:
                out.append(self.finding(
                    "CNT003", record, f"refusal or AI-disclaimer boilerplate in a reply: {quote(m.group())}", pointer(where),
                    hint="rewrite the reply to answer, or drop the example (ignore CNT003 for refusal training data)",
                ))
        n = len(text)
        # the probe is part of the rule (see find_loop); run here, it saves a call per reply
        if self._loops and (reference or n >= self._loop_chars) and (self._unprobed or may_repeat(text, self._times)):
            self._loop(out, record, text, where)
        if self._cut and n >= self._cutoff and (reference or may_look_cut_off(text)):
            why = looks_cut_off(text)
            if why is not None and not has_calls(message):
                out.append(self.finding(
                    "CNT005", record, f"reply looks cut off: {why}", pointer(where),
                    hint="regenerate the reply with a higher length limit, or finish it by hand",
                ))

    def _loop(self, out: list[Finding], record: Record, text: str, where: str | int) -> None:
        """CNT004 on a reply the loop probe passed."""
        rep = find_loop(text, self._times, self._words, probed=True)
        if rep is not None:
            phrase, times = rep
            out.append(self.finding(
                "CNT004", record, f"the phrase {quote(phrase)} repeats {times} times in a row", pointer(where),
                hint="a generation loop; cut the reply at the first repetition or drop the example",
                data={"times": times, "words": len(phrase.split())},
            ))
