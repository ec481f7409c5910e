"""CNT004: degenerate repetition (a generation loop) in a reply, with its prefilter, the loop probe."""

from __future__ import annotations

import operator
from collections.abc import Callable
from itertools import compress

from ...model import Severity
from ..base import Code

CODE = Code(
    Severity.WARNING,
    "degenerate repetition in a reply",
    why="""
        An assistant reply in which the same phrase of 1 to 12 words is said repeat_min_times or
        more times in a row, covering at least repeat_min_words words: the mark of a generation
        loop. A loop is looked for where a generation loop is: one that runs to the end of the
        reply, or one that fills its middle (a cheap probe finds evenly spaced repeats there; a
        phrase repeated only at the start of a long reply is not looked for). A looping reply
        teaches the model to loop. Cut the reply at the first repetition, or drop the example.
    """,
    failing='{"messages": [{"role": "user", "content": "Go on"}, {"role": "assistant", "content": "and then we went on and then we went on and then we went on and then we went on"}]}',
    passing='{"messages": [{"role": "user", "content": "Go on"}, {"role": "assistant", "content": "And then we went on, and on, until the road ran out at the sea."}]}',
    options=("repeat_min_times", "repeat_min_words"),
)


def find_repetition(words: list[str], min_repeats: int, min_words: int, max_phrase: int = 12) -> tuple[str, int] | None:
    """A phrase of up to ``max_phrase`` words said ``min_repeats`` or more times in a row, covering ``min_words``."""
    n_words = len(words)
    eq = operator.eq
    for n in range(1, max_phrase + 1):
        if min_repeats * n > n_words:
            break
        needed = max(min_repeats, -(-min_words // n))
        if needed * n > n_words:
            continue  # n * ceil(min_words / n) is not monotonic: 5 * 3 > 12 = 6 * 2
        # a phrase of n words repeated r times in a row is a run of (r - 1) * n positions k with
        # words[k] == words[k + n]; every run that long covers a multiple of its length, so only
        # those positions are compared first, and a run is grown from each one that matches
        span = (needed - 1) * n
        last = n_words - n
        for hit in compress(range(0, last, span), map(eq, words[::span], words[n::span])):
            start = hit
            while start > 0 and words[start - 1] == words[start - 1 + n]:
                start -= 1
            end = hit + 1
            while end < last and words[end] == words[end + n]:
                end += 1
            if end - start >= span:
                return " ".join(words[start:start + n]), (end - start) // n + 1
    return None


def probe_needed(min_words: int) -> bool:
    """Does the loop probe (``may_repeat``) decide which loops count? It needs runs longer than
    its 8 characters, so below 8 words the words are compared wherever the loop is."""
    return min_words >= 8


def find_loop(text: str, times: int, min_words: int, probed: bool = False) -> tuple[str, int] | None:
    """The rule: the phrase and its repeats of a loop in a reply that the probe places where a
    generation loop is (see ``may_repeat``), or None.

    The probe is part of what the rule means, not a prefilter: it decides which loops count
    (those at the end of the reply or across its middle; see ``probe_needed``). ``probed``: the
    caller has run the probe already, and it said yes.
    """
    if not probed and probe_needed(min_words) and not may_repeat(text, times):
        return None
    if len(text) > 2 * WINDOW_CHARS:
        return _find_loop_in_windows(text, times, min_words)
    words = text.split()
    return find_repetition(words, times, min_words) if len(words) >= min_words else None


#: a reply longer than twice this many characters has its words compared in two windows of this
#: size, at its end and its middle, where the probe looks: the word list of a whole 30 MB reply
#: took 350 MB; a loop is a short phrase said many times, so a window holds enough of it
WINDOW_CHARS = 256 * 1024


def _find_loop_in_windows(text: str, times: int, min_words: int) -> tuple[str, int] | None:
    """``find_loop``'s word comparison on the end and the middle of a very long reply."""
    half = len(text) // 2
    for window in (text[-WINDOW_CHARS:], text[half - WINDOW_CHARS // 2:half + WINDOW_CHARS // 2]):
        words = window.split()[1:]  # the window's first word may be cut
        found = find_repetition(words, times, min_words) if len(words) >= min_words else None
        if found is not None:
            return found
    return None


# -- prefilters: each may say yes when the rule finds nothing, and never says no when it finds something


def loop_min_chars(min_words: int) -> int:
    """Prefilter of ``find_loop``: a reply shorter than this many characters cannot hold
    ``min_words`` words (they take at least 2 * min_words - 1). The validator works it out once
    and compares each reply's length with it."""
    return 2 * min_words - 1


def may_repeat(text: str, times: int) -> bool:
    """The loop probe: does an 8-character probe from the end or the middle of the text recur at even spacing?

    A loop repeats its phrase at a fixed distance (its length), so the probe is looked for at
    one, two, ... such distances from where it was taken, and ``times - 1`` evenly spaced
    occurrences in all let the words be compared. Every other occurrence of the probe within
    reach is tried as that distance, nearest first, so a phrase that holds the probe twice
    still passes. A looping generation runs to the end of the reply, so the tail probe finds it;
    the middle probe finds a loop that fills most of the reply. A phrase said again here and
    there (a template sentence) is not evenly spaced.
    """
    stripped = text.rstrip()
    n = len(stripped)
    if n < 16:
        return True  # too short for two probes: compare the words
    need = times - 1 if times > 2 else 2
    last = n - 8  # the last place a probe can start
    # need occurrences at even spacing span need - 1 steps, so a step is at most this
    reach = last // (need - 1)
    # most probes occur only where they were taken: forward searches over the stretch each one's
    # other occurrences must be in (half the reply for the tail probe, three quarters for the
    # middle one, with the default options) rule both out before any closer look
    probe = stripped[last:]
    first = stripped.find(probe, last - reach)
    if first < last and _spaced(stripped, probe, last, need, first, last):
        return True  # the tail probe has nothing after it: all its other occurrences lie before it
    half = n >> 1
    # a spacing with no occurrence before the middle one puts all need of them after it
    ahead = half + (last - half) // (need - 1)
    probe = stripped[half:half + 8]
    first = stripped.find(probe, half - reach if half > reach else 0, half + 8)
    return (first < half or stripped.find(probe, half + 1, ahead + 8) >= 0) and _spaced(
        stripped, probe, half, need, first, ahead)


def _spaced(text: str, probe: str, at: int, need: int, first: int, high: int) -> bool:
    """Does ``probe``, found at ``at``, occur ``need`` times at even spacing, ``at`` among them?

    The spacing tried is the distance from ``at`` to each other occurrence that starts between
    ``first`` (the first occurrence within reach, maybe ``at`` itself) and ``high``, nearest first
    before ``at`` and then after it.
    """
    startswith = text.startswith
    j = text.rfind(probe, first, at + 7) if first < at else text.find(probe, at + 1, high + 8)
    while j >= 0:
        step = at - j if j < at else j - at
        if _count_spaced(startswith, probe, at, step, need) >= need:
            return True
        # the next candidate: the next occurrence back from ``at``, then forward from it
        if j < at:
            j = text.rfind(probe, first, j + 7) if j > first else -1
            if j < 0 and at < high:
                j = text.find(probe, at + 1, high + 8)
        else:
            j = text.find(probe, j + 1, high + 8)
    return False


def _count_spaced(startswith: Callable[[str, int], bool], probe: str, at: int, step: int, need: int) -> int:
    """How many of the places ``at`` +- k * ``step`` hold ``probe`` in a row, counting ``at``, up to ``need``."""
    found = 1
    k = at - step
    while found < need and k >= 0 and startswith(probe, k):
        found += 1
        k -= step
    k = at + step
    while found < need and startswith(probe, k):
        found += 1
        k += step
    return found
