"""The text report's block for ``stats.diversity``: distinct-n, openings, system prompts, turns, lengths."""

from __future__ import annotations

from ..stats import DiversityStats, LengthSummary, SystemPrompts
from ..wording import number, plural
from .text import STAT_BLOCKS, used_of

#: what the diversity validator looks at, for "22 of the 27 records ..."
LOOKED_AT = "chat, preference and completion records that parse"


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _dist(d: LengthSummary) -> str:
    return f"min {d['min']:,}, mean {number(d['mean'])}, p50 ≤{d['p50']:,}, p90 ≤{d['p90']:,}, max {d['max']:,}"


def _systems(systems: SystemPrompts) -> str:
    distinct = systems["distinct"]
    many = f"{distinct:,}" if distinct is not None else f"more than {systems.get('more_than', 0):,}"
    with_one = systems["examples_with"]
    return f"system prompts: {plural(with_one, 'record')} {'has' if with_one == 1 else 'have'} one, {many} distinct"


def render_diversity(stats: DiversityStats, records: int | None = None) -> list[str]:
    """Lines of the diversity block, from the validator's ``stats.diversity``."""
    n = stats["examples"]
    sampled = stats["sample_size"]
    of = "every record looked at" if sampled >= n else f"a sample of {sampled:,}"
    user, assistant = stats["distinct"]["user"], stats["distinct"]["assistant"]
    turns = stats["turns"]
    roles = ", ".join(f"{r} {c:,}" for r, c in stats["roles"].items()) or "none"
    lines = [
        f"diversity (distinct-n, first messages and openings over {of}):",
        f"  {used_of(n, records, 'looked at', LOOKED_AT)}",
        f"  distinct-1/2: user {_num(user['distinct_1'])}/{_num(user['distinct_2'])}, "
        f"assistant {_num(assistant['distinct_1'])}/{_num(assistant['distinct_2'])}",
        f"  unique first user messages: {_share(stats['unique_first_user_share'])}",
        f"  messages per record: min {turns['min']:,}, mean {number(turns['mean'])}, max {turns['max']:,}; roles: {roles}",
        f"  with tools: {_share(stats['with_tools_share'])}, with images: {_share(stats['with_images_share'])}",
        f"  {_systems(stats['system_prompts'])}",
        f"  user chars per record: {_dist(stats['lengths']['user_chars'])}",
        f"  assistant chars per record: {_dist(stats['lengths']['assistant_chars'])}",
    ]
    if stats["assistant_openings"]:
        lines.append("  most common assistant openings:")
        lines += [f"    {o['share']:6.1%}  \"{o['text']}\"" for o in stats["assistant_openings"]]
    return lines


STAT_BLOCKS["diversity"] = render_diversity
