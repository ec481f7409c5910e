"""Offline tiktoken encodings (bundled, hash-checked vocabularies) and chat token accounting.

Accounting (OpenAI cookbook "How to count tokens with tiktoken", reference §3.2, §5):

* every message costs 3 tokens, plus the tokens of each of its string fields (role, content,
  name, tool_call_id, refusal); a ``name`` costs 1 more; every example costs 3 more for the
  reply priming;
* ``tools`` (and deprecated ``functions``) cost what the cookbook's tool formula gives
  (``func_init`` 7 for o200k_base models, 10 for cl100k_base ones; ``prop_init`` 3, ``prop_key``
  3, ``enum_init`` -3, ``enum_item`` 3, ``func_end`` 12), placed before the messages;
* a tool call costs the tokens of its function name and its arguments string (as does a
  deprecated ``function_call``);
* an image part costs 85 tokens at ``detail: "low"``; otherwise 85 + 170 per 512-pixel tile after
  OpenAI's resizing (fit in 2048x2048, shortest side at most 768) when its size can be read from a
  ``data:`` URL (PNG, GIF, JPEG), and 85 (the least it can cost) when it cannot, counted as unsized;
* trainable tokens are those of assistant messages with weight 1 (their content, refusal and
  tool calls; not the per-message framing).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DsqaError

if TYPE_CHECKING:
    import tiktoken

#: SHA-256 of the vocabularies shipped in dsqa/data/tiktoken (the values tiktoken itself expects)
BUNDLED: dict[str, str] = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
DOWNLOAD_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
FUNC_INIT = {"o200k_base": 7, "cl100k_base": 10}
PROP_INIT, PROP_KEY, ENUM_INIT, ENUM_ITEM, FUNC_END = 3, 3, -3, 3, 12
IMAGE_BASE, IMAGE_TILE = 85, 170

#: the string -> count memo (system prompts and tool schemas repeat across examples) starts a new
#: generation when it reaches either bound, keeping only the previous one, so memory stays flat
#: (at most twice the bounds) whatever the file's size
CACHE_MAX_ENTRIES = 512
CACHE_MAX_CHARS = 1 << 18
CACHE_MAX_STRING = 1 << 14

_PATCH_LOCK = threading.Lock()


class EncodingError(DsqaError):
    """An encoding cannot be loaded: corrupted bundled file, or not available offline."""


def vocabulary_path(name: str) -> Path:
    """Where the bundled vocabulary of ``name`` lives inside the installed package."""
    return Path(str(files("dsqa"))) / "data" / "tiktoken" / f"{name}.tiktoken"


def load_ranks(name: str, path: Path | None = None) -> dict[bytes, int]:
    """Read a bundled vocabulary, refusing it unless its SHA-256 is the expected one."""
    path = path or vocabulary_path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EncodingError(f"{path}: cannot read the bundled {name} vocabulary: {exc.strerror or exc}; reinstall dsqa") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != BUNDLED[name]:
        raise EncodingError(
            f"{path}: the bundled {name} vocabulary is corrupted (sha256 {digest}, expected {BUNDLED[name]}); reinstall dsqa"
        )
    # the file is "<base64 token> <rank>" per line; splitting it whole is twice as fast as per line
    fields = data.split()
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2])))


def _spec(name: str, ranks: dict[bytes, int]) -> dict[str, Any]:
    from tiktoken_ext import openai_public

    def local(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if expected_hash is not None and expected_hash != BUNDLED[name]:
            raise EncodingError(f"tiktoken expects another {name} vocabulary (sha256 {expected_hash}) than dsqa bundles")
        return ranks

    # tiktoken keeps each encoding's split pattern and special tokens inside a constructor that
    # also downloads the vocabulary; running it with the loader swapped for ours gives us both
    with _PATCH_LOCK:
        saved = openai_public.load_tiktoken_bpe
        openai_public.load_tiktoken_bpe = local
        try:
            return dict(openai_public.ENCODING_CONSTRUCTORS[name]())
        finally:
            openai_public.load_tiktoken_bpe = saved


@lru_cache(maxsize=None)
def get_encoding(name: str) -> tiktoken.Encoding:
    """An encoding by name: bundled ones offline with their hash checked, others through tiktoken."""
    import tiktoken

    if name in BUNDLED:
        return tiktoken.Encoding(**_spec(name, load_ranks(name)))
    try:
        return tiktoken.get_encoding(name)
    except ValueError as exc:
        if "Unknown encoding" in str(exc):
            raise EncodingError(f"unknown encoding {name!r} (bundled: {', '.join(BUNDLED)})") from None
        problem = exc
    except Exception as exc:  # network errors come in many types (requests, urllib3, socket)
        problem = exc
    url = DOWNLOAD_URL.format(name=name)
    key = hashlib.sha1(url.encode()).hexdigest()
    raise EncodingError(
        f"encoding {name!r} is not bundled with dsqa and tiktoken could not load it "
        f"({type(problem).__name__}); without network, download {url} on another machine, save it as "
        f"$TIKTOKEN_CACHE_DIR/{key} and set TIKTOKEN_CACHE_DIR"
    ) from None


@lru_cache(maxsize=4)
def local_tokenizer(path: str) -> Callable[[str], list[int]]:
    """The ``encode`` of a Hugging Face tokenizer.json (or a model directory holding one), loaded offline."""
    target = Path(path)
    if target.is_dir():
        target = target / "tokenizer.json"
    if not target.is_file():
        raise EncodingError(f"{path}: no tokenizer.json there (give a tokenizer.json file or a model directory holding one)")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise EncodingError("--tokenizer needs the tokenizers package: pip install 'dsqa[together]'") from None
    try:
        tok = Tokenizer.from_file(str(target))
    except Exception as exc:  # the Rust core raises its own exception type
        raise EncodingError(f"{target}: not a tokenizer.json the tokenizers library can load: {exc}") from None

    def encode(text: str) -> list[int]:
        return list(tok.encode(text, add_special_tokens=False).ids)

    return encode


# -- images ---------------------------------------------------------------------------------------


def _image_size(url: str) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image in a base64 ``data:`` URL, if readable."""
    if not url.startswith("data:"):
        return None
    comma = url.find(",")
    if comma < 0 or ";base64" not in url[:comma]:
        return None
    head = url[comma + 1 : comma + 1 + 87384]  # 64 KiB of bytes: enough for JPEG headers with EXIF
    head = head[: len(head) - len(head) % 4]
    try:
        data = base64.b64decode(head)
    except ValueError:
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            size = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + size
    return None


