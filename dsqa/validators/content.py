"""Content quality of each example: empty turns, unfilled templates, refusals, loops, cut-off replies, mojibake."""

from __future__ import annotations

import operator
import re
from itertools import compress, product
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from ..model import Finding, Record, Severity
from ..redact import mask_secrets
from ..wording import article
from .base import Code, Validator
from .rawsig import signature
from ..formats import CHAT
from .turns import turns

_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)

# {{ name }} (mustache, Jinja, Handlebars), {name} alone in braces, <PLACEHOLDER>, <your name>,
# [INSERT ...] / [PLACEHOLDER] / [TODO], and a bare TODO/TBD/FIXME word
_DOUBLE = re.compile(r"\{\{\s*[A-Za-z_][\w.\- ]{0,40}?\s*\}\}|\{%\s*[a-z]+\b[^{}\n]{0,60}%\}")
_SINGLE = re.compile(r"(?<![\w\\$^_}%{#])\{([A-Za-z_][A-Za-z0-9_]{2,40})\}(?![}\w])")
_ANGLE = re.compile(r"<([A-Z][A-Z0-9_]+(?: [A-Z0-9_]+){0,4})>|<(?i:your|insert|enter|add)[ _][^<>\n]{1,40}>")
_BRACKET = re.compile(r"\[(?i:insert|enter|add|placeholder|todo|tbd|fill in)\b[^\[\]\n]{0,60}\]")
_TODO = re.compile(r"\b(?:TODO|TBD|FIXME)\b")
_COMMENT_MARKS = ("#", "//", "/*", "--", "*", "<!--", ";")
_HTML_TAGS = frozenset(
    "A B I P U BR HR LI OL UL DL DT DD TD TR TH DIV SPAN HTML HEAD BODY TITLE TABLE THEAD TBODY IMG FORM INPUT"
    " SCRIPT STYLE META LINK CENTER FONT PRE CODE EM STRONG H1 H2 H3 H4 H5 H6 SVG NAV MAIN FOOTER HEADER"
    " SECTION BUTTON LABEL SELECT OPTION TEXTAREA IFRAME EOF EOS BOS PAD UNK SEP CLS MASK SYS INST EOT".split()
)
# code markers: with these in the text, a lone {word} is far more likely code than a template slot
_CODE_HINTS = ("def ", "print(", "return ", ".format(", 'f"', "f'", "${", "function ", "=>", "import ", "#include", "println", "console.")

_AI_DISCLAIMER = re.compile(
    r"\bas an? (?:AI (?:language )?model|AI(?! assistant)|artificial intelligence|(?:large )?language model)\b"
    # "As an AI assistant developed by ..." introduces the assistant; only a hedge after it counts
    r"|\bas an? AI assistant,? I (?:do not|don't|don’t|cannot|can't|can’t|am not|am unable|have no)\b"
    r"|\bI(?:'m|’m| am) (?:just |only |merely )an? (?:AI|artificial intelligence|(?:large )?language model|computer program)\b"
    r"|\bI(?:'m|’m| am) an? (?:AI language model|(?:large )?language model)\b"
    r"|\bI (?:do not|don't|don’t) have (?:personal )?(?:opinions|feelings|emotions|beliefs|personal experiences|"
    r"the ability to (?:browse|access the internet|access real-time))\b",
    re.I,
)
_REFUSAL = re.compile(
    r"\b(?:I|we)(?:'m|’m| am| are)? ?(?:cannot|can't|can’t|can not|won't|will not|unable to|not able to|must decline to|not allowed to)"
    r" (?:help|assist|provide|comply|fulfil|fulfill|do that|answer|generate|create|write|engage|support|share)"
    r"(?: (?:you )?with)?(?: (?:that|this|your request|this request))?\b",
    re.I,
)

_DANGLING = frozenset(
    "the a an and or but of to with for in on at from by as that which who whose because if than then is are was"
    " were be my your our their its this these those such into onto".split()
)
_END_OK = frozenset(".!?)]}\"'`’”»>*|%…;~:")

