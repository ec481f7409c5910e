"""The text report's block for ``stats.tokens``: totals, distributions, epochs and cost."""

from __future__ import annotations

from typing import Any

from .text import STAT_BLOCKS


def _dist(d: dict[str, Any]) -> str:
    if d.get("min") is None:
        return "none"
    return f"min {d['min']:,}, p10 {d['p10']:,}, median {d['median']:,}, p90 {d['p90']:,}, max {d['max']:,}"


def render_tokens(stats: dict[str, Any]) -> list[str]:
    """Lines of the tokens block, from the validator's ``stats.tokens`` dict."""
    limit = stats.get("max_tokens_per_example")
    limit_text = f"limit {limit:,} per example" if limit else "no known per-example limit"
    default = "; default target, set --model" if stats.get("model_default") else ""
    lines = [
        f"tokens ({stats['model']}, {stats['encoding']}, {limit_text}{default}):",
        f"  {stats['examples']:,} examples, {stats['total_tokens']:,} tokens, "
        f"{stats['trainable_tokens']:,} trainable (assistant, weight 1)",
        f"  tokens per example: {_dist(stats['tokens_per_example'])} (nearest-rank)",
        f"  messages per example: {_dist(stats['messages_per_example'])}",
    ]
    if stats.get("over_limit"):
        lines.append(f"  {stats['over_limit']:,} example(s) over the limit will be truncated from the end")
    if stats.get("unsized_images"):
        lines.append(f"  {stats['unsized_images']:,} image(s) of unknown size counted at 85 tokens (the least they cost)")
    if not stats.get("billed"):
        if stats.get("billed_per_eval"):
            lines.append("  validation file: its tokens are billed once per evaluation (--n-evals)")
        else:
            lines.append("  validation file: its tokens are not billed")
        return lines
    how = "auto" if stats.get("epochs_auto") else "set"
    cost = stats.get("estimated_cost_usd")
    price = stats.get("training_price_per_1m")
    money = f" ≈ ${cost:,.2f} at ${price:,.2f} per 1M training tokens" if cost is not None else " (no per-token price for this model)"
    lines.append(f"  {stats['epochs']} epochs ({how}): {stats['billed_tokens']:,} billed tokens{money}")
    return lines


STAT_BLOCKS["tokens"] = render_tokens