def image_tokens(part: Any) -> tuple[int, bool]:
    """Tokens of one ``image_url`` content part, and whether its size was known."""
    spec = part.get("image_url") if isinstance(part, dict) else None
    if not isinstance(spec, dict):
        return IMAGE_BASE, False
    if spec.get("detail") == "low":
        return IMAGE_BASE, True
    url = spec.get("url")
    size = _image_size(url) if isinstance(url, str) else None
    if size is None or size[0] <= 0 or size[1] <= 0:
        return IMAGE_BASE, False
    w, h = size
    if max(w, h) > 2048:
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    return IMAGE_BASE + IMAGE_TILE * math.ceil(w / 512) * math.ceil(h / 512), True


# -- counting -------------------------------------------------------------------------------------


@dataclass(slots=True)
class ExampleCount:
    """The tokens of one training example."""

    total: int = 0
    #: the longest sequence trained at once (for a preference pair: input plus the longer output)
    sequence: int = 0
    trainable: int = 0
    messages: int = 0
    images: int = 0
    unsized_images: int = 0
    #: assistant messages with weight 1, and how many of them have null content and no tool call
    trainable_messages: int = 0
    empty_trainable_messages: int = 0
    #: (start, end) token offsets of trainable content within the longest sequence
    segments: list[tuple[int, int]] = field(default_factory=list)

    def lost_after(self, limit: int) -> int:
        """Trainable tokens beyond ``limit``: what truncation from the end removes."""
        return sum(end - max(start, limit) for start, end in self.segments if end > limit)


