"""The texts of a record that the duplicate checks compare, normalised, and their process-independent digests."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from xxhash import xxh3_64, xxh3_64_intdigest

from ...formats import CHAT, COMPLETION, PREFERENCE

FORMATS = {None: 0, CHAT: 1, PREFERENCE: 2, COMPLETION: 3}
FORMAT_OF = {v: k for k, v in FORMATS.items()}
_SYSTEM_ROLES = ("system", "developer")


def _digest(text: str | tuple[str, ...]) -> int:
    """A 64-bit digest of a text or a tuple of texts, the same in every process and run.

    XXH3-64 of the UTF-8 bytes, a tuple's parts joined by the byte 0xFF, which UTF-8 never
    contains: no two different tuples (or a tuple and a string, told apart by a prefix) share
    an encoding. Unlike Python's salted ``hash``, it does not depend on PYTHONHASHSEED, so
    workers started any way (fork or spawn) agree with the parent. XXH3's output is fixed by
    its specification (xxHash 0.8), so it is the same on every platform and version. On the
    benchmark's chat records the three digests of a record (2.4 KB) take about 0.8 µs, where
    SHA-256, the fastest of the standard library's hashes, took 3.9 µs. 64 bits, because among
    10M records the chance that two different texts share a digest is about 10M² / 2⁶⁵, under 3
    in a million. 0 means "no such part".
    """
    if type(text) is str:
        data = b"s" + text.encode("utf-8", "surrogatepass")
    else:
        data = b"t" + b"\xff".join([part.encode("utf-8", "surrogatepass") for part in text])
    return xxh3_64_intdigest(data) or 1


def digests(t: _Texts) -> tuple[int, int, int]:
    """The digests of a record's exact text, prompt context and answer, in one pass over the
    exact text's parts (0, 0 for the last two when there is no answer).

    The exact digest is ``_digest(t.exact)`` and the context's ``_digest(t.context)``: the context
    is the parts before the answer's turn. The answer's is that of the context and the answer's
    turn, ``_digest((*t.context, "<assistant> " + t.answer))``, which differs exactly when the
    answer does among records of one context, the only place where answers are compared (conflicts).
    """
    exact, context, answer = t.exact, t.context, t.answer
    if context is None or answer is None:
        return _digest(exact), 0, 0
    n = len(context)
    if not t.plain or type(exact) is str or type(context) is str or n + 1 >= len(exact) or exact[:n] != context:
        return _digest(exact), _digest(context), _digest((*context, f"<assistant> {answer}"))
    if t.ascii:
        # ASCII text's UTF-8 is its Latin-1, and "\xff" in Latin-1 is the byte 0xFF: one join and
        # one encode make the same bytes as encoding each part and joining them with 0xFF
        data = memoryview("\xff".join(exact).encode("latin-1"))
        context_end = sum(map(len, context)) + n - 1 if n else 0
        answer_end = context_end + (n > 0) + len(exact[n])
        h = xxh3_64(b"t")
        h.update(data[:context_end])
        context_digest = h.intdigest() or 1
        h.update(data[context_end:answer_end])
        answer_digest = h.intdigest() or 1
        h.update(data[answer_end:])
        return h.intdigest() or 1, context_digest, answer_digest
    encoded = [part.encode("utf-8", "surrogatepass") for part in exact]
    h = xxh3_64(b"t" + b"\xff".join(encoded[:n]))
    context_digest = h.intdigest() or 1
    h.update((b"\xff" if n else b"") + encoded[n])
    answer_digest = h.intdigest() or 1
    h.update(b"\xff" + b"\xff".join(encoded[n + 1:]))
    return h.intdigest() or 1, context_digest, answer_digest


@dataclass(slots=True)
class _Texts:
    """The normalised texts of one record that the checks compare."""

    exact: str | tuple[str, ...]
    scope: str
    system: str
    context: str | tuple[str, ...] | None
    answer: str | None
    #: the exact text's turns are those of the context and the answer (digests may share a pass)
    plain: bool = True
    #: every part of the exact text is ASCII: the record's line passed ``clean_line`` (False: not known)
    ascii: bool = False


class _Normaliser:
    """Unicode NFC, whitespace collapsed to single spaces, and optionally case folding."""

    def __init__(self, fold: bool) -> None:
        self.fold = fold

    def text(self, s: str) -> str:
        if s.isascii():
            # already normal (the common case): no control characters, no double or edge spaces;
            # these C-level tests are several times faster than splitting into words
            if not (s.isprintable() and "  " not in s and s[:1] != " " and s[-1:] != " "):
                s = " ".join(s.split())
        else:
            s = " ".join(unicodedata.normalize("NFC", s).split())
        return s.casefold() if self.fold else s

    def canon(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.canon(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.canon(v) for v in value]
        return value

    def dump(self, value: Any) -> str:
        """``value`` with its strings normalised, as canonical JSON."""
        return json.dumps(self.canon(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _json_text(norm: _Normaliser, value: Any) -> str:
    return norm.text(json.dumps(value, sort_keys=True, ensure_ascii=False))


def _content_text(norm: _Normaliser, message: Any) -> str:
    """A message's exact text: its content (text parts of a list too) and any tool calls, as JSON."""
    if not isinstance(message, dict):
        return _json_text(norm, message)
    content = message.get("content")
    if isinstance(content, str):
        text = norm.text(content)
    elif isinstance(content, list):
        parts = [
            norm.text(part["text"]) if isinstance(part, dict) and isinstance(part.get("text"), str) else _json_text(norm, part)
            for part in content
            if part is not None
        ]
        text = " ".join(p for p in parts if p)
    elif content is None:
        text = ""
    else:
        text = _json_text(norm, content)
    for key in ("tool_calls", "function_call"):
        calls = message.get(key)
        if calls:
            extra = _json_text(norm, calls)
            text = f"{text} {extra}" if text else extra
    return text


