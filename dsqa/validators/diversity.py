"""Diversity statistics of a dataset (distinct-n, openings, system prompts, turns, lengths) and their thresholds."""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from ..formats import CHAT, COMPLETION, PREFERENCE
from ..model import Finding, Record, Severity
from ..redact import mask_secrets
from ..stats import DiversityStats, Distinct, LengthSummary, SystemPrompts
from ..wording import plural
from .base import Code, Validator
from .turns import messages_of, turns

if TYPE_CHECKING:  # numpy is imported where it is used, so that `dsqa rules` does without it
    import numpy as np

_ROLES = ("system", "user", "assistant", "tool", "function")
_WORD = re.compile(r"\w+")
#: characters of user and of assistant text kept per sampled example (bounds the sample's memory)
SAMPLE_CHARS = 1000
_OPENING_CHARS = 80
#: characters of each sampled reply kept for its opening (five words, and any secret among them whole)
_PREFIX_CHARS = 400
_TURN_BUCKETS = 10
#: what a record gives the statistics: user and assistant characters, the first user message,
#: and (for a sampled record) the user and assistant texts
_Texts = tuple[int, int, "str | None", list[str], list[str]]


#: records are keyed, lengths and hashes folded in, this many at a time with numpy
_BLOCK = 4096


def _mix_block(start: int) -> list[int]:
    """splitmix64 of the record indices ``start`` to ``start + _BLOCK - 1``.

    A fixed bijection of the index, so the sample is the same in every run and split.
    """
    import numpy as np

    z = np.arange(start, start + _BLOCK, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))).tolist()


class _Distinct:
    """Count of distinct strings: exact up to ``EXACT`` of them, then a 4 KiB HyperLogLog.

    Both merge exactly (set union, register-wise max), and the exact set is dropped only when
    the distinct count passes ``EXACT``, which does not depend on how the file was split. Hashes
    are blake2b, so the estimate is the same in every run; beyond ``EXACT`` it is within ~2%.
    Texts wait in ``pending`` (``add`` or a plain append) and are hashed and folded into the
    registers ``_BLOCK`` at a time.
    """

    P = 12
    M = 1 << P
    EXACT = 1000

    __slots__ = ("registers", "folded", "exact", "pending")

    def __init__(self) -> None:
        self.registers = bytearray(self.M)
        self.folded = 0
        self.exact: set[int] | None = set()
        self.pending: list[str] = []

    @property
    def n(self) -> int:
        """How many strings were added."""
        return self.folded + len(self.pending)

    def add(self, text: str) -> None:
        self.pending.append(text)
        if len(self.pending) >= _BLOCK:
            self._fold()

    def _fold(self) -> None:
        pending = self.pending
        if not pending:
            return
        import numpy as np

        blake2b = hashlib.blake2b
        h = np.frombuffer(b"".join([blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest() for t in pending]),
                          dtype="<u8")
        self.folded += len(pending)
        pending.clear()  # cleared, not replaced: a validator appends to this very list
        index = (h & np.uint64(self.M - 1)).astype(np.intp)
        # rank = position of the first 1 bit above the index bits; h >> P < 2**52 is exact as a float
        rank = (64 - self.P + 1) - np.frexp((h >> np.uint64(self.P)).astype(np.float64))[1]
        np.maximum.at(np.frombuffer(self.registers, dtype=np.uint8), index, rank.astype(np.uint8))
        if self.exact is not None:
            self.exact.update(h.tolist())
            if len(self.exact) > self.EXACT:
                self.exact = None

    def merge(self, other: _Distinct) -> None:
        self._fold()
        other._fold()
        self.registers = bytearray(map(max, self.registers, other.registers))
        self.folded += other.folded
        if self.exact is not None and other.exact is not None:
            self.exact |= other.exact
            if len(self.exact) > self.EXACT:
                self.exact = None
        else:
            self.exact = None

    def estimate(self) -> int:
        self._fold()
        if self.exact is not None:
            return len(self.exact)
        m = self.M
        zeros = self.registers.count(0)
        raw = 0.7213 / (1 + 1.079 / m) * m * m / sum(2.0 ** -r for r in self.registers)
        if raw <= 2.5 * m and zeros:
            raw = m * math.log(m / zeros)
        return min(self.n, round(raw))