#: strings longer than this are encoded in pieces of about this size (see ``guarded``)
PIECE_CHARS = 1 << 18
#: where a piece may end: before a space that follows a letter and comes before one; both
#: tiktoken encodings start a new pre-token there (" word"), so no token spans the cut
_CUT = re.compile(r"(?<=[^\W\d_]) (?=[^\W\d_])")


def pieces(s: str, size: int = PIECE_CHARS) -> list[str]:
    """``s`` cut into pieces of at least ``size`` characters, each cut at a ``_CUT`` (or not at all)."""
    out, start = [], 0
    while len(s) - start > size:
        m = _CUT.search(s, start + size)
        if m is None:
            break
        out.append(s[start:m.start()])
        start = m.start()
    out.append(s[start:])
    return out


class TokenizerFailed(ValueError):
    """The tokenizer crashed on one string (tiktoken panics on a run of about a million spaces)."""


def _failure(exc: BaseException, piece: str) -> BaseException:
    """What to raise for ``exc`` out of the tokenizer: a crash of its native code as TokenizerFailed, else ``exc``.

    tiktoken's Rust code overflows its stack on some long strings and raises pyo3's
    PanicException, which derives from BaseException: it would pass every ``except Exception``
    and end the run. As an ordinary exception it becomes a finding on its record.
    """
    if type(exc).__name__ != "PanicException":
        return exc
    reason = str(exc).splitlines()[0] if str(exc) else "it panicked"
    return TokenizerFailed(f"the tokenizer failed on a {len(piece):,}-character string ({reason})")


def guarded(encode: Callable[[str], list[int]], split: bool) -> Callable[[str], int]:
    """The length of ``encode``'s token list, piece by piece for a long string when ``split``, a crash as TokenizerFailed.

    tiktoken splits text into words before it merges bytes, so a long text counts the same in
    pieces cut before a word: a 30 MB message made a list of millions of token ids (hundreds of
    MB) only to be counted; now the list of one piece at a time is all that is held.
    """

    def tokens(s: str) -> int:
        piece = s
        try:
            if not split or len(s) <= PIECE_CHARS:
                return len(encode(s))
            n = 0
            for piece in pieces(s):
                n += len(encode(piece))
            return n
        except Exception:
            raise
        except BaseException as exc:
            failure = _failure(exc, piece)
            if failure is exc:
                raise
            raise failure from None

    return tokens