#: the roles of a tool's result
_TOOL_ROLES = ("tool", "function")
#: content parts that carry media, and where their URL or bytes are
_MEDIA = {"image_url": ("image", "url"), "input_image": ("image", "image_url"), "input_audio": ("audio", "data"),
          "file": ("file", "file_data"), "input_file": ("file", "file_data")}


def _media_token(kind: str, source: Any) -> str:
    """One word that stands for a medium: equal for equal URLs or bytes, unrelated otherwise.

    A data URL counts by its bytes (what follows the comma), so the same bytes under another
    media type are the same image. The digest comes first because the near-duplicate sketch tells
    words apart by their first 8 bytes.
    """
    if isinstance(source, dict):
        source = source.get("url") or source.get("file_data") or source.get("data") or source.get("file_id")
    if not isinstance(source, str):
        source = json.dumps(source, sort_keys=True, ensure_ascii=False)
    if source.startswith("data:") and "," in source:
        source = "".join(source[source.index(",") + 1:].split())
    return f"{_digest(source):016x}.{kind}"


def _values(norm: _Normaliser, value: Any, out: list[str]) -> None:
    """The normalised values (never the keys) in a JSON value, depth first, keys in sorted order."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            t = norm.text(v)
            if t:
                out.append(t)
        elif isinstance(v, dict):
            stack.extend(v[k] for k in sorted(v, key=str, reverse=True))
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif v is not None:
            out.append(json.dumps(v))


def _json_values(norm: _Normaliser, text: str, out: list[str]) -> None:
    """The values in a string of JSON (tool-call arguments, a tool's result); the string itself when it is not JSON."""
    try:
        value: Any = json.loads(text)
    except (ValueError, RecursionError):
        value = text
    _values(norm, value, out)


def _arguments(norm: _Normaliser, calls: Any, out: list[str]) -> None:
    """The values of the arguments of tool calls (a list of calls, or one legacy function_call).

    The call's id, type and function name and the arguments' keys are the same in every
    record of a tool-using dataset: comparing them made unrelated records look alike.
    """
    for call in calls if isinstance(calls, list) else [calls]:
        function = call.get("function", call) if isinstance(call, dict) else call
        args = function.get("arguments") if isinstance(function, dict) else function
        if isinstance(args, str):
            _json_values(norm, args, out)
        else:
            _values(norm, args, out)


def said_text(norm: _Normaliser, message: Any) -> str:
    """A message's compared text: what people wrote, without scaffolding.

    Text turns and text parts as they are, the values of tool-call arguments, and each image,
    audio or file part as one token of its URL or bytes (``_media_token``); tool-call JSON keys
    and names, and the text of URLs, are left out.
    """
    if not isinstance(message, dict):
        return _json_text(norm, message)
    content = message.get("content")
    out: list[str] = []
    if isinstance(content, str):
        if message.get("role") in _TOOL_ROLES and content.lstrip()[:1] in ("{", "["):
            _json_values(norm, content, out)  # a tool's JSON result: its values, as for arguments
        else:
            out.append(norm.text(content))
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(norm.text(part["text"]))
                    continue
                kind_of = part.get("type")
                media = _MEDIA.get(kind_of) if type(kind_of) is str else None
                if media is not None:
                    kind, key = media
                    out.append(_media_token(kind, part.get(part["type"], part.get(key))))
                    continue
            _values(norm, part, out)
    elif content is not None:
        _values(norm, content, out)
    for key in ("tool_calls", "function_call"):
        calls = message.get(key)
        if calls:
            _arguments(norm, calls, out)
    return " ".join(t for t in out if t)


_MESSAGE_KEYS = frozenset(("role", "content", "tool_calls", "function_call"))


def _extras(value: dict[str, Any], messages: list[Any], norm: _Normaliser) -> str:
    """Whatever a chat record holds beyond roles, contents and tool calls, canonically (rarely any)."""
    out = {k: v for k, v in value.items() if k != "messages"}
    per_message = [
        {k: v for k, v in m.items() if k not in _MESSAGE_KEYS} if isinstance(m, dict) and not m.keys() <= _MESSAGE_KEYS else None
        for m in messages
    ]
    if any(per_message):
        out["\x1d"] = per_message
    if not out:
        return ""
    return norm.dump(out)


def clean_line(raw: bytes) -> bool:
    """Whether every string a raw JSON line decodes to is printable ASCII.

    Strict JSON has no raw control characters in strings, so without a backslash (an escape) or
    DEL none can appear: two memchr scans of the line replace a per-character test of every string.
    """
    return bool(raw) and raw.isascii() and b"\\" not in raw and b"\x7f" not in raw


def _turns(value: dict[str, Any], fmt: str | None, norm: _Normaliser) -> tuple[list[Any], str | None] | None:
    """A record as turns, and its canonical extras (None: decided from the turns); None for a record of no known format."""
    if fmt == CHAT and isinstance(value.get("messages"), list):
        return value["messages"], None
    if fmt == PREFERENCE:
        inp = value.get("input")
        turns = list(inp.get("messages") or []) if isinstance(inp, dict) and isinstance(inp.get("messages"), list) else []
        preferred = value.get("preferred_output")
        if isinstance(preferred, list):
            turns += preferred
        elif "preferred_completion" in value:
            turns.append({"role": "assistant", "content": value.get("preferred_completion")})
        return turns, norm.dump(value)
    if fmt == COMPLETION:
        turns = [{"role": "user", "content": value.get("prompt")}, {"role": "assistant", "content": value.get("completion")}]
        return turns, norm.dump(value)
    return None


def _turn_texts(turns: list[Any], norm: _Normaliser, clean: bool) -> tuple[list[str], list[str], list[str], bool, list[str] | None]:
    """Each turn's role, exact normalised text and "<role> text", whether some message holds more
    than role and content, and each turn's compared text (``said_text``) when some differs from
    its exact text (None: they are all the same)."""
    roles: list[str] = []
    texts: list[str] = []
    tagged: list[str] = []
    said: list[str] | None = None
    fold = norm.fold
    more = False
    for m in turns:
        u = None
        if type(m) is dict:
            if len(m) > 2:
                more = True
            role = m.get("role")
            c = m.get("content")
            # the common case inline: plain ASCII text that is already normal, no tool calls
            if (type(c) is str and not fold and (clean or (c.isascii() and c.isprintable())) and "  " not in c
                    and c[:1] != " " and c[-1:] != " " and "tool_calls" not in m and "function_call" not in m):
                t = c
            else:
                t, u = _unusual_text(norm, m, c)
            role = role if type(role) is str else str(role)
            if role in _TOOL_ROLES and type(c) is str:
                u = said_text(norm, m)
        else:
            role, t = "?", _content_text(norm, m)
        if u is not None or said is not None:
            said = _add_said(said, texts, t, u)
        roles.append(role)
        texts.append(t)
        tagged.append(f"<{role}> {t}")
    return roles, texts, tagged, more, said


def _unusual_text(norm: _Normaliser, message: dict[str, Any], content: Any) -> tuple[str, str | None]:
    """A turn's exact text off the plain-text path, and its compared text when that may differ (None: the same)."""
    t = _content_text(norm, message)
    if type(content) is not str or message.get("tool_calls") or message.get("function_call"):
        return t, said_text(norm, message)
    return t, None


def _add_said(said: list[str] | None, texts: list[str], t: str, u: str | None) -> list[str] | None:
    """The compared texts with this turn's added, started from the exact texts so far at the first turn whose differs."""
    if said is None:
        if u == t:
            return None
        said = texts.copy()
    said.append(t if u is None else u)
    return said


def _system(roles: list[str], texts: list[str]) -> tuple[str, int, bool]:
    """The system prompt, the number of system turns, and whether there is one, first."""
    system_turns = roles.count("system") + roles.count("developer")
    first_system = system_turns == 1 and roles[0] in _SYSTEM_ROLES
    if not system_turns:
        return "", 0, False
    if first_system:
        return texts[0], system_turns, True
    return " ".join(t for r, t in zip(roles, texts) if r in _SYSTEM_ROLES and t), system_turns, False


def _body(scope: str, roles: list[str], texts: list[str], tagged: list[str], system_turns: int, first_system: bool) -> str:
    """The text the near-duplicate check compares: the non-system turns, or one role's turns."""
    if scope != "conversation":
        return " ".join(t for r, t in zip(roles, texts) if r == scope and t)
    # no system prompt or one at the start is the common shape: skip the role-by-role filtering
    if not system_turns:
        return " ".join(tagged)
    if first_system:
        return " ".join(tagged[1:])
    return " ".join(x for r, x in zip(roles, tagged) if r not in _SYSTEM_ROLES)


def texts_of(value: dict[str, Any], fmt: str | None, scope: str, norm: _Normaliser, clean: bool = False) -> _Texts:
    """The normalised texts of a record for the exact, near-duplicate and conflict checks;
    ``clean``: the record's line passed ``clean_line``.

    The exact text holds every key and value of the record; the others (prompt context, answer,
    system prompt and scope text) hold what people wrote: text turns and the values of tool-call
    arguments, with images as tokens of their URL or bytes, and no tool definitions.
    """
    found = _turns(value, fmt, norm)
    if found is None:
        return _Texts(norm.dump(value), "", "", None, None)
    turns, extras = found
    roles, texts, tagged, more, said = _turn_texts(turns, norm, clean)
    if extras is None:
        extras = _extras(value, turns, norm) if more or len(value) > 1 else ""
    exact = (*tagged, extras)
    if said is not None:
        texts = said
        tagged = [f"<{r}> {t}" for r, t in zip(roles, said)]
    system, system_turns, first_system = _system(roles, texts)
    body = _body(scope, roles, texts, tagged, system_turns, first_system)
    last = len(roles) - 1
    while last >= 0 and roles[last] != "assistant":
        last -= 1
    # a clean line holds only ASCII strings, and every text made of them (JSON, media tokens) is ASCII
    if last < 0:
        return _Texts(exact, body, system, None, None, said is None, clean)
    return _Texts(exact, body, system, tuple(tagged[:last]), texts[last], said is None, clean)
