"""The text report's block for ``stats.duplicates``: exact, near and conflicting duplicates, leakage."""

from __future__ import annotations

from typing import Any

from .text import STAT_BLOCKS


def render_duplicates(stats: dict[str, Any]) -> list[str]:
    """Lines of the duplicates block, from the validator's ``stats.duplicates`` dict."""
    lines = [
        f"duplicates ({stats['scope']} scope, near at similarity >= {stats['threshold']:g}):",
        f"  {stats['exact_duplicates']:,} exact duplicate(s) in {stats['exact_groups']:,} group(s); "
        f"{stats['near_duplicates']:,} near-duplicate(s) in {stats['clusters']:,} cluster(s)"
        + (f", the largest of {stats['largest_cluster']}" if stats.get("largest_cluster") else "")
        + f"; {stats['conflicts']:,} conflicting answer(s)",
    ]
    for cluster in stats.get("top_clusters", [])[:3]:
        members = ", ".join(f"{m['line']} ({m['similarity']:.2f})" for m in cluster["members"][:6])
        more = len(cluster["members"]) - 6
        lines.append(f"  cluster at line {cluster['representative']}: {members}" + (f" and {more} more" if more > 0 else ""))
    if "leaked_exact" in stats:
        lines.append(f"  shared with the training file: {stats['leaked_exact']:,} exact, {stats.get('leaked_near', 0):,} near")
    return lines


STAT_BLOCKS["duplicates"] = render_duplicates