_MOJIBAKE = re.compile(
    "[ÃÂ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
    "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
    "|â€[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
    "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122\"]"
    "|\ufffd"
)
_QUOTE = 40


#: a \u escape of a printable ASCII character but '&' (which HTML-safe writers escape, and no
#: placeholder holds)
_ESCAPED_ASCII = re.compile(rb"\\u00(?:2[0-57-9a-fA-F]|[3-6][0-9a-fA-F]|7[0-9a-eA-E])")
#: what the marks of a signature leave out: a placeholder's braces, brackets and '<' come together
_NOT_MARKS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'@_+-/kxz"


class _Gates(NamedTuple):
    """What the raw line says the record's text may hold; False means that the text cannot."""

    placeholder: bool
    mojibake: bool
    #: the two capitals "AI" next to each other
    ai: bool
    apostrophe: bool


_OPEN = _Gates(True, True, True, True)
#: the 16 possible gates, made once
_GATES: dict[tuple[bool, ...], _Gates] = {g: g for g in map(_Gates._make, product((False, True), repeat=4))}
#: marks -> (can a placeholder's braces, brackets or '<' be there, is a mojibake lead byte there);
#: records of one shape have the same marks, so this stays small (and is cleared when it is not)
_MARKS_SEEN: dict[bytes, tuple[bool, bool]] = {}


def _marks_gates(marks: bytes) -> tuple[bool, bool]:
    # structural braces and brackets are followed by '"', '{', '}' or ']' in the marks, so '{}'
    # '{{' '{%' '[]' can only come from inside a string (or an empty object or array)
    seen = _MARKS_SEEN.get(marks)
    if seen is None:
        if len(_MARKS_SEEN) >= 4096:
            _MARKS_SEEN.clear()
        seen = _MARKS_SEEN[marks] = (
            marks.find(b"{}") >= 0 or marks.find(b"{{") >= 0 or marks.find(b"{%") >= 0 or marks.find(b"[]") >= 0
            or 60 in marks,  # <
            0xC3 in marks or 0xE2 in marks or 0xEF in marks,
        )
    return seen


def _raw_gates(record: Record) -> _Gates:
    """What the record's text may hold, judged from the signature of its line."""
    sig = record.signature
    if sig is None:
        sig = signature(record)
    placeholder, lead = _marks_gates(sig.translate(None, _NOT_MARKS))
    if not placeholder and (
        (68 in sig and (sig.find(b"TODO") >= 0 or sig.find(b"TBD") >= 0)) or (88 in sig and sig.find(b"FIXME") >= 0)
    ):  # 68 is D, 88 is X
        placeholder = True
    mojibake = False
    if lead:
        # each sequence is looked for in the line only when its lead byte is in the signature
        find = record.raw.find
        mojibake = (
            (0xC3 in sig and (find(b"\xc3\x83") >= 0 or find(b"\xc3\x82") >= 0))
            or (0xE2 in sig and find(b"\xe2\x82\xac") >= 0)
            or (0xEF in sig and find(b"\xef\xbf\xbd") >= 0)
        )
    # find(), and ``int in bytes`` for one byte: ``bytes in bytes`` first tries its needle as an
    # integer, and raising and clearing that TypeError costs more than the search
    return _GATES[(placeholder, mojibake, sig.find(b"AI") >= 0, 39 in sig)]  # 39 is the apostrophe


#: one pass for the literals of both patterns that hold an "n": the forms of "not" (cannot, can
#: not, will not, not able, not allowed, not have), unable, decline, and n't / n’t (can't, won't,
#: don't); sre scans for the "n" in C and looks around it only there
_N_LITERALS = re.compile(r"n(?:ot(?:(?<=annot)|(?<=an not)|(?<=will not)|(?= able| allowed| have))|able|'t|’t|e(?<=decline))")


