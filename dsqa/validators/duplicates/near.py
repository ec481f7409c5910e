"""Near-duplicates (DUP002): MinHash LSH candidates, verified with rapidfuzz, joined into clusters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...model import Finding, Severity
from ...wording import similarity as shown
from ..base import Code
from .similar import similarity
from .texts import _Texts

if TYPE_CHECKING:
    import numpy as np

    from .validator import DuplicatesValidator

#: clusters listed in stats.duplicates.clusters (largest first)
TOP_CLUSTERS = 10

_SYSTEM = '{"role": "system", "content": "You help with bicycles."}'
_ASK = '{"role": "user", "content": "My chain keeps falling off when I change gear on hills, what should I check first?"}'
_REPLY = "Check the rear derailleur limit screws and the chain length; a worn chain or a bent hanger also makes it jump."
_OTHER = (
    '{"messages": [' + _SYSTEM + ', {"role": "user", "content": "How often should I oil the chain of a city bike?"},'
    ' {"role": "assistant", "content": "About every two weeks, or after riding in rain."}]}'
)


def _bike(reply: str) -> str:
    return '{"messages": [' + _SYSTEM + ", " + _ASK + ', {"role": "assistant", "content": "' + reply + '"}]}'


CODES: dict[str, Code] = {
    "DUP002": Code(
        Severity.WARNING,
        "near-duplicate of an earlier example",
        why="""
            The record is nearly the same as an earlier one (a word changed, a "Thanks."
            appended): the common kind of duplicate, which exact comparison misses, and just
            as wasteful. What people wrote is compared: the text turns and the values of
            tool-call arguments and of a tool's JSON result; tool definitions, the keys and
            names of tool-call JSON and the text of image and data URLs are left out, and each
            image counts as one token that only the same URL or the same bytes share, so
            questions about different pictures under one storage prefix are not alike.
            Texts (see scope) are cut into word shingles; MinHash with bands x rows minima
            finds candidate pairs without comparing all pairs, and each candidate
            is verified with rapidfuzz (normalised Indel similarity; texts over 20,000
            characters by the Jaccard similarity of word 4-grams). Pairs at or above
            threshold are joined into clusters: the earliest line is the representative, and
            every other member is reported at its own line. In the conversation scope the
            system prompts must be near-identical too, and the same prompt with a different
            answer is a conflict (DUP003) instead. Keep one example of each cluster, or make
            them differ in substance.
        """,
        failing=f"line 1: {_bike(_REPLY)}\nline 2: {_OTHER}\nline 3: {_bike(_REPLY + ' Thanks.')}",
        passing=f"line 1: {_bike(_REPLY)}\nline 2: {_OTHER}",
        options=("threshold", "scope", "near", "case_fold", "bands", "rows"),
    ),
}


def candidates(a: dict[str, Any]) -> np.ndarray:
    """(earlier, later) positions of unique records whose MinHash shares a band."""
    import numpy as np

    from ...minhash import candidate_pairs

    ids = np.flatnonzero(a["unique"] & a["valid"])
    return candidate_pairs(a["keys"][ids], ids)


def verify(
    pairs: list[tuple[int, int]], texts: dict[int, _Texts], context: np.ndarray, options: dict[str, Any],
) -> dict[tuple[int, int], float]:
    """The similarity of each candidate pair that is a near-duplicate (at or above the threshold)."""
    threshold = float(options["threshold"])
    conflict_below = float(options["conflict_below"])
    conversation = options["scope"] == "conversation"
    sim = similarity
    # verified scores above the cutoff are exact (and symmetric): the listing reuses them
    scores: dict[tuple[int, int], float] = {}
    for i, j in pairs:
        ti, tj = texts[i], texts[j]
        if conversation:
            if context[i] and context[i] == context[j] and sim(ti.answer or "", tj.answer or "") < conflict_below:
                continue  # a conflict, reported as DUP003
            if sim(ti.system, tj.system, score_cutoff=threshold) < threshold:
                continue
        score = sim(ti.scope, tj.scope, score_cutoff=threshold)
        if score >= threshold:
            scores[i, j] = score
    return scores


def clusters(pairs: list[tuple[int, int]]) -> dict[int, list[int]]:
    """The connected components of the pairs, each under its lowest position."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    out: dict[int, list[int]] = {}
    for x in list(parent):
        out.setdefault(root(x), []).append(x)
    return out


def near_duplicates(
    v: DuplicatesValidator, scores: dict[tuple[int, int], float], texts: dict[int, _Texts], lines: np.ndarray, stats: dict[str, Any],
) -> Iterator[Finding]:
    """DUP002 for every cluster member but its representative; the clusters go into ``stats``."""
    summary = []
    for rep, members in sorted(clusters(list(scores)).items()):
        members = sorted(m for m in members if m != rep)
        if not members:
            continue
        size = len(members) + 1
        listed = []
        for m in members:
            s = scores.get((rep, m)) or scores.get((m, rep)) or similarity(texts[m].scope, texts[rep].scope)
            listed.append({"line": int(lines[m]), "similarity": round(s, 3)})
            yield v._at_record(
                "DUP002", m,
                f"near-duplicate of {v._name(rep)} (similarity {shown(s)}, cluster of {size:,})",
                "keep one example of each cluster, or make the examples differ in substance",
                {"of": int(lines[rep]), "similarity": round(s, 3), "cluster_size": size}, rep,
            )
        summary.append({"representative": int(lines[rep]), "size": size, "members": listed})
    stats["clusters"] = len(summary)
    stats["near_duplicates"] = sum(c["size"] - 1 for c in summary)
    stats["largest_cluster"] = max((c["size"] for c in summary), default=0)
    summary.sort(key=lambda c: (-c["size"], c["representative"]))
    stats["top_clusters"] = summary[:TOP_CLUSTERS]