def _bucket(n: int) -> int:
    """Log-scale bucket with four buckets per doubling (each at most ~19% wide)."""
    return int(4 * math.log2(n + 1))


def _bucket_top(b: int) -> int:
    return max(0, math.ceil(2 ** ((b + 1) / 4)) - 2)


@lru_cache(maxsize=1)
def _bucket_starts() -> np.ndarray:
    """The smallest length of each bucket, found with ``_bucket`` itself, up to lengths of 2**48."""
    import numpy as np

    starts = [0]
    for b in range(1, 4 * 48 + 1):
        n = max(starts[-1], math.ceil(2 ** (b / 4)) - 2)
        while _bucket(n) < b:
            n += 1
        while n > starts[-1] and _bucket(n - 1) >= b:
            n -= 1
        starts.append(n)
    return np.array(starts, dtype=np.int64)


class _Lengths:
    """Exact min/max/mean and a log-bucket histogram of lengths; merges exactly.

    Lengths are appended to ``pending`` and folded in when the validator says so (``_BLOCK``
    at a time); ``summary`` and ``merge`` fold what is pending.
    """

    __slots__ = ("n", "total", "low", "high", "buckets", "pending")

    def __init__(self) -> None:
        self.n = 0
        self.total = 0
        self.low: int | None = None
        self.high = 0
        self.buckets: Counter[int] = Counter()
        self.pending: list[int] = []

    def _fold(self) -> None:
        if not self.pending:
            return
        import numpy as np

        values = np.array(self.pending, dtype=np.int64)
        self.pending.clear()  # cleared, not replaced: a validator appends to this very list
        self.n += len(values)
        self.total += int(values.sum())
        low, high = int(values.min()), int(values.max())
        if self.low is None or low < self.low:
            self.low = low
        self.high = max(self.high, high)
        buckets, counts = np.unique(np.searchsorted(_bucket_starts(), values, side="right") - 1, return_counts=True)
        self.buckets.update(dict(zip(buckets.tolist(), counts.tolist())))

    def merge(self, other: _Lengths) -> None:
        self._fold()
        other._fold()
        self.n += other.n
        self.total += other.total
        if other.low is not None and (self.low is None or other.low < self.low):
            self.low = other.low
        self.high = max(self.high, other.high)
        self.buckets.update(other.buckets)

    def quantile(self, q: float) -> int:
        self._fold()
        want = q * self.n
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= want:
                return min(_bucket_top(b), self.high)
        return self.high

    def summary(self) -> LengthSummary:
        self._fold()
        if not self.n:
            return {"min": 0, "mean": 0, "p50": 0, "p90": 0, "max": 0}
        return {
            "min": self.low, "mean": round(self.total / self.n, 1),
            "p50": self.quantile(0.5), "p90": self.quantile(0.9), "max": self.high,
        }


def _distinct(texts: list[str]) -> Distinct:
    unigrams: set[str] = set()
    # hashes, not tuples: a third of the memory; a collision among a few thousand 64-bit hashes
    # is too unlikely to matter
    bigrams: set[int] = set()
    n1 = n2 = 0
    for text in texts:
        words = _WORD.findall(text.lower())
        n1 += len(words)
        unigrams.update(words)
        if len(words) > 1:
            n2 += len(words) - 1
            bigrams.update(map(hash, zip(words, words[1:])))
    return {
        "distinct_1": round(len(unigrams) / n1, 4) if n1 else None,
        "distinct_2": round(len(bigrams) / n2, 4) if n2 else None,
        "words": n1,
    }


def _opening(text: str) -> str | None:
    # masked before the cut, so that no part of a secret survives in the stats
    words = mask_secrets(text).split(None, 5)[:5]
    if not words:
        return None
    return " ".join(words)[:_OPENING_CHARS]