def _may_disclaim(text: str, gates: _Gates, has_not: bool) -> bool:
    """Does the reply hold a literal of an AI-disclaimer form ("AI", "model", "artificial",
    "computer program", "not have", "don't")? Without one, the pattern is not looked for.

    Each literal costs a scan of the reply; "AI" and the apostrophe are skipped when the raw
    line rules them out, and the typographic apostrophe costs nothing in ASCII text.
    """
    return (
        "model" in text or "rtificial" in text or "computer program" in text
        or (has_not and "not have" in text)
        or (gates.ai and "AI" in text)
        or (gates.apostrophe and "on't" in text) or "on’t" in text
    )


def _may_refuse(head: str, gates: _Gates, has_not: bool) -> bool:
    """Does the start of the reply hold a literal of a refusal form (cannot, can not, can't,
    won't, will not, unable, not able, decline, not allowed)? Without one, it is not looked for."""
    return (
        (has_not and _not_refusal(head))
        or "nable" in head or "decline" in head
        or (gates.apostrophe and ("an't" in head or "on't" in head))
        or "an’t" in head or "on’t" in head
    )


def _not_refusal(head: str) -> bool:
    """Is an occurrence of "not" in ``head`` part of "cannot", "can not", "will not", "not able"
    or "not allowed"? (A reply holds few; looking around each beats a scan per literal.)"""
    i = head.find("not")
    while i >= 0:
        if ((i >= 2 and head.startswith("an", i - 2)) or (i >= 3 and head.startswith("an ", i - 3))
                or (i >= 5 and head.startswith("will ", i - 5))
                or head.startswith("not able", i) or head.startswith("not allowed", i)):
            return True
        i = head.find("not", i + 3)
    return False


def _quote(text: str) -> str:
    # mask before cutting: a cut secret no longer looks like one and would slip through
    text = " ".join(mask_secrets(text).split())
    if len(text) > _QUOTE:
        text = text[: _QUOTE - 1] + "…"
    return repr(text)


def _strip_code(text: str) -> str:
    return _CODE_FENCE.sub(" ", text) if "`" in text else text


def find_placeholders(text: str, extra: Sequence[re.Pattern[str]] = ()) -> list[str]:
    """The unfilled template placeholders in ``text`` in order, code spans and look-alikes left out."""
    if not ("{" in text or "<" in text or "[" in text or "TODO" in text or "TBD" in text or "FIXME" in text or extra):
        return []
    prose = _strip_code(text)
    found: list[tuple[int, str]] = []
    if "{" in prose:
        found += [(m.start(), m.group()) for m in _DOUBLE.finditer(prose)]
        if not any(h in prose for h in _CODE_HINTS) and not prose.lstrip().startswith(("{", "[")):
            found += [(m.start(), m.group()) for m in _SINGLE.finditer(prose)]
    if "<" in prose:
        for m in _ANGLE.finditer(prose):
            # <<SYS>> and <|...|> style markers are special tokens, not template slots
            doubled = prose[m.start() - 1:m.start()] == "<" or prose[m.end():m.end() + 1] == ">"
            if not doubled and (m.group(1) is None or m.group(1) not in _HTML_TAGS):
                found.append((m.start(), m.group()))
    if "[" in prose:
        found += [(m.start(), m.group()) for m in _BRACKET.finditer(prose)]
    if "TODO" in prose or "TBD" in prose or "FIXME" in prose:
        for m in _TODO.finditer(prose):
            line_start = prose.rfind("\n", 0, m.start()) + 1
            if not prose[line_start:m.start()].rstrip().endswith(_COMMENT_MARKS):
                found.append((m.start(), m.group()))
    for pattern in extra:
        found += [(m.start(), m.group()) for m in pattern.finditer(prose)]
    found.sort()
    out: list[str] = []
    for _, value in found:
        if value not in out:
            out.append(value)
    return out


