"""The text report's block for ``stats.diversity``: distinct-n, openings, system prompts, turns, lengths."""

from __future__ import annotations

from typing import Any

from .text import STAT_BLOCKS


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _dist(d: dict[str, Any]) -> str:
    return f"min {d['min']:,}, mean {d['mean']:,}, p50 ≤{d['p50']:,}, p90 ≤{d['p90']:,}, max {d['max']:,}"


def render_diversity(stats: dict[str, Any]) -> list[str]:
    """Lines of the diversity block, from the validator's ``stats.diversity`` dict."""
    n = stats["examples"]
    sampled = stats["sample_size"]
    of = "all examples" if sampled >= n else f"a sample of {sampled:,} of {n:,} examples"
    user, assistant = stats["distinct"]["user"], stats["distinct"]["assistant"]
    turns = stats["turns"]
    roles = ", ".join(f"{r} {c:,}" for r, c in stats["roles"].items()) or "none"
    systems = stats["system_prompts"]
    distinct = systems["distinct"] if systems["distinct"] is not None else f"more than {systems['more_than']:,}"
    lines = [
        f"diversity ({n:,} examples; distinct-n, first messages and openings over {of}):",
        f"  distinct-1/2: user {_num(user['distinct_1'])}/{_num(user['distinct_2'])}, "
        f"assistant {_num(assistant['distinct_1'])}/{_num(assistant['distinct_2'])}",
        f"  unique first user messages: {_share(stats['unique_first_user_share'])}",
        f"  messages per example: min {turns['min']}, mean {turns['mean']}, max {turns['max']}; roles: {roles}",
        f"  with tools: {_share(stats['with_tools_share'])}, with images: {_share(stats['with_images_share'])}",
        f"  system prompts: {systems['examples_with']:,} examples have one, {distinct} distinct",
        f"  user chars per example: {_dist(stats['lengths']['user_chars'])}",
        f"  assistant chars per example: {_dist(stats['lengths']['assistant_chars'])}",
    ]
    if stats["assistant_openings"]:
        lines.append("  most common assistant openings:")
        lines += [f"    {o['share']:6.1%}  {o['text']!r}" for o in stats["assistant_openings"]]
    return lines


STAT_BLOCKS["diversity"] = render_diversity
