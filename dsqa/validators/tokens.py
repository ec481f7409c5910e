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
from ..targets import DEFAULT_MODEL, auto_epochs, parse_day, resolve, table, training_cost
from ..tokens import ChatCounter, ExampleCount
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


def histogram(values: array) -> list[dict[str, int]]:
    """Counts of per-example values in power-of-two bins ``[lo, hi)``; 65,536 and 32,768 limits fall on edges."""
    if not values:
        return []
    ordered = sorted(values)
    lo = 1 << max(ordered[0], 1).bit_length() - 1
    out = []
    while lo <= ordered[-1]:
        hi = lo * 2
        count = bisect_left(ordered, hi) - bisect_left(ordered, lo)
        out.append({"lo": lo, "hi": hi, "count": count})
        lo = hi
    if ordered[0] == 0:
        out[0] = {"lo": 0, "hi": out[0]["hi"], "count": out[0]["count"] + bisect_left(ordered, 1)}
    return out


def distribution(values: array) -> dict[str, int | None]:
    """min, p10, median (p50), p90 and max of per-example values, by nearest rank."""
    low, p10, med, p90, high = nearest_rank(values, (0.0, 0.1, 0.5, 0.9, 1.0))
    return {"min": low, "p10": p10, "median": med, "p90": p90, "max": high}


class TokensValidator(Validator):
    """Token counts per example against the target model, with dataset totals, epochs and cost.

    Each chat or preference example is counted with the target model's tiktoken encoding and
    OpenAI's chat accounting: 3 tokens per message plus its role, content and other string fields,
    1 more per ``name``, 3 for the reply priming, the ``tools`` definitions by the cookbook formula,
    tool calls (function name and arguments) and images (85 tokens at low detail, 85 + 170 per
    512-pixel tile when the size is readable from a data: URL). Trainable tokens are those of
    assistant messages with weight 1. The vocabularies ship inside dsqa and are hash-checked, so
    counting never touches the network.

    An example over the model's per-example limit is not rejected by OpenAI: it is truncated from
    the end, which usually cuts off the final assistant answer the example exists to teach. The
    finding says how many trainable assistant tokens are lost. An example whose trainable
    assistant messages hold no tokens at all (e.g. ``"content": ""``) teaches nothing.

    The target model comes from ``model`` in the rule pack or ``--model`` (a base such as
    ``gpt-4.1-mini-2025-04-14``, an alias such as ``gpt-4o-mini``, or a fine-tuned
    ``ft:gpt-4.1-mini-2025-04-14:org::abc``, which resolves to its base). Without one, dsqa counts
    for gpt-4o-mini-2024-07-18 (o200k_base, 65,536 tokens per example) and does not judge dates.
    With a named model, a model that is shut down (or no longer trainable) on ``reference_date``
    (default: today) is an error, and so is any day from 2027-01-06, when OpenAI stops creating
    fine-tuning jobs for every customer.

    The report's ``stats.tokens`` gives examples, total and trainable tokens, min/p10/median/p90/max
    tokens and messages per example (nearest-rank percentiles), a power-of-two histogram of tokens
    per example, and for a training file the epochs
    (``epochs``/``--epochs``, or what OpenAI's ``auto`` picks: 3, raised toward 100 example-passes
    for small files and lowered toward 25,000 for large ones, within 1..25), billed tokens (each
    example capped at the limit, times epochs) and the estimated USD cost. Validation files are
    counted but not billed.

    Codes:
      TOK001  example longer than the model's limit; truncated from the end (warning; error in strict)
      TOK002  trainable assistant messages hold no tokens
      TOK003  the target model cannot be trained with this data's method (e.g. preference data, no DPO)
      TOK004  the target model is shut down or no longer trainable on the reference date
      TOK005  OpenAI no longer creates fine-tuning jobs on the reference date (from 2027-01-06)

    Options (``validators.tokens``):
      max_tokens: null     override the model's per-example limit (e.g. for another provider)
      encoding: null       override the model's encoding (o200k_base and cl100k_base are bundled;
                           others need tiktoken's cache, see TIKTOKEN_CACHE_DIR)

    Passing:  {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
    Failing:  an example of 70,000 tokens with --model gpt-4o-mini-2024-07-18 -> TOK001 at its line
              {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]}
              -> TOK002 at /messages
    """

    name = "tokens"
    codes: ClassVar[dict[str, Code]] = {
        "TOK001": Code(Severity.WARNING, "example over the model's token limit; truncated from the end"),
        "TOK002": Code(Severity.ERROR, "no trainable tokens in the example"),
        "TOK003": Code(Severity.ERROR, "target model does not support this training method"),
        "TOK004": Code(Severity.ERROR, "target model retired"),
        "TOK005": Code(Severity.ERROR, "OpenAI no longer creates fine-tuning jobs"),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "max_tokens": {"type": ["integer", "null"], "minimum": 1},
            "encoding": {"type": ["string", "null"], "pattern": "^[a-z0-9_]+$"},
            "tokenizer": {"type": ["string", "null"], "description": "a model's tokenizer.json (or its directory): exact counts for non-OpenAI models (--tokenizer)"},
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {"max_tokens": None, "encoding": None, "tokenizer": None}

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
        self.total_tokens = 0
        self.trainable_tokens = 0
        self.billed_per_epoch = 0
        self.over_limit = 0
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
        count = counter.chat(value) if fmt == CHAT else counter.preference(value)
        methods = self.methods
        methods[fmt] = methods.get(fmt, 0) + 1
        total = count.total
        self.totals.append(total)
        self.message_counts.append(count.messages)
        self.total_tokens += total
        self.trainable_tokens += count.trainable
        if count.images:
            self.images += count.images
            self.unsized_images += count.unsized_images
        limit = self.limit if fmt == CHAT else self.limit_dpo
        self.billed_per_epoch += min(total, limit) if limit else total
        if (not limit or count.sequence <= limit) and (count.trainable or not count.trainable_messages):
            return ()
        found: list[Finding] = []
        if limit and count.sequence > limit:
            self.over_limit += 1
            found.append(self._over_limit(record, count, limit, fmt))
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

    def merge(self, other: Validator) -> None:
        assert isinstance(other, TokensValidator)
        self.totals.extend(other.totals)
        self.message_counts.extend(other.message_counts)
        self.total_tokens += other.total_tokens
        self.trainable_tokens += other.trainable_tokens
        self.billed_per_epoch += other.billed_per_epoch
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

    def _stats(self) -> dict[str, Any]:
        target = self.target
        n = len(self.totals)
        estimated = target.estimate and not self.tokenizer
        encoding = f"tokenizer {self.tokenizer}" if self.tokenizer else self.encoding
        stats: dict[str, Any] = {
            "model": target.id,
            "model_default": self.context.model is None,
            # counts for a model whose tokenizer dsqa does not have are labelled in every report format
            "encoding": f"{encoding} (estimate: not {target.id}'s tokenizer; give --tokenizer)" if estimated else encoding,
            "tokens_estimated": estimated,
            "max_tokens_per_example": self.limit_dpo if self.methods and CHAT not in self.methods else self.limit,
            "examples": n,
            "total_tokens": self.total_tokens,
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
        billed = self.billed_per_epoch * epochs
        cost = training_cost(billed, target)
        stats.update({
            "billed": True,
            "epochs": epochs,
            "epochs_auto": not isinstance(requested, int),
            "billed_tokens_per_epoch": self.billed_per_epoch,
            "billed_tokens": billed,
            "training_price_per_1m": target.training_price_per_1m,
            "estimated_cost_usd": round(cost, 4) if cost is not None else None,
        })
        return stats
