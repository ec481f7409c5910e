"""The text report's block for ``stats.tokens``: totals, distributions, epochs and cost."""

from __future__ import annotations

from ..stats import Distribution, TokensStats
from ..wording import plural
from .text import STAT_BLOCKS, used_of

#: what the tokens validator counts, for "21 of the 27 records ..."
COUNTED = "chat and preference records that parse"


def _dist(d: Distribution) -> str:
    if d["min"] is None:
        return "none"
    return f"min {d['min']:,}, p10 {d['p10']:,}, median {d['median']:,}, p90 {d['p90']:,}, max {d['max']:,}"


def heading(stats: TokensStats) -> str:
    """The model, encoding and limit the counts are for."""
    limit = stats["max_tokens_per_example"]
    limit_text = f"limit {limit:,} per example" if limit else "no known per-example limit"
    default = "; default target, set --model" if stats["model_default"] else ""
    return f"{stats['model']}, {stats['encoding']}, {limit_text}{default}"


def cost_line(stats: TokensStats) -> str:
    """Epochs, billed tokens and the estimated cost; or why there is none."""
    if not stats["billed"]:
        if stats.get("billed_per_eval"):
            return "validation file: its tokens are billed once per evaluation (--n-evals)"
        return "validation file: its tokens are not billed"
    how = "auto" if stats.get("epochs_auto") else "set"
    cost = stats.get("estimated_cost_usd")
    price = stats.get("training_price_per_1m")
    if cost is not None and price is not None:
        money = f" ≈ ${cost:,.2f} at ${price:,.2f} per 1M training tokens"
    else:
        money = " (no per-token price for this model)"
    return f"{plural(stats.get('epochs', 0), 'epoch')} ({how}): {stats.get('billed_tokens', 0):,} billed tokens{money}"


def facts(stats: TokensStats, records: int | None = None) -> list[str]:
    """The block's lines after its heading, unindented (the Markdown report lists them too)."""
    lines = [
        f"{used_of(stats['examples'], records, 'counted', COUNTED)}: {stats['total_tokens']:,} tokens, "
        f"{stats['trainable_tokens']:,} trainable (assistant, weight 1)",
        f"tokens per example: {_dist(stats['tokens_per_example'])} (nearest-rank)",
        f"messages per example: {_dist(stats['messages_per_example'])}",
    ]
    if stats["over_limit"]:
        n = stats["over_limit"]
        lines.append(f"{plural(n, 'example')} over the limit {'is' if n == 1 else 'are'} truncated from the end")
    if stats["unsized_images"]:
        lines.append(f"{plural(stats['unsized_images'], 'image')} of unknown size counted at 85 tokens (the least they cost)")
    lines.append(cost_line(stats))
    return lines


def render_tokens(stats: TokensStats, records: int | None = None) -> list[str]:
    """Lines of the tokens block, from the validator's ``stats.tokens``."""
    return [f"tokens ({heading(stats)}):", *(f"  {line}" for line in facts(stats, records))]


STAT_BLOCKS["tokens"] = render_tokens
