"""CNT002: unfilled template placeholders ({{name}}, <PLACEHOLDER>, [INSERT ...], TODO), with their prefilters."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from ...model import Severity
from ...wording import article
from ..base import Code
from .common import strip_code

CODE = Code(
    Severity.WARNING,
    "unfilled template placeholder",
    why="""
        Text that still holds a template slot: {{name}} (mustache, Jinja, Handlebars), {% if %},
        {name} alone in braces, <PLACEHOLDER> or <your name>, [INSERT ...] or [TODO], or a bare
        TODO, TBD or FIXME word. The model learns to answer "Hello! I am {{name}}". Text in ```
        code blocks and `inline code` is skipped; a lone {word} is not flagged when the text looks
        like code (f", .format(, def, ${, ...) or is JSON; LaTeX (\\frac{a}{b}), JSON objects and
        HTML tags are not placeholders, nor a TODO in a code comment. Every string of a record
        is read: message text, content parts keyed other than "text", tool arguments and names,
        and in preference and prompt/completion records any other key's strings too; ids, roles
        and types are not text. Fill in the template, or list the placeholders you mean to keep
        in allow_placeholders.
    """,
    failing='{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! I am {{name}}, made by {{author}}."}]}',
    passing='{"messages": [{"role": "user", "content": "Format a greeting for Ann"}, {"role": "assistant", "content": "print(f\\"Hello {name}!\\") prints Hello Ann!"}]}',
    options=("placeholder_patterns", "allow_placeholders"),
)

# {{ name }} (mustache, Jinja, Handlebars), {name} alone in braces, <PLACEHOLDER>, <your name>,
# [INSERT ...] / [PLACEHOLDER] / [TODO], and a bare TODO/TBD/FIXME word
_DOUBLE = re.compile(r"\{\{\s*[A-Za-z_][\w.\- ]{0,40}?\s*\}\}|\{%\s*[a-z]+\b[^{}\n]{0,60}%\}")
_SINGLE = re.compile(r"(?<![\w\\$^_}%{#])\{([A-Za-z_][A-Za-z0-9_]{2,40})\}(?![}\w])")
_ANGLE = re.compile(r"<([A-Z][A-Z0-9_]+(?: [A-Z0-9_]+){0,4})>|<(?i:your|insert|enter|add)[ _][^<>\n]{1,40}>")
# ASCII letter case only ('a'): "[ınsert]" with a dotless i is not an English placeholder, and the
# raw-line prefilter below looks for the same bytes
_BRACKET = re.compile(r"\[(?ai:insert|enter|add|placeholder|todo|tbd|fill in)\b[^\[\]\n]{0,60}\]")
_TODO = re.compile(r"\b(?:TODO|TBD|FIXME)\b")
_COMMENT_MARKS = ("#", "//", "/*", "--", "*", "<!--", ";")
_HTML_TAGS = frozenset(
    "A B I P U BR HR LI OL UL DL DT DD TD TR TH DIV SPAN HTML HEAD BODY TITLE TABLE THEAD TBODY IMG FORM INPUT"
    " SCRIPT STYLE META LINK CENTER FONT PRE CODE EM STRONG H1 H2 H3 H4 H5 H6 SVG NAV MAIN FOOTER HEADER"
    " SECTION BUTTON LABEL SELECT OPTION TEXTAREA IFRAME EOF EOS BOS PAD UNK SEP CLS MASK SYS INST EOT".split()
)
# code markers: with these in the text, a lone {word} is far more likely code than a template slot
_CODE_HINTS = ("def ", "print(", "return ", ".format(", 'f"', "f'", "${", "function ", "=>", "import ", "#include", "println", "console.")


def find_placeholders(text: str, extra: Sequence[re.Pattern[str]] = ()) -> list[str]:
    """The unfilled template placeholders in ``text`` in order, code spans and look-alikes left out."""
    prose = strip_code(text)
    found: list[tuple[int, str]] = []
    if "{" in prose:
        found += _braces(prose)
    if "<" in prose:
        found += _angles(prose)
    if "[" in prose:
        found += [(m.start(), m.group()) for m in _BRACKET.finditer(prose)]
    if "TODO" in prose or "TBD" in prose or "FIXME" in prose:
        found += _words(prose)
    for pattern in extra:
        found += [(m.start(), m.group()) for m in pattern.finditer(prose)]
    found.sort()
    return list(dict.fromkeys(value for _, value in found))


def _braces(prose: str) -> list[tuple[int, str]]:
    """{{name}} and {% tag %} slots, and a lone {name} unless the text looks like code or JSON."""
    found = [(m.start(), m.group()) for m in _DOUBLE.finditer(prose)]
    if not any(h in prose for h in _CODE_HINTS) and not prose.lstrip().startswith(("{", "[")):
        found += [(m.start(), m.group()) for m in _SINGLE.finditer(prose)]
    return found


def _angles(prose: str) -> list[tuple[int, str]]:
    """<PLACEHOLDER> and <your name> slots, but not HTML tags or <<SYS>>-style special tokens."""
    found = []
    for m in _ANGLE.finditer(prose):
        doubled = prose[m.start() - 1:m.start()] == "<" or prose[m.end():m.end() + 1] == ">"
        if not doubled and (m.group(1) is None or m.group(1) not in _HTML_TAGS):
            found.append((m.start(), m.group()))
    return found


def _words(prose: str) -> list[tuple[int, str]]:
    """Bare TODO, TBD and FIXME words that are not in a code comment."""
    found = []
    for m in _TODO.finditer(prose):
        line_start = prose.rfind("\n", 0, m.start()) + 1
        if not prose[line_start:m.start()].rstrip().endswith(_COMMENT_MARKS):
            found.append((m.start(), m.group()))
    return found


# -- prefilters: each may say yes when the rule finds nothing, and never says no when it finds something


def may_hold_placeholder(text: str, extra: Sequence[re.Pattern[str]] = ()) -> bool:
    """Prefilter of ``find_placeholders``: does the text hold a character or word every
    placeholder form starts with ({, <, [, TODO, TBD, FIXME)? Any ``extra`` pattern: yes."""
    return bool("{" in text or "<" in text or "[" in text or "TODO" in text or "TBD" in text or "FIXME" in text or extra)


_LT = ord("<")


def may_hold_placeholder_marks(marks: bytes) -> bool:
    """Prefilter on a line's marks (its signature without capitals, digits and ``'@_+-/kxz``,
    see ``lines``): may its strings hold a placeholder in braces or angle brackets?

    A {{...}} or {name} slot keeps nothing between its braces but non-ASCII lead bytes ({{}} or
    {}, or {{ and a lead byte), {% opens a tag, and any angle bracket may open <PLACEHOLDER>.
    Structural braces are followed by '"', '{', '}' or ']', so {} {{ {% come from inside a string
    (or an empty object). The marks of one shape of record repeat, so callers cache the answer.
    """
    return marks.find(b"{}") >= 0 or marks.find(b"{{") >= 0 or marks.find(b"{%") >= 0 or _LT in marks


#: an [INSERT ...] slot in the raw line (the same words as ``_BRACKET``, ASCII case-insensitively)
_BRACKET_LINE = re.compile(rb"\[(?i:insert|enter|add|placeholder|todo|tbd|fill in)")


_LETTERS = frozenset(bytes([c]) for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def may_hold_placeholder_words(raw: bytes, sig: bytes) -> bool:
    """Prefilter on a raw line and its signature: may its strings hold a bare TODO, TBD or FIXME
    (capitals, kept whole in the signature) or an [INSERT ...] slot (looked for in the line:
    the words and quotes inside the brackets leave nothing a signature test could rely on)?"""
    # a search for a word costs several times a memchr for one byte: TODO and TBD hold a D, FIXME
    # an X, and most lines hold neither capital
    if ((b"D"[0] in sig and (sig.find(b"TODO") >= 0 or sig.find(b"TBD") >= 0))
            or (b"X"[0] in sig and sig.find(b"FIXME") >= 0)):
        return True
    # a line holds few '[': finding each (a memchr) and matching there beats a regex search; a
    # structural one (before '{', '"', ']', a number, ...) is not followed by a letter
    find = raw.find
    i = find(b"[")
    while i >= 0:
        if raw[i + 1:i + 2] in _LETTERS and _BRACKET_LINE.match(raw, i) is not None:
            return True
        i = find(b"[", i + 1)
    return False


# -- the strings of a chat record that the content walk does not read as message text

#: keys whose values are identifiers or structure, never text a person wrote
_NOT_TEXT = frozenset({"role", "type", "id", "tool_call_id", "weight", "image_url", "input_audio", "file", "refusal"})


def other_strings(messages: list[Any], prefix: str = "/messages") -> Iterator[tuple[Any, str, str]]:
    """(role, JSON Pointer, text) of every string in a chat record's messages that is not a message's
    string content or a text part's "text": content parts with other keys (e.g. "value"), strings
    in a content list, tool-call arguments and names, and any other key's strings, whatever the
    record's schema errors. Identifiers (role, type, ids) are left out. ``prefix``: the pointer
    of the list."""
    for i, m in enumerate(messages):
        if type(m) is not dict:
            continue
        role = m.get("role")
        for key, value in m.items():
            if key in _NOT_TEXT:
                continue
            base = f"{prefix}/{i}/{_escape(str(key))}"
            if key == "content":
                if type(value) is not list:
                    continue  # string content is message text already
                for j, part in enumerate(value):
                    if type(part) is dict:
                        text_part = part.get("type") == "text"
                        for pk, pv in part.items():
                            if pk in _NOT_TEXT or (pk == "text" and text_part and type(pv) is str):
                                continue
                            yield from _walk(role, f"{base}/{j}/{_escape(str(pk))}", pv)
                    else:
                        yield from _walk(role, f"{base}/{j}", part)
            else:
                yield from _walk(role, base, value)


def _walk(role: Any, where: str, value: Any) -> Iterator[tuple[Any, str, str]]:
    """Every string in ``value`` with its pointer (below ``where``), identifiers left out."""
    stack = [(where, value)]
    while stack:
        at, node = stack.pop()
        if type(node) is str:
            yield role, at, node
        elif type(node) is dict:
            stack.extend((f"{at}/{_escape(str(k))}", v) for k, v in reversed(node.items()) if k not in _NOT_TEXT)
        elif type(node) is list:
            stack.extend((f"{at}/{j}", v) for j, v in reversed(list(enumerate(node))))


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# -- the strings of a preference or prompt/completion record that its turns do not hold

#: the keys whose values the turns of a record read (as messages, or as the prompt and completion)
_PREFERENCE_TURNS = ("input", "preferred_output", "non_preferred_output")
_COMPLETION_TURNS = ("prompt", "completion")


def record_strings(value: Any, preference: bool) -> Iterator[tuple[Any, str, str]]:
    """(role, JSON Pointer, text) of every string of a preference record (``preference``) or a
    prompt/completion record that is not the text of one of its turns: in the messages of the
    input and the outputs as ``other_strings`` finds them, texts of messages without a role, and
    every string under any other key (role None). Identifiers (role, type, ids) are left out."""
    if type(value) is not dict:
        return
    if preference:
        inp = value.get("input")
        if type(inp) is dict:
            for key, node in inp.items():
                if key not in _NOT_TEXT:
                    yield from _messages_or_walk(node, f"/input/{_escape(str(key))}", key == "messages")
        else:
            yield from _walk(None, "/input", inp)
        for key in _PREFERENCE_TURNS[1:]:
            yield from _messages_or_walk(value.get(key), f"/{key}", True)
        turn_keys: tuple[str, ...] = _PREFERENCE_TURNS
    else:
        # a prompt or completion that is a string is a turn; any other value is walked
        turn_keys = tuple(k for k in _COMPLETION_TURNS if type(value.get(k)) is str)
    for key, node in value.items():
        if key not in turn_keys and key not in _NOT_TEXT:
            yield from _walk(None, f"/{_escape(str(key))}", node)


def _messages_or_walk(node: Any, where: str, messages: bool) -> Iterator[tuple[Any, str, str]]:
    """The strings of a list of messages beyond their turns' texts, or of any other value."""
    if not messages or type(node) is not list:
        yield from _walk(None, where, node)
        return
    yield from other_strings(node, where)
    for i, m in enumerate(node):
        # the turns skip a message without a role: its text is read here
        if type(m) is dict and type(m.get("role")) is not str:
            content = m.get("content")
            if type(content) is str:
                yield None, f"{where}/{i}/content", content
            elif type(content) is list:
                for j, part in enumerate(content):
                    if type(part) is dict and part.get("type") == "text" and type(part.get("text")) is str:
                        yield None, f"{where}/{i}/content/{j}/text", part["text"]


def place_of(role: Any, where: str) -> str:
    """Where a text is, for a message: "a user message", "a message" (no role), or 'the "notes" field'."""
    if isinstance(role, str) and role:
        return article(role) + " message"
    keys = [k for k in where.split("/")[1:] if not k.isdigit()]
    if "content" in keys and keys[0] in ("messages", "input", "preferred_output", "non_preferred_output"):
        return "a message"
    return f'the "{keys[-1].replace("~1", "/").replace("~0", "~")}" field' if keys else "the record"
