"""The text report's block for ``stats.duplicates``: exact, near and conflicting duplicates, leakage."""

from __future__ import annotations

from ..stats import Cluster, DuplicatesStats
from ..wording import plural, similarity
from .text import STAT_BLOCKS, used_of

#: what the duplicates validator compares, for "23 of the 27 records ..."
COMPARED = "records that parse as a known format"
#: clusters listed, and members listed per cluster
SHOWN_CLUSTERS = 3
SHOWN_MEMBERS = 6


def _cluster(cluster: Cluster) -> str:
    members = cluster["members"]
    listed = ", ".join(f"{m['line']:,} ({similarity(m['similarity'])})" for m in members[:SHOWN_MEMBERS])
    more = len(members) - SHOWN_MEMBERS
    return f"cluster at line {cluster['representative']:,}: {listed}" + (f" and {more:,} more" if more > 0 else "")


def render_duplicates(stats: DuplicatesStats, records: int | None = None) -> list[str]:
    """Lines of the duplicates block, from the validator's ``stats.duplicates``."""
    largest = f", the largest of {stats['largest_cluster']:,}" if stats["largest_cluster"] else ""
    lines = [
        f"duplicates ({stats['scope']} scope, near at similarity >= {stats['threshold']:g}):",
        f"  {used_of(stats['records'], records, 'compared', COMPARED)}",
        f"  {plural(stats['exact_duplicates'], 'exact duplicate')} in {plural(stats['exact_groups'], 'group')}; "
        f"{plural(stats['near_duplicates'], 'near-duplicate')} in {plural(stats['clusters'], 'cluster')}{largest}; "
        f"{plural(stats['conflicts'], 'conflicting answer')}",
    ]
    lines += [f"  {_cluster(c)}" for c in stats.get("top_clusters", [])[:SHOWN_CLUSTERS]]
    if "leaked_exact" in stats:
        prompts = stats.get("shared_prompts", 0)
        lines.append(
            f"  shared with earlier splits: {stats['leaked_exact']:,} exact, {stats.get('leaked_near', 0):,} near; "
            f"the same prompt in {plural(prompts, 'more record')}"
        )
    return lines


STAT_BLOCKS["duplicates"] = render_duplicates
