"""CNT005: a reply that looks cut off mid-sentence, with its prefilter."""

from __future__ import annotations

from ...model import Severity
from ..base import Code

CODE = Code(
    Severity.WARNING,
    "reply looks cut off",
    why="""
        An assistant reply that ends with ",", "-" or "(", with a word that cannot end a
        sentence ("the", "and", "of", ...), or that leaves a ``` code block open. Replies shorter
        than cutoff_min_chars are not judged, nor replies that call a tool. Truncated replies,
        usually from a length limit during generation, teach the model to stop mid-sentence.
        Regenerate the reply with a higher length limit, or finish it by hand.
    """,
    failing='{"messages": [{"role": "user", "content": "Name three rivers"}, {"role": "assistant", "content": "Three long rivers are the Nile, the Amazon and the"}]}',
    passing='{"messages": [{"role": "user", "content": "Name three rivers"}, {"role": "assistant", "content": "Three long rivers are the Nile, the Amazon and the Yangtze."}]}',
    options=("cutoff_min_chars",),
)

_DANGLING = frozenset(
    "the a an and or but of to with for in on at from by as that which who whose because if than then is are was"
    " were be my your our their its this these those such into onto".split()
)
#: characters a finished reply may end with
_END_OK = frozenset(".!?)]}\"'`’”»>*|%…;~:")


def looks_cut_off(text: str) -> str | None:
    """Why a reply looks cut off mid-sentence, or None."""
    if "`" in text and text.count("```") % 2 == 1:
        return "a code block is never closed"
    stripped = text.rstrip()
    if not stripped:
        return None
    last = stripped[-1]
    if last in _END_OK or last.isdigit():
        return None
    if last in ",-(–—&+=":
        return f"it ends with {last!r}"
    if not last.isalpha():
        return None
    tail = stripped[-12:].rsplit(None, 1)[-1].lower()
    if tail in _DANGLING:
        return f"it ends with the word {tail!r}"
    return None


# -- prefilters: each may say yes when the rule finds nothing, and never says no when it finds something


def may_look_cut_off(text: str) -> bool:
    """Prefilter of ``looks_cut_off`` on a non-empty reply: a reply that ends with a character
    a finished reply may end with and holds no backtick (no code block to leave open) cannot
    look cut off."""
    return text[-1] not in _END_OK or "`" in text