class DiversityValidator(Validator):
    """Diversity statistics of the whole dataset, and findings when it is too uniform.

    ``stats.diversity`` gives messages per example, role counts, the share of examples with tools
    and with images, system prompts, user and assistant characters per example, distinct-1 and
    distinct-2 of user and of assistant text (distinct word uni-/bigrams over all of them; words
    are lower-cased ``\\w+`` runs), the share of unique first user messages and the most frequent
    assistant openings. Memory stays bounded: distinct-n and the openings come from a fixed-hash
    sample of ``sample_size`` examples (the same in every run and with any ``--jobs``), unique
    first messages are counted exactly up to 1,000 and then with a HyperLogLog sketch (within ~2%),
    and length quantiles are the top of a log-scale bucket (at most ~19% above the exact value).
    Preference records count their input and preferred output; prompt/completion records count
    the prompt as user text and the completion as assistant text.
    """

    name = "diversity"
    publishes = ("diversity",)
    codes: ClassVar[dict[str, Code]] = {
        "DIV001": Code(
            Severity.WARNING, "one opening starts too many assistant replies",
            why="""
                More than max_opening_share of the sampled assistant replies open with the same
                first five words ("Great question! Here is what..."). A model tuned on them learns
                to open every answer that way. Vary the openings, or drop or rewrite the templated
                ones. Judged only for datasets of at least min_examples examples.
            """,
            failing='100 examples of which 40 replies start with "Great question! Here is what I"',
            passing="100 examples whose replies open in many different ways",
            options=("max_opening_share", "min_examples", "sample_size"),
        ),
        "DIV002": Code(
            Severity.INFO, "few distinct system prompts",
            why="""
                The dataset has fewer than min_system_prompts distinct system prompts. A model
                tuned with one system prompt may behave well only under exactly that prompt. Off by
                default (0): OpenAI advises training with the system prompt used in production, so
                one prompt is normal; set it when the model must follow varied prompts.
            """,
            failing="100 examples that share one system prompt, with min_system_prompts: 3",
            passing="100 examples that share one system prompt, with the default min_system_prompts: 0",
            options=("min_system_prompts", "min_examples", "max_system_prompts"),
        ),
        "DIV003": Code(
            Severity.WARNING, "very low distinct-2 in assistant replies",
            why="""
                Distinct-2 of the sampled assistant replies (distinct word bigrams over all word
                bigrams) is below min_distinct_2: the replies repeat the same phrases, as
                templated or generated data often does, and teach a narrow, repetitive style. Add
                varied, hand-checked replies, or deduplicate the templated ones. Judged only for
                datasets of at least min_examples examples.
            """,
            failing='60 examples whose replies are all "I can help with that. Please tell me more."',
            passing="60 examples whose replies are written for their own questions",
            options=("min_distinct_2", "min_examples", "sample_size"),
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "min_examples": {
                "type": "integer", "minimum": 0,
                "description": "findings only for datasets with at least this many examples",
            },
            "max_opening_share": {
                "type": "number", "minimum": 0, "maximum": 1,
                "description": "the largest share of replies (0 to 1) one five-word opening may start (DIV001)",
            },
            "min_system_prompts": {
                "type": "integer", "minimum": 0,
                "description": "the fewest distinct system prompts (DIV002); 0 switches the rule off",
            },
            "min_distinct_2": {
                "type": "number", "minimum": 0, "maximum": 1,
                "description": "the lowest distinct-2 (0 to 1) of the assistant replies (DIV003)",
            },
            "sample_size": {
                "type": "integer", "minimum": 1,
                "description": "examples in the sample that distinct-n and the openings are computed on",
            },
            "max_system_prompts": {
                "type": "integer", "minimum": 1,
                "description": "distinct system prompts counted exactly; beyond it the stats say \"more than\"",
            },
            "top": {
                "type": "integer", "minimum": 0,
                "description": "openings and system prompts listed in the stats",
            },
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {
        "min_examples": 50,
        "max_opening_share": 0.3,
        "min_system_prompts": 0,
        "min_distinct_2": 0.1,
        "sample_size": 200,
        "max_system_prompts": 1000,
        "top": 5,
    }

    def __init__(self, options: Mapping[str, Any], context: Any) -> None:
        super().__init__(options, context)
        self.examples = 0
        # plain dicts, not Counters: they are updated for every message, and a dict is faster
        self.turn_counts: dict[int, int] = {}
        self.roles: dict[str, int] = dict.fromkeys((*_ROLES, "other"), 0)
        self.with_tools = 0
        self.with_images = 0
        self.with_system = 0
        #: system prompt -> examples that have it; None once there are more than max_system_prompts
        self.system: dict[str, int] | None = {}
        self.sample_size: int = self.options["sample_size"]
        self.max_system: int = self.options["max_system_prompts"]
        self.user_chars = _Lengths()
        self.assistant_chars = _Lengths()
        self.first_users = _Distinct()
        #: the three pending lists, which check() appends to (a pickle keeps them the same lists)
        self._user_lengths = self.user_chars.pending
        self._assistant_lengths = self.assistant_chars.pending
        self._first_texts = self.first_users.pending
        #: min-heap of (-key, user text, assistant text, reply prefixes): the sample_size examples
        #: with the smallest keys
        self.sample: list[tuple[int, str, str, tuple[str, ...]]] = []
        #: the sample keys of one block of record indices, starting at _block_start
        self._block_start = -1
        self._block_keys: list[int] = []

    # -- per record ----------------------------------------------------------------------------

    def check(self, record: Record) -> tuple[()]:
        fmt = record.format
        if fmt not in (CHAT, PREFERENCE, COMPLETION):
            return ()
        value = record.value
        self.examples += 1
        index = record.index
        block = index - index % _BLOCK
        if block != self._block_start:
            self._next_block(block)
        key = -self._block_keys[index - block]
        sample = self.sample
        wanted = len(sample) < self.sample_size or key > sample[0][0]
        messages = value.get("messages")
        if fmt == CHAT and type(messages) is list:
            texts = self._chat(value, messages, wanted)
        else:
            messages = messages_of(value, fmt)
            texts = self._other(value, fmt, messages, wanted)
        user_len, assistant_len, first_user, user_parts, assistant_parts = texts
        raw = record.raw
        # 95 is "_"; find(), as ``bytes in bytes`` first tries its needle as an integer and raising
        # and clearing that TypeError costs more than the search
        if (not raw or (95 in raw and raw.find(b"image_url") >= 0)) and _has_image(messages):
            self.with_images += 1
        first = messages[0] if messages and type(messages[0]) is dict else None
        if first is not None and first.get("role") == "system":
            self._system_prompt(first)
        # appended, not add()ed: folded when the block of indices changes (and before any use)
        self._user_lengths.append(user_len)
        self._assistant_lengths.append(assistant_len)
        if first_user is not None:
            self._first_texts.append(first_user)
        if wanted:
            self._keep(key, user_parts, assistant_parts)
        return ()

    def _next_block(self, block: int) -> None:
        """Make the sample keys of the block of record indices from ``block``; fold what is pending."""
        self._block_start, self._block_keys = block, _mix_block(block)
        self._fold_pending()

    def _fold_pending(self) -> None:
        self.first_users._fold()
        self.user_chars._fold()
        self.assistant_chars._fold()

    def __getstate__(self) -> dict[str, Any]:
        # a --jobs worker folds what is pending before it sends its result: folded by the parent
        # in ``merge``, every span's last block was hashed there one span after another
        self._fold_pending()
        return self.__dict__

    def _chat(self, value: dict[str, Any], messages: list[Any], wanted: bool) -> _Texts:
        """Count a chat record's turns and roles, and collect its texts (the common case, without Turn objects)."""
        roles = self.roles
        turn_counts = self.turn_counts
        turn_counts[len(messages)] = turn_counts.get(len(messages), 0) + 1
        user_len = assistant_len = 0
        user_parts: list[str] = []
        assistant_parts: list[str] = []
        first_user: str | None = None
        for m in messages:
            if type(m) is not dict:
                continue
            role = m.get("role")
            roles[role if role in _ROLES else "other"] += 1
            content = m.get("content")
            if type(content) is not str:
                if not isinstance(content, list):
                    continue
                content = _text_parts(content)
            if role == "assistant":
                assistant_len += len(content)
                if wanted:
                    assistant_parts.append(content)
            elif role == "user":
                user_len += len(content)
                if first_user is None:
                    first_user = content
                if wanted:
                    user_parts.append(content)
        if value.get("tools") or value.get("functions"):
            self.with_tools += 1
        return user_len, assistant_len, first_user, user_parts, assistant_parts

    def _other(self, value: dict[str, Any], fmt: str, messages: list[Any], wanted: bool) -> _Texts:
        """Count the turns and roles of a preference, prompt/completion or malformed chat record, and collect its texts."""
        roles = self.roles
        if fmt == COMPLETION:
            self.turn_counts[2] = self.turn_counts.get(2, 0) + 1
            roles["user"] += 1
            roles["assistant"] += 1
        else:
            count = len(messages) + (1 if fmt == PREFERENCE else 0)
            self.turn_counts[count] = self.turn_counts.get(count, 0) + 1
            for m in messages:
                role = m.get("role") if isinstance(m, dict) else None
                roles[role if role in _ROLES else "other"] += 1
            if fmt == PREFERENCE:
                roles["assistant"] += 1
                inp = value.get("input")
                if isinstance(inp, dict) and inp.get("tools"):
                    self.with_tools += 1
        user_len = assistant_len = 0
        user_parts: list[str] = []
        assistant_parts: list[str] = []
        first_user: str | None = None
        for turn in turns(value, fmt):
            if turn.role == "user":
                user_len += len(turn.text)
                if first_user is None:
                    first_user = turn.text
                if wanted:
                    user_parts.append(turn.text)
            elif turn.role == "assistant" and not turn.pointer.startswith("/non_preferred_output"):
                assistant_len += len(turn.text)
                if wanted:
                    assistant_parts.append(turn.text)
        return user_len, assistant_len, first_user, user_parts, assistant_parts

    def _system_prompt(self, first: dict[str, Any]) -> None:
        """Count an example that opens with a system message, and its prompt while they are few enough."""
        self.with_system += 1
        if self.system is None:
            return
        content = first.get("content")
        text = content if type(content) is str else str(content)
        entry = self.system.get(text)
        if entry is None:
            # keyed by the prompt itself: exact, and at most max_system_prompts of them
            self.system[text] = 1
            if len(self.system) > self.max_system:
                self.system = None
        else:
            self.system[text] = entry + 1

    def _keep(self, key: int, user_parts: list[str], assistant_parts: list[str]) -> None:
        """Put an example into the sample (it displaces the one with the smallest key when full)."""
        # reply prefixes, not openings: masking and cutting happen once, in finish, for the few
        # examples that stay in the sample
        item = (
            key,
            "\n".join(user_parts)[:SAMPLE_CHARS],
            "\n".join(assistant_parts)[:SAMPLE_CHARS],
            tuple(p[:_PREFIX_CHARS] for p in assistant_parts),
        )
        if len(self.sample) < self.sample_size:
            heapq.heappush(self.sample, item)
        else:
            heapq.heapreplace(self.sample, item)

    # -- merging and the end -------------------------------------------------------------------

    def merge(self, other: Validator) -> None:
        assert isinstance(other, DiversityValidator)
        self.examples += other.examples
        for count, n in other.turn_counts.items():
            self.turn_counts[count] = self.turn_counts.get(count, 0) + n
        for role, n in other.roles.items():
            self.roles[role] += n
        self.with_tools += other.with_tools
        self.with_images += other.with_images
        self.with_system += other.with_system
        if self.system is not None and other.system is not None:
            for text, count in other.system.items():
                self.system[text] = self.system.get(text, 0) + count
            if len(self.system) > self.max_system:
                self.system = None
        else:
            self.system = None
        self.first_users.merge(other.first_users)
        self.user_chars.merge(other.user_chars)
        self.assistant_chars.merge(other.assistant_chars)
        size = self.options["sample_size"]
        merged = heapq.nlargest(size, self.sample + other.sample, key=lambda e: e[0])
        heapq.heapify(merged)
        self.sample = merged

    def finish(self) -> Iterator[Finding]:
        if not self.examples:
            return
        stats = self._stats()
        self.metrics = {"diversity": stats}
        if self.examples < self.options["min_examples"]:
            return
        openings = stats["assistant_openings"]
        limit = self.options["max_opening_share"]
        if openings and openings[0]["share"] > limit:
            top = openings[0]
            yield self.finding(
                "DIV001", None,
                f"{top['share']:.0%} of assistant replies open with {top['text']!r} (more than {limit:.0%})",
                hint="vary the openings, or cut the canned first sentence from the replies",
                data={"opening": top["text"], "share": top["share"], "limit": limit},
            )
        systems = stats["system_prompts"]
        minimum = self.options["min_system_prompts"]
        if minimum and systems["distinct"] is not None and systems["distinct"] < minimum:
            yield self.finding(
                "DIV002", None,
                f"{plural(systems['distinct'], 'distinct system prompt')} in {plural(self.examples, 'record')} (fewer than {minimum:,})",
                hint="if the model will see other system prompts in use, include some variety",
                data={"distinct": systems["distinct"], "minimum": minimum},
            )
        d2 = stats["distinct"]["assistant"]["distinct_2"]
        floor = self.options["min_distinct_2"]
        if d2 is not None and d2 < floor:
            yield self.finding(
                "DIV003", None,
                f"assistant distinct-2 is {d2:.3f} (below {floor}): the replies reuse the same word pairs",
                hint="add varied examples; templated or generated replies often look like this",
                data={"distinct_2": d2, "minimum": floor},
            )

    def _stats(self) -> DiversityStats:
        n = self.examples
        sample = sorted(self.sample, key=lambda e: -e[0])
        top = self.options["top"]
        opening_counts: Counter[str] = Counter()
        for e in sample:
            opening_counts.update(o for o in map(_opening, e[3]) if o is not None)
        replies = sum(opening_counts.values())
        ranked = sorted(opening_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        if self.system is None:
            systems: SystemPrompts = {"examples_with": self.with_system, "distinct": None,
                                       "more_than": self.options["max_system_prompts"], "top": []}
        else:
            best = sorted(self.system.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
            systems = {"examples_with": self.with_system, "distinct": len(self.system),
                       "top": [{"text": _preview(mask_secrets(t)), "count": c} for t, c in best]}
        turn_hist: dict[str, int] = {}
        for k in sorted(self.turn_counts):
            label = str(k) if k <= _TURN_BUCKETS else f"{_TURN_BUCKETS + 1}+"
            turn_hist[label] = turn_hist.get(label, 0) + self.turn_counts[k]
        total_turns = sum(k * v for k, v in self.turn_counts.items())
        return {
            "examples": n,
            "sample_size": len(sample),
            "distinct": {
                "user": _distinct([e[1] for e in sample]),
                "assistant": _distinct([e[2] for e in sample]),
            },
            "unique_first_user_share": (
                round(self.first_users.estimate() / self.first_users.n, 4) if self.first_users.n else None
            ),
            "assistant_openings": [
                {"text": text, "count": c, "share": round(c / replies, 4)} for text, c in ranked
            ],
            "system_prompts": systems,
            "turns": {
                "min": min(self.turn_counts), "mean": round(total_turns / n, 2), "max": max(self.turn_counts),
                "histogram": turn_hist,
            },
            "roles": {r: self.roles[r] for r in (*_ROLES, "other") if self.roles[r]},
            "with_tools_share": round(self.with_tools / n, 4),
            "with_images_share": round(self.with_images / n, 4),
            "lengths": {"user_chars": self.user_chars.summary(), "assistant_chars": self.assistant_chars.summary()},
        }


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _OPENING_CHARS else text[: _OPENING_CHARS - 1] + "…"


def _text_parts(content: list[Any]) -> str:
    """The text parts of a message's content list, joined by line breaks."""
    return "\n".join(
        p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    )


def _has_image(messages: list[Any]) -> bool:
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    return True
    return False
