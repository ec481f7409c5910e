"""Exact duplicates, near-duplicates (MinHash LSH + rapidfuzz), conflicting answers and leakage, a module per check.

``texts`` (the normalised texts of a record and their digests), ``plain`` (the same, fast, for
the common plain chat record), ``exact`` (DUP001), ``near``
(DUP002: candidates, verification, clusters), ``conflicts`` (DUP003), ``leakage`` (DUP004,
DUP005), ``similar`` (the similarity measure) and ``validator`` (the streaming state, the re-read
of candidate texts and DUP006).
"""

from __future__ import annotations

from .similar import LONG_TEXT, similarity
from .texts import FORMAT_OF as _FORMAT_OF
from .texts import _digest, _Normaliser, _Texts, clean_line, texts_of
from .validator import DuplicatesValidator

# the private names are what a re-reader outside this package needs to check that a record it
# reads again is the one that was sketched (its format, texts and digest)
__all__ = [
    "LONG_TEXT", "DuplicatesValidator", "_FORMAT_OF", "_Normaliser", "_Texts", "_digest", "clean_line",
    "similarity", "texts_of",
]
