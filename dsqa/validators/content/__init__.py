"""Content quality of each example: empty turns, unfilled templates, refusals, loops, cut-off replies, mojibake.

One module per code (``cnt002_placeholders`` holds CNT002's documentation, rule and prefilters);
``validator`` runs them, and ``lines`` combines the rules' prefilters on a record's raw line.
"""

from __future__ import annotations

from .cnt002_placeholders import find_placeholders
from .cnt004_loops import find_repetition
from .cnt005_cutoff import looks_cut_off
from .validator import ContentValidator

__all__ = ["ContentValidator", "find_placeholders", "find_repetition", "looks_cut_off"]