def find_repetition(words: list[str], min_repeats: int, min_words: int, max_phrase: int = 12) -> tuple[str, int] | None:
    """A phrase of up to ``max_phrase`` words said ``min_repeats`` or more times in a row, covering ``min_words``."""
    n_words = len(words)
    eq = operator.eq
    for n in range(1, max_phrase + 1):
        if min_repeats * n > n_words:
            break
        needed = max(min_repeats, -(-min_words // n))
        if needed * n > n_words:
            continue  # n * ceil(min_words / n) is not monotonic: 5 * 3 > 12 = 6 * 2
        # a phrase of n words repeated r times in a row is a run of (r - 1) * n positions k with
        # words[k] == words[k + n]; every run that long covers a multiple of its length, so only
        # those positions are compared first, and a run is grown from each one that matches
        span = (needed - 1) * n
        last = n_words - n
        for hit in compress(range(0, last, span), map(eq, words[::span], words[n::span])):
            start = hit
            while start > 0 and words[start - 1] == words[start - 1 + n]:
                start -= 1
            end = hit + 1
            while end < last and words[end] == words[end + n]:
                end += 1
            if end - start >= span:
                return " ".join(words[start:start + n]), (end - start) // n + 1
    return None


def looks_cut_off(text: str) -> str | None:
    """Why a reply looks cut off mid-sentence, or None."""
    if "`" in text and text.count("```") % 2 == 1:
        return "a code block is never closed"
    stripped = text.rstrip()
    if not stripped:
        return None
    last = stripped[-1]
    if last in _END_OK or last.isdigit():
        return None
    if last in ",-(–—&+=":
        return f"it ends with {last!r}"
    if not last.isalpha():
        return None
    tail = stripped[-12:].rsplit(None, 1)[-1].lower()
    if tail in _DANGLING:
        return f"it ends with the word {tail!r}"
    return None


class ContentValidator(Validator):
    """Content quality: turns that teach the model the wrong thing although the record is well-formed.

    Checks the text of every chat message (string content and text parts), of preference inputs
    and outputs, and of prompt/completion pairs. Replies meant as the worse answer
    (``non_preferred_output``) are exempt from the refusal, repetition and cut-off checks.

    Codes:
      CNT001  empty or whitespace-only content. An assistant message whose empty content sits
              beside tool calls is fine. Why: an empty user turn teaches nothing; an empty assistant
              turn teaches the model to say nothing.
      CNT002  unfilled template placeholder: ``{{name}}``, ``{% if %}``, ``{name}`` alone in braces,
              ``<PLACEHOLDER>`` / ``<your name>``, ``[INSERT ...]`` / ``[TODO]``, a bare TODO / TBD /
              FIXME. Text in ``` code blocks and `inline code` is skipped; a lone ``{word}`` is not
              flagged when the text looks like code (``f"``, ``.format(``, ``def ``, ``${``, ...) or is
              JSON; LaTeX (``\\frac{a}{b}``), JSON objects and HTML tags are not placeholders. Why: the
              model learns to answer "Hello! I am {{name}}".
      CNT003  refusal or AI-disclaimer boilerplate in an assistant turn ("As an AI language model",
              "I cannot help with that", "I don't have personal opinions"). Why: a few of these
              teach the fine-tuned model to refuse or hedge where it should answer. Switch it off
              (``ignore: [CNT003]``) for safety data that teaches refusals on purpose. For speed a
              reply is matched against the forms only when it holds one of their key words as
              usually written ("AI", "model", "artificial", "cannot", "can't", "unable", "not
              have", ...), so an all-capitals "I CANNOT HELP" or a lower-case "as an ai" alone goes
              unflagged.
      CNT004  degenerate repetition: the same phrase (1 to 12 words) said ``repeat_min_times`` or
              more times in a row, covering at least ``repeat_min_words`` words. For speed a loop
              is looked for only where a cheap probe finds evenly spaced repeats: at the end of
              the reply (where a generation loop runs to) or across its middle. Why: a looping
              reply teaches the model to loop.
      CNT005  an assistant reply that looks cut off: it ends with ``,`` ``-`` ``(``, with a word
              that cannot end a sentence ("the", "and", "of", ...), or leaves a ``` code block open.
              Replies shorter than ``cutoff_min_chars`` are not judged. Why: truncated replies,
              usually from a length limit during generation, teach the model to stop mid-sentence.
      CNT006  mojibake: UTF-8 decoded as Latin-1/cp1252 ("Ã©" for "é", "â€™" for "’") or the
              replacement character U+FFFD. Why: the model learns to write garbled text.

    Options (``validators.content``):
      placeholder_patterns: []   extra regular expressions that count as placeholders (CNT002)
      allow_placeholders: []     exact placeholder strings that are intended, e.g. ["{name}"]
      repeat_min_times: 4        CNT004: consecutive repetitions of the phrase
      repeat_min_words: 12       CNT004: words the repeated run must cover
      cutoff_min_chars: 40       CNT005: shorter replies are not judged
      refusal_chars: 300         CNT003: refusals are looked for in the first N characters of a
                                 reply (AI disclaimers anywhere)

    Passing:
      {"messages": [{"role": "user", "content": "Format a greeting for Ann"},
                    {"role": "assistant", "content": "print(f\\"Hello {name}!\\") prints Hello Ann!"}]}
    Failing:
      {"messages": [{"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "Hello! I am {{name}}, made by {{author}}."}]}
      -> CNT002 at /messages/1/content: unfilled template placeholder '{{name}}'
      {"messages": [{"role": "user", "content": "Tell me a joke"},
                    {"role": "assistant", "content": "As an AI language model, I cannot help with that."}]}
      -> CNT003 at /messages/1/content
    """

    wants_signature = True
    name = "content"
    codes: ClassVar[dict[str, Code]] = {
        "CNT001": Code(Severity.WARNING, "empty or whitespace-only content"),
        "CNT002": Code(Severity.WARNING, "unfilled template placeholder"),
        "CNT003": Code(Severity.WARNING, "refusal or AI-disclaimer boilerplate in a reply"),
        "CNT004": Code(Severity.WARNING, "degenerate repetition in a reply"),
        "CNT005": Code(Severity.WARNING, "reply looks cut off"),
        "CNT006": Code(Severity.WARNING, "mojibake (mis-decoded text)"),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "placeholder_patterns": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "allow_placeholders": {"type": "array", "items": {"type": "string"}},
            "repeat_min_times": {"type": "integer", "minimum": 2},
            "repeat_min_words": {"type": "integer", "minimum": 1},
            "cutoff_min_chars": {"type": "integer", "minimum": 0},
            "refusal_chars": {"type": "integer", "minimum": 1},
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
            from ..errors import ConfigError

            raise ConfigError(f"validators.content.placeholder_patterns: invalid regular expression: {exc}") from None
        self._allowed = frozenset(self.options["allow_placeholders"])
        self._times = self.options["repeat_min_times"]
        self._words = self.options["repeat_min_words"]
        self._loop_chars = 2 * self._words - 1  # the fewest characters repeat_min_words words take
        self._cutoff = self.options["cutoff_min_chars"]
        self._refusal_chars = self.options["refusal_chars"]

    def check(self, record: Record) -> list[Finding]:
        fmt = record.format
        value = record.value
        raw = record.raw
        # cheap tests on the raw line decide which of the costlier text checks can find anything;
        # a \u escape of an ASCII character may hide a literal, so such a line gets every check,
        # and one of another character may be mojibake
        if not raw:
            gates = _OPEN
        elif 92 not in raw or raw.find(b"\\u") < 0:  # 92 is the backslash
            gates = _raw_gates(record)
        elif _ESCAPED_ASCII.search(raw):
            gates = _OPEN
        else:
            gates = _raw_gates(record)._replace(mojibake=True)
        if self._extra and not gates.placeholder:
            gates = gates._replace(placeholder=True)
        out: list[Finding] = []
        suspect = gates.placeholder or gates.mojibake
        if fmt == CHAT:
            messages = value.get("messages")
            if not isinstance(messages, list):
                return out
            for i, m in enumerate(messages):
                if type(m) is not dict:
                    continue
                content = m.get("content")
                if type(content) is str:
                    role = m.get("role")
                    # the common cases, a turn with text in a line with no hint of a placeholder
                    # or mojibake: a user or system turn needs only the emptiness test, and a
                    # reply only the reply checks; the pointer is the index until a finding
                    if not suspect and content and not content.isspace():
                        if role == "assistant":
                            self._reply(out, record, content, m, i, gates)
                        continue
                    self._text(out, record, role, content, m, i, gates)
                elif isinstance(content, list):
                    for j, part in enumerate(content):
                        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                            self._text(out, record, m.get("role"), part["text"], m, f"/messages/{i}/content/{j}/text", gates)
            return out
        for turn in turns(value, fmt):
            self._text(out, record, turn.role, turn.text, {"tool_calls": turn.calls}, turn.pointer, gates)
        return out

    def _text(self, out: list[Finding], record: Record, role: Any, text: str, message: dict[str, Any],
              where: str | int, gates: _Gates) -> None:
        if not text or text.isspace():
            if not (message.get("tool_calls") or message.get("function_call")):
                out.append(self.finding("CNT001", record, f"{role} message has empty content", _pointer(where),
                                        hint="write the turn or drop the example"))
            return
        if gates.placeholder:
            found = find_placeholders(text, self._extra)
            if found and self._allowed:
                found = [p for p in found if p not in self._allowed]
            if found:
                more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
                out.append(self.finding(
                    "CNT002", record, f"unfilled template placeholder {_quote(found[0])} in {article(role)} message{more}", _pointer(where),
                    hint="fill in the template (or list intended ones in validators.content.allow_placeholders)",
                    data={"placeholders": [mask_secrets(p) for p in found[:10]]},
                ))
        if gates.mojibake and ("Ã" in text or "Â" in text or "â€" in text or "\ufffd" in text):
            m = _MOJIBAKE.search(text)
            if m is not None:
                what = "a replacement character U+FFFD" if m.group() == "\ufffd" else f"{m.group()!r}"
                out.append(self.finding(
                    "CNT006", record, f"mojibake: {what} at column {m.start() + 1} of {article(role)} message", _pointer(where),
                    hint="the text was decoded with the wrong encoding; re-read the source as UTF-8 (e.g. ftfy.fix_text)",
                ))
        if role == "assistant" and not (type(where) is str and where.startswith("/non_preferred_output")):
            self._reply(out, record, text, message, where, gates)

    def _reply(self, out: list[Finding], record: Record, text: str, message: dict[str, Any],
               where: str | int, gates: _Gates) -> None:
        """The checks of a non-empty assistant reply: boilerplate, loops, a cut-off end."""
        # any literal of a disclaimer or refusal form? Most replies hold none, and this is 4
        # scans where the finer tests of _boilerplate are about 10
        if (_N_LITERALS.search(text) is not None or "model" in text or "rtificial" in text
                or "computer program" in text or (gates.ai and "AI" in text)):
            self._boilerplate(out, record, text, where, gates)
        n = len(text)
        # the probe gate needs runs longer than its probe; small thresholds compare words directly
        if n >= self._loop_chars and (self._words < 8 or _may_repeat(text, self._times)):
            words = text.split()
            if len(words) >= self._words:
                rep = find_repetition(words, self._times, self._words)
                if rep is not None:
                    phrase, times = rep
                    out.append(self.finding(
                        "CNT004", record, f"the phrase {_quote(phrase)} repeats {times} times in a row", _pointer(where),
                        hint="a generation loop; cut the reply at the first repetition or drop the example",
                        data={"times": times, "words": len(phrase.split())},
                    ))
        # a reply that ends a sentence and holds no code fence cannot look cut off: no call
        if n >= self._cutoff and (text[-1] not in _END_OK or "`" in text):
            why = looks_cut_off(text)
            if why is not None and not (message.get("tool_calls") or message.get("function_call")):
                out.append(self.finding(
                    "CNT005", record, f"reply looks cut off: {why}", _pointer(where),
                    hint="regenerate the reply with a higher length limit, or finish it by hand",
                ))

    def _boilerplate(self, out: list[Finding], record: Record, text: str, where: str | int, gates: _Gates) -> None:
        """CNT003 for a reply that holds a literal of either pattern."""
        # each pattern is looked for only where it may be found: a disclaimer anywhere, a refusal
        # in the first refusal_chars characters
        has_not = "not" in text  # part of five of the literals: one scan rules them all out
        m = _AI_DISCLAIMER.search(text) if _may_disclaim(text, gates, has_not) else None
        if m is None:
            limit = self._refusal_chars
            if _may_refuse(text if len(text) <= limit else text[:limit], gates, has_not):
                m = _REFUSAL.search(text, 0, limit)
        if m is not None:
            out.append(self.finding(
                "CNT003", record, f"refusal or AI-disclaimer boilerplate in a reply: {_quote(m.group())}", _pointer(where),
                hint="rewrite the reply to answer, or drop the example (ignore CNT003 for refusal training data)",
            ))


def _pointer(where: str | int) -> str:
    """The JSON Pointer of a text: given, or the index of a chat message whose content is a string."""
    return where if type(where) is str else f"/messages/{where}/content"


def _may_repeat(text: str, times: int) -> bool:
    """Cheap test: does an 8-character probe from the end or the middle of the text recur at even spacing?

    A loop repeats its phrase at a fixed distance (its length), so the probe is looked for at
    one, two, ... such distances from where it was taken, and ``times - 1`` evenly spaced
    occurrences in all let the words be compared. Every other occurrence of the probe within
    reach is tried as that distance, nearest first, so a phrase that holds the probe twice
    still passes. A looping generation runs to the end of the reply, so the tail probe finds it;
    the middle probe finds a loop that fills most of the reply. A phrase said again here and
    there (a template sentence) is not evenly spaced.
    """
    stripped = text.rstrip()
    n = len(stripped)
    if n < 16:
        return True  # too short for two probes: compare the words
    need = times - 1 if times > 2 else 2
    last = n - 8  # the last place a probe can start
    # need occurrences at even spacing span need - 1 steps, so a step is at most this
    reach = last // (need - 1)
    # most probes occur only where they were taken: forward searches over the stretch each one's
    # other occurrences must be in (half the reply for the tail probe, three quarters for the
    # middle one, with the default options) rule both out before any closer look
    probe = stripped[last:]
    first = stripped.find(probe, last - reach)
    if first < last and _spaced(stripped, probe, last, need, first, last):
        return True  # the tail probe has nothing after it: all its other occurrences lie before it
    half = n >> 1
    # a spacing with no occurrence before the middle one puts all need of them after it
    ahead = half + (last - half) // (need - 1)
    probe = stripped[half:half + 8]
    first = stripped.find(probe, max(0, half - reach), half + 8)
    return (first < half or stripped.find(probe, half + 1, ahead + 8) >= 0) and _spaced(
        stripped, probe, half, need, first, ahead)


def _spaced(text: str, probe: str, at: int, need: int, first: int, high: int) -> bool:
    """Does ``probe``, found at ``at``, occur ``need`` times at even spacing, ``at`` among them?

    The spacing tried is the distance from ``at`` to each other occurrence that starts between
    ``first`` (the first occurrence within reach, maybe ``at`` itself) and ``high``, nearest first
    before ``at`` and then after it.
    """
    startswith = text.startswith
    j = text.rfind(probe, first, at + 7) if first < at else text.find(probe, at + 1, high + 8)
    while j >= 0:
        step = at - j if j < at else j - at
        found = 1
        k = at - step
        while found < need and k >= 0 and startswith(probe, k):
            found += 1
            k -= step
        k = at + step
        while found < need and startswith(probe, k):
            found += 1
            k += step
        if found >= need:
            return True
        # the next candidate: the next occurrence back from ``at``, then forward from it
        if j < at:
            j = text.rfind(probe, first, j + 7) if j > first else -1
            if j < 0 and at < high:
                j = text.find(probe, at + 1, high + 8)
        else:
            j = text.find(probe, j + 1, high + 8)
    return False