def tiktoken_tokens(encoding: tiktoken.Encoding) -> Callable[[str], int]:
    """Token counts of a tiktoken encoding: what ``guarded(encoding.encode_ordinary, True)`` gives, faster.

    The Rust core's ``encode_to_tiktoken_buffer`` with no special token allowed makes the tokens
    of ``encode_ordinary`` (a special token's text is ordinary text) in a buffer of 4-byte ids,
    which tiktoken's ``encode_to_numpy`` reads by its byte length as we do: counting the bytes
    spares a Python int per token, their list, and the Python frame of ``Encoding.encode_ordinary``.
    A string with a lone surrogate, which the core refuses, and the pieces of a long string go
    through ``encode_ordinary`` (it retries the former with the surrogates replaced).
    """
    ordinary = encoding.encode_ordinary
    to_buffer = getattr(getattr(encoding, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
    if to_buffer is None:  # a tiktoken without it
        return guarded(ordinary, True)
    slow = guarded(ordinary, True)
    none: frozenset[str] = frozenset()
    view = memoryview

    def tokens(s: str) -> int:
        if len(s) > PIECE_CHARS:
            return slow(s)
        try:
            return view(to_buffer(s, none)).nbytes >> 2
        except UnicodeEncodeError:
            return slow(s)
        except Exception:
            raise
        except BaseException as exc:
            failure = _failure(exc, s)
            if failure is exc:
                raise
            raise failure from None

    return tokens


class ChatCounter:
    """Counts chat and preference examples with one encoding, remembering repeated strings."""

    def __init__(self, encoding: str, tokenizer: str | None = None) -> None:
        self.encoding_name = encoding
        # a model's own tokenizer.json (--tokenizer) replaces the tiktoken encoding for the strings
        self._tokens = guarded(local_tokenizer(tokenizer), False) if tokenizer else tiktoken_tokens(get_encoding(encoding))
        self._func_init = FUNC_INIT.get(encoding, FUNC_INIT["cl100k_base"])
        self._cache: dict[str, int] = {}
        self._previous: dict[str, int] = {}
        self._cached_chars = 0

    def text(self, s: str) -> int:
        """Tokens of one string (special-token strings count as plain text)."""
        n = self._cache.get(s)
        return self._count(s) if n is None else n

    def _count(self, s: str) -> int:
        """Tokens of a string missing from the memo's current generation, which it then joins."""
        n = self._previous.get(s)
        if n is None:
            n = self._tokens(s)
        size = len(s)
        if size <= CACHE_MAX_STRING:
            cache = self._cache
            if len(cache) >= CACHE_MAX_ENTRIES or self._cached_chars + size > CACHE_MAX_CHARS:
                # the full generation is kept one more round so strings seen in both (system
                # prompts) survive; clearing in place keeps callers' bound ``get`` valid
                self._previous = cache.copy()
                cache.clear()
                self._cached_chars = 0
            cache[s] = n
            self._cached_chars += size
        return n

    def tools(self, tools: Any) -> int:
        """Tokens of a ``tools`` (or deprecated ``functions``) list, by the cookbook's formula."""
        if not isinstance(tools, list) or not tools:
            return 0
        text = self.text
        n = 0
        for tool in tools:
            if not isinstance(tool, dict):
                continue
            fn = tool.get("function", tool)
            if not isinstance(fn, dict):
                continue
            n += self._func_init
            desc = fn.get("description")
            desc = desc[:-1] if isinstance(desc, str) and desc.endswith(".") else (desc if isinstance(desc, str) else "")
            n += text(f"{fn.get('name', '')}:{desc}")
            params = fn.get("parameters")
            props = params.get("properties") if isinstance(params, dict) else None
            if isinstance(props, dict) and props:
                n += PROP_INIT
                for key, prop in props.items():
                    n += PROP_KEY
                    prop = prop if isinstance(prop, dict) else {}
                    enum = prop.get("enum")
                    if isinstance(enum, list) and enum:
                        n += ENUM_INIT
                        for item in enum:
                            n += ENUM_ITEM + text(str(item))
                    ptype = prop.get("type", "")
                    pdesc = prop.get("description")
                    pdesc = pdesc[:-1] if isinstance(pdesc, str) and pdesc.endswith(".") else (pdesc if isinstance(pdesc, str) else "")
                    n += text(f"{key}:{ptype}:{pdesc}")
        return n + FUNC_END

    def _calls(self, calls: Any) -> int:
        n = 0
        for call in calls if isinstance(calls, list) else (calls,):
            fn = call.get("function", call) if isinstance(call, dict) else None
            if isinstance(fn, dict):
                for key in ("name", "arguments"):
                    value = fn.get(key)
                    if isinstance(value, str):
                        n += self.text(value)
        return n

    def _content(self, content: Any, out: ExampleCount) -> int:
        if isinstance(content, str):
            return self.text(content)
        n = 0
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                kind = part.get("type")
                if kind == "image_url":
                    cost, sized = image_tokens(part)
                    n += cost
                    out.images += 1
                    out.unsized_images += not sized
                else:
                    value = part.get("text") if kind == "text" else part.get("refusal") if kind == "refusal" else None
                    if isinstance(value, str):
                        n += self.text(value)
        return n

    def _message(self, m: dict[str, Any], out: ExampleCount) -> tuple[int, int]:
        """Tokens of one message: its frame (role, name, other fields) and its target (what is trained)."""
        get = self._cache.get
        frame = TOKENS_PER_MESSAGE
        target = 0
        for key, value in m.items():
            if isinstance(value, str):
                # a string tool call or function call holds no function, so it costs nothing
                if key == "tool_calls" or key == "function_call":
                    continue
                n = get(value)
                if n is None:
                    n = self._count(value)
                if key == "content" or key == "refusal":
                    target += n
                elif key == "name":
                    frame += n + TOKENS_PER_NAME
                else:
                    frame += n
            elif key == "content":
                target += self._content(value, out)
            elif key == "tool_calls" or key == "function_call":
                if value is not None:
                    target += self._calls(value)
        return frame, target

    def _other(self, m: dict[str, Any], out: ExampleCount) -> tuple[int, int, int]:
        """A message off the inline path of ``messages``: its tokens, its target, and whether it is trained.

        The last is 0 when it is not trained, 2 when it is trained but empty (null content and no
        tool call), else 1.
        """
        frame, target = self._message(m, out)
        if m.get("role") != "assistant":
            return frame + target, target, 0
        weight = m.get("weight", 1)
        if weight == 0 and not isinstance(weight, bool):
            return frame + target, target, 0
        empty = m.get("content") is None and not m.get("tool_calls") and not m.get("function_call")
        return frame + target, target, 1 + empty

    def messages(self, messages: Any, out: ExampleCount, offset: int) -> int:
        """Add the messages to ``out`` starting at token ``offset``; return the offset after them."""
        if not isinstance(messages, list):
            return offset
        get = self._cache.get
        tokens = self._tokens
        segments = out.segments
        seen = len(messages)
        trainable = trainable_messages = empty = 0
        for m in messages:
            if not isinstance(m, dict):
                seen -= 1
                continue
            role = m.get("role")
            content = m.get("content")
            # most messages hold only a string role and content (and an int weight): counted inline
            if type(content) is str and type(role) is str and (len(m) == 2 or len(m) == 3 and type(m.get("weight")) is int):
                frame = get(role)
                if frame is None:
                    frame = self._count(role)
                if role == "assistant":
                    # replies differ from example to example: hashing them for the memo costs more
                    # than their rare repeats save (a repeated one is a DUP finding anyway); user
                    # turns keep it, since instructions and few-shot preambles repeat in them
                    target = tokens(content)
                else:
                    target = get(content)
                    if target is None:
                        target = self._count(content)
                offset += TOKENS_PER_MESSAGE + frame + target
                if role != "assistant" or len(m) == 3 and m["weight"] == 0:
                    continue
            else:
                cost, target, trained = self._other(m, out)
                offset += cost
                if not trained:
                    continue
                empty += trained - 1
            trainable += target
            trainable_messages += 1
            if target:
                segments.append((offset - target, offset))
        out.messages += seen
        out.trainable += trainable
        out.trainable_messages += trainable_messages
        out.empty_trainable_messages += empty
        return offset

    def chat(self, value: dict[str, Any]) -> ExampleCount:
        """Count a chat (SFT) example."""
        out = ExampleCount()
        tools = value.get("tools")
        functions = value.get("functions")
        offset = (self.tools(tools) if tools else 0) + (self.tools(functions) if functions else 0)
        offset = self.messages(value.get("messages"), out, offset)
        out.total = out.sequence = offset + REPLY_PRIMING
        return out

    def preference(self, value: dict[str, Any]) -> ExampleCount:
        """Count a preference (DPO) pair: the input once plus both outputs (inferred accounting)."""
        out = ExampleCount()
        inp = value.get("input")
        inp = inp if isinstance(inp, dict) else {}
        start = self.tools(inp.get("tools")) + self.tools(inp.get("functions"))
        start = self.messages(inp.get("messages"), out, start)
        # only the outputs are trained in DPO, whatever weights the input's assistant turns carry
        out.trainable = out.trainable_messages = out.empty_trainable_messages = 0
        out.segments.clear()
        longest: tuple[int, list[tuple[int, int]]] = (start, [])
        total = start
        for key in ("preferred_output", "non_preferred_output"):
            before = len(out.segments)
            end = self.messages(value.get(key), out, start)
            total += end - start
            if end > longest[0]:
                longest = (end, out.segments[before:])
        out.segments = longest[1]
        out.sequence = longest[0] + REPLY_PRIMING
        out.total = total + REPLY_PRIMING
        return out


__all__ = [
    "BUNDLED", "ChatCounter", "EncodingError", "ExampleCount", "get_encoding", "image_tokens", "load_ranks",
    "vocabulary_path",
]
