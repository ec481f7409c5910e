"""Token budgets: per-example counts against the target model's limit, totals, epochs and cost."""

from __future__ import annotations

import datetime as dt
import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ..formats import CHAT, PREFERENCE
from ..model import Finding, Record, Severity
from ..stats import Distribution, HistogramBin, TokensStats
from ..targets import DEFAULT_MODEL, auto_epochs, parse_day, resolve, table, training_cost
from ..tokencount import ChatCounter, ExampleCount
from . import lengthcap
from .lengthcap import ReplyLengths, ends_sentence
from .base import Code, DatasetContext, Validator
from .fastpath import chat_is_valid, preference_is_valid

_METHOD_OF = {CHAT: "sft", PREFERENCE: "dpo"}


def nearest_rank(values: array, fractions: Iterable[float]) -> list[int | None]:
    """Nearest-rank percentiles: the smallest value with at least that fraction of values at or below it."""
    if not values:
        return [None for _ in fractions]
    ordered = sorted(values)
    n = len(ordered)
    out: list[int | None] = []
    for q in fractions:
        rank = max(1, math.ceil(q * n - 1e-9))  # the epsilon keeps 0.1 * 30 from ranking 4th
        out.append(ordered[min(rank, n) - 1])
    return out


def histogram(values: array) -> list[HistogramBin]:
    """Counts of per-example values in power-of-two bins ``[lo, hi)``; 65,536 and 32,768 limits fall on edges."""
    if not values:
        return []
    ordered = sorted(values)
    lo = 1 << max(ordered[0], 1).bit_length() - 1
    out: list[HistogramBin] = []
    while lo <= ordered[-1]:
        hi = lo * 2
        count = bisect_left(ordered, hi) - bisect_left(ordered, lo)
        out.append({"lo": lo, "hi": hi, "count": count})
        lo = hi
    if ordered[0] == 0:
        out[0] = {"lo": 0, "hi": out[0]["hi"], "count": out[0]["count"] + bisect_left(ordered, 1)}
    return out


def distribution(values: array) -> Distribution:
    """min, p10, median (p50), p90 and max of per-example values, by nearest rank."""
    low, p10, med, p90, high = nearest_rank(values, (0.0, 0.1, 0.5, 0.9, 1.0))
    return {"min": low, "p10": p10, "median": med, "p90": p90, "max": high}


