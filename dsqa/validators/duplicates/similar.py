"""How similar two normalised texts are: rapidfuzz's Indel ratio, or for long texts the Jaccard similarity of word 4-grams."""

from __future__ import annotations

#: longer texts are compared by the Jaccard similarity of their word 4-gram sets: rapidfuzz's
#: edit distance is quadratic in the length, and two 500 KB examples would take seconds
LONG_TEXT = 20_000


def similarity(a: str, b: str, score_cutoff: float | None = None) -> float:
    """Normalised Indel similarity (rapidfuzz ``fuzz.ratio`` / 100), or for long texts the Jaccard
    similarity of their word 4-gram sets; 0 when below ``score_cutoff``."""
    if a == b:  # both measures give 1 (also for two empty texts): spare the import and the work
        return 1.0
    if len(a) <= LONG_TEXT and len(b) <= LONG_TEXT:
        from rapidfuzz.distance import Indel

        return float(Indel.normalized_similarity(a, b, score_cutoff=score_cutoff))
    if score_cutoff and min(len(a), len(b)) < score_cutoff * max(len(a), len(b)) / (2 - score_cutoff):
        return 0.0  # even the best Jaccard of such different lengths is below the cutoff
    sa, sb = _grams(a), _grams(b)
    common = len(sa & sb)
    value = common / (len(sa) + len(sb) - common) if sa or sb else 1.0
    return 0.0 if score_cutoff and value < score_cutoff else value


def _grams(text: str) -> set[tuple[str, ...]]:
    words = text.split(" ")
    if len(words) < 4:
        return {tuple(words)}
    return set(zip(words, words[1:], words[2:], words[3:]))