class TokensValidator(Validator):
    """Token counts per example against the target model, with dataset totals, epochs and cost.

    Each chat or preference example is counted offline with the target model's tiktoken encoding
    (the vocabularies ship inside dsqa, hash-checked) and OpenAI's chat accounting: 3 tokens per
    message plus its role, content and other string fields, 1 more per ``name``, 3 for the reply
    priming, ``tools`` by the cookbook formula, tool calls, and images (85 tokens at low detail,
    85 + 170 per 512-pixel tile when a data: URL gives the size). Trainable tokens are those of
    assistant messages with weight 1.

    The target model comes from ``model`` in the rule pack or ``--model`` (a base, an alias such
    as ``gpt-4o-mini``, or an ``ft:`` id, which resolves to its base); without one dsqa counts for
    gpt-4o-mini-2024-07-18 and does not judge dates. ``stats.tokens`` gives examples, total and
    trainable tokens, nearest-rank percentiles of tokens and messages per example, a power-of-two
    histogram and, for a training file, epochs (``--epochs`` or OpenAI's ``auto`` rule), billed
    tokens (each example capped at the limit) and the estimated cost.
    """

    name = "tokens"
    publishes = ("tokens",)
    codes: ClassVar[dict[str, Code]] = {
        "TOK001": Code(
            Severity.WARNING, "example over the model's token limit; truncated from the end",
            why="""
                The example has more tokens than the target model takes per example (65,536 for
                every current OpenAI base). OpenAI does not reject it: it cuts the example from the
                end, which usually removes the final assistant answer the example exists to teach.
                The message says how many trainable assistant tokens are lost. Shorten or split
                the conversation. An error in the strict pack.
            """,
            failing="an example of 70,000 tokens, checked for gpt-4o-mini-2024-07-18 (65,536 tokens per example)",
            passing='{"messages": [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]}',
            options=("max_tokens", "encoding"),
        ),
        "TOK002": Code(
            Severity.ERROR, "no trainable tokens in the example",
            why="""
                The assistant messages that would be trained (weight 1, the default) hold no
                tokens, for example an empty reply, so the example teaches nothing. Give the reply its text (or its tool calls), set weight 0 on the
                empty turn when another turn is the one to train, or drop the example.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": [{"type": "text", "text": ""}]}]}',
            passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}',
        ),
        "TOK003": Code(
            Severity.ERROR, "target model does not support this training method",
            why="""
                The target model cannot be trained with the method the data is for: chat records
                are supervised fine-tuning (SFT), preference records are DPO. For example o4-mini
                takes only reinforcement fine-tuning, and gpt-3.5-turbo-0125 takes SFT but not DPO. Pick a
                model that supports the method (`--model`, or model: in the rule pack); the models
                table in the README lists them.
            """,
            failing="chat records checked with --model o4-mini (reinforcement fine-tuning only)",
            passing="chat records checked with --model gpt-4.1-mini-2025-04-14",
        ),
        "TOK004": Code(
            Severity.ERROR, "target model retired",
            why="""
                The named target model is shut down, or its fine-tuning has ended, on the reference
                date (reference_date in the rule pack, default today), so a job cannot start on it.
                Only judged when a model is named. Pick a current base model with --model.
            """,
            failing="--model gpt-4.1-nano-2025-04-14 with reference_date 2026-10-23 (its shutdown day)",
            passing="--model gpt-4.1-nano-2025-04-14 with reference_date 2026-10-22",
        ),
        "TOK005": Code(
            Severity.ERROR, "OpenAI no longer creates fine-tuning jobs",
            why="""
                OpenAI stops creating fine-tuning jobs for every customer on 2027-01-06; from that
                reference date no OpenAI model can be trained on this dataset. Only judged when a
                model is named. Train with another provider, or set reference_date when you check an
                old dataset as of the day it was used.
            """,
            failing="--model gpt-4o-mini-2024-07-18 with reference_date 2027-01-06",
            passing="--model gpt-4o-mini-2024-07-18 with reference_date 2027-01-05",
        ),
        "TOK006": lengthcap.CODE,
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "max_tokens": {
                "type": ["integer", "null"], "minimum": 1,
                "description": "tokens per example, instead of the target model's limit (e.g. for another provider)",
            },
            "encoding": {
                "type": ["string", "null"], "pattern": "^[a-z0-9_]+$",
                "description": (
                    "tiktoken encoding, instead of the target model's (o200k_base and cl100k_base are "
                    "bundled; others need tiktoken's cache, see TIKTOKEN_CACHE_DIR)"
                ),
            },
            "tokenizer": {
                "type": ["string", "null"],
                "description": "a model's tokenizer.json (or its directory): exact counts for non-OpenAI models (--tokenizer)",
            },
            **lengthcap.OPTIONS,
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {
        "max_tokens": None, "encoding": None, "tokenizer": None, **lengthcap.DEFAULTS,
    }

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self.target = resolve(context.model or DEFAULT_MODEL)
        self.encoding: str = self.options["encoding"] or self.target.encoding
        self.limit: int | None = self.options["max_tokens"] or self.target.max_tokens
        # Together allows shorter sequences for DPO than for SFT
        self.limit_dpo: int | None = self.options["max_tokens"] or self.target.max_tokens_dpo or self.limit
        self.tokenizer: str | None = self.options["tokenizer"]
        self._counter: ChatCounter | None = ChatCounter(self.encoding, self.tokenizer)
        self.totals = array("I")
        self.message_counts = array("I")
        self.trainable_tokens = 0
        #: tokens over the limit in the examples over it, which billing leaves out
        self.billed_excess = 0
        self.over_limit = 0
        self.reply_lengths = ReplyLengths()
        self._caps = self.wants("TOK006")
        self.images = 0
        self.unsized_images = 0
        self.methods: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_counter"] = None  # holds a tiktoken core object; merged state needs no encoder
        return state

    # -- per record -----------------------------------------------------------------------------

    def check(self, record: Record) -> Iterable[Finding]:
        fmt = record.format
        value = record.value
        if not isinstance(value, dict) or fmt not in _METHOD_OF:
            return ()
        counter = self._counter
        if counter is None:
            counter = self._counter = ChatCounter(self.encoding, self.tokenizer)
        if fmt == CHAT:
            count = counter.chat(value)
            limit = self.limit
            if self._caps and count.segments:
                self._final_reply(record, count.segments[-1])
        else:
            count = counter.preference(value)
            limit = self.limit_dpo
        self._tally(count, fmt, limit)
        if (not limit or count.sequence <= limit) and (count.trainable or not count.trainable_messages):
            return ()
        return self._problems(record, count, limit, fmt)

    def _problems(self, record: Record, count: ExampleCount, limit: int | None, fmt: str) -> list[Finding]:
        """TOK001 and TOK002 for an example over the limit or with nothing to train on."""
        found: list[Finding] = []
        if limit and count.sequence > limit:
            self.over_limit += 1
            found.append(self._over_limit(record, count, limit, fmt))
        value = record.value
        if (
            count.trainable_messages and not count.trainable
            and count.empty_trainable_messages < count.trainable_messages
            # a malformed record already has schema findings that say why it is empty
            and (chat_is_valid(value) if fmt == CHAT else preference_is_valid(value))
        ):
            found.append(self.finding(
                "TOK002", record, "the assistant messages with weight 1 hold no tokens: nothing to train on",
                "/messages" if fmt == CHAT else "/preferred_output",
                hint="give the assistant reply text (or its tool calls), or drop the example",
                data={"trainable_tokens": 0},
            ))
        return found

    def _tally(self, count: ExampleCount, fmt: str, limit: int | None) -> None:
        """Add one example's counts to the totals (the token total is summed from ``totals`` at the end)."""
        methods = self.methods
        methods[fmt] = methods.get(fmt, 0) + 1
        total = count.total
        self.totals.append(total)
        self.message_counts.append(count.messages)
        self.trainable_tokens += count.trainable
        if count.images:
            self.images += count.images
            self.unsized_images += count.unsized_images
        if limit and total > limit:
            # billed tokens are the totals with each example capped at the limit
            self.billed_excess += total - limit

    def _over_limit(self, record: Record, count: ExampleCount, limit: int, fmt: str) -> Finding:
        lost = count.lost_after(limit)
        kept = count.trainable - lost if fmt == CHAT else None
        what = f"losing {lost:,} of its {count.trainable:,} trainable assistant tokens" if fmt == CHAT else (
            f"losing {lost:,} output tokens of the longer output"
        )
        if fmt == CHAT and kept == 0 and count.trainable:
            what += " (every one: nothing is left to train on)"
        return self.finding(
            "TOK001", record,
            f"example has {count.sequence:,} tokens, over the {limit:,}-token limit of {self.target.id}; "
            f"it will be truncated from the end, {what}",
            "/messages" if fmt == CHAT else None,
            hint="shorten or split the conversation; truncation cuts the end, where the answer is",
            data={"tokens": count.sequence, "limit": limit, "assistant_tokens_lost": lost, "trainable_tokens": count.trainable},
        )

    # -- across records -------------------------------------------------------------------------

    def _final_reply(self, record: Record, segment: tuple[int, int]) -> None:
        """Count the length of the example's last trained reply, for TOK006."""
        # a trained segment comes from a message, so "messages" is a list that is not empty
        last = record.value["messages"][-1]
        if isinstance(last, dict) and last.get("role") == "assistant":
            content = last.get("content")
            if isinstance(content, str):
                self.reply_lengths.add(segment[1] - segment[0], not ends_sentence(content), record.line)

    def merge(self, other: Validator) -> None:
        assert isinstance(other, TokensValidator)
        self.reply_lengths.merge(other.reply_lengths)
        self.totals.extend(other.totals)
        self.message_counts.extend(other.message_counts)
        self.trainable_tokens += other.trainable_tokens
        self.billed_excess += other.billed_excess
        self.over_limit += other.over_limit
        self.images += other.images
        self.unsized_images += other.unsized_images
        for fmt, n in other.methods.items():
            self.methods[fmt] = self.methods.get(fmt, 0) + n

    def finish(self) -> Iterable[Finding]:
        target = self.target
        for fmt, n in sorted(self.methods.items()):
            method = _METHOD_OF[fmt]
            if method not in target.methods:
                yield self.finding(
                    "TOK003", None,
                    f"{target.id} cannot be trained with {method.upper()} ({fmt} data); it supports {', '.join(target.methods) or 'nothing'}",
                    hint="pick a model that supports this method (see `dsqa rules TOK003` and the models table in the README)",
                    data={"model": target.id, "method": method, "examples": n},
                )
        if self._caps:
            yield from self.reply_lengths.findings(self.options, self.context.path, self.name)
        if self.context.model is not None:
            yield from self._dates()
        self.metrics = {"tokens": self._stats()}

    def _dates(self) -> Iterable[Finding]:
        target = self.target
        today = parse_day(self.context.reference_date) if self.context.reference_date else dt.date.today()
        if target.shutdown is not None and today >= target.shutdown:
            yield self.finding(
                "TOK004", None,
                f"{target.id} was shut down on {target.shutdown.isoformat()} (checked on {today.isoformat()}); "
                "it can no longer be fine-tuned or served",
                hint="pick a current base model with --model",
                data={"model": target.id, "shutdown": target.shutdown.isoformat()},
            )
        elif target.training_ends is not None and today >= target.training_ends:
            yield self.finding(
                "TOK004", None,
                f"training on {target.id} ended on {target.training_ends.isoformat()} (checked on {today.isoformat()})",
                hint="pick a current base model with --model",
                data={"model": target.id, "training_ends": target.training_ends.isoformat()},
            )
        closes = table().new_jobs_until
        if closes is not None and today >= closes and target.provider == "openai":
            yield self.finding(
                "TOK005", None,
                f"OpenAI stopped creating fine-tuning jobs for every customer on {closes.isoformat()} "
                f"(checked on {today.isoformat()}); this dataset cannot start a job there",
                hint="train with another provider, or set reference_date if you are checking an old dataset",
                data={"new_jobs_until": closes.isoformat()},
            )

    def _stats(self) -> TokensStats:
        target = self.target
        n = len(self.totals)
        total_tokens = sum(self.totals)
        estimated = target.estimate and not self.tokenizer
        encoding = f"tokenizer {self.tokenizer}" if self.tokenizer else self.encoding
        stats: TokensStats = {
            "model": target.id,
            "model_default": self.context.model is None,
            # counts for a model whose tokenizer dsqa does not have are labelled in every report format
            "encoding": f"{encoding} (estimate: not {target.id}'s tokenizer; give --tokenizer)" if estimated else encoding,
            "tokens_estimated": estimated,
            "max_tokens_per_example": self.limit_dpo if self.methods and CHAT not in self.methods else self.limit,
            "examples": n,
            "total_tokens": total_tokens,
            "trainable_tokens": self.trainable_tokens,
            "percentiles": "nearest-rank",
            "tokens_per_example": distribution(self.totals),
            "messages_per_example": distribution(self.message_counts),
            "histogram": histogram(self.totals),
            "over_limit": self.over_limit,
            "images": self.images,
            "unsized_images": self.unsized_images,
        }
        if self.context.role != "train":
            stats["billed"] = False
            if target.provider == "together":
                stats["billed_per_eval"] = True  # Together bills validation tokens once per evaluation (n_evals)
            return stats
        requested = self.context.epochs
        # Together's n_epochs defaults to 1; OpenAI's "auto" follows the cookbook heuristic
        epochs = requested if isinstance(requested, int) else (1 if target.provider == "together" else auto_epochs(n))
        billed_per_epoch = total_tokens - self.billed_excess
        billed = billed_per_epoch * epochs
        cost = training_cost(billed, target)
        stats.update({
            "billed": True,
            "epochs": epochs,
            "epochs_auto": not isinstance(requested, int),
            "billed_tokens_per_epoch": billed_per_epoch,
            "billed_tokens": billed,
            "training_price_per_1m": target.training_price_per_1m,
            "estimated_cost_usd": round(cost, 4) if cost is not None else None,
        })
        return stats
