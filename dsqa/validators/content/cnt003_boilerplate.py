"""CNT003: refusal and AI-disclaimer boilerplate in a reply, in any letter case, with its prefilters."""

from __future__ import annotations

import re

from ...model import Severity
from ..base import Code

CODE = Code(
    Severity.WARNING,
    "refusal or AI-disclaimer boilerplate in a reply",
    why="""
        An assistant reply that refuses ("I cannot help with that", "I'm unable to assist") or
        hedges as a machine ("As an AI language model", "I don't have personal opinions"), in
        any letter case. A few of these teach the fine-tuned model to refuse or hedge where it
        should answer. Refusals are looked for in the first refusal_chars characters of a reply,
        AI disclaimers anywhere in it; "As an AI assistant developed by ..." introduces the
        assistant and counts only with a hedge after it. Rewrite the reply to answer, or drop
        the example. Switch the code off (ignore: [CNT003]) for safety data that teaches
        refusals on purpose.
    """,
    failing='{"messages": [{"role": "user", "content": "Tell me a joke"}, {"role": "assistant", "content": "AS AN AI LANGUAGE MODEL, I CANNOT HELP WITH THAT."}]}',
    passing='{"messages": [{"role": "user", "content": "Tell me a joke"}, {"role": "assistant", "content": "As an AI assistant made by Acme, here is one: why did the chicken cross the road?"}]}',
    options=("refusal_chars",),
)

DISCLAIMER = re.compile(
    r"\bas an? (?:AI (?:language )?model|AI(?! assistant)|artificial intelligence|(?:large )?language model)\b"
    # "As an AI assistant developed by ..." introduces the assistant; only a hedge after it counts
    r"|\bas an? AI assistant,? I (?:do not|don't|don’t|cannot|can't|can’t|am not|am unable|have no)\b"
    r"|\bI(?:'m|’m| am) (?:just |only |merely )an? (?:AI|artificial intelligence|(?:large )?language model|computer program)\b"
    r"|\bI(?:'m|’m| am) an? (?:AI language model|(?:large )?language model)\b"
    r"|\bI (?:do not|don't|don’t) have (?:personal )?(?:opinions|feelings|emotions|beliefs|personal experiences|"
    r"the ability to (?:browse|access the internet|access real-time))\b",
    re.I,
)
REFUSAL = re.compile(
    r"\b(?:I|we)(?:'m|’m| am| are)? ?(?:cannot|can't|can’t|can not|won't|will not|unable to|not able to|must decline to|not allowed to)"
    r" (?:help|assist|provide|comply|fulfil|fulfill|do that|answer|generate|create|write|engage|support|share)"
    r"(?: (?:you )?with)?(?: (?:that|this|your request|this request))?\b",
    re.I,
)


def find_boilerplate(text: str, refusal_chars: int) -> re.Match[str] | None:
    """The first AI disclaimer anywhere in a reply, else the first refusal in its first
    ``refusal_chars`` characters, else None: the rule without its prefilters."""
    m = DISCLAIMER.search(text)
    return m if m is not None else REFUSAL.search(text, 0, refusal_chars)


def find_boilerplate_gated(text: str, refusal_chars: int, apostrophe: bool) -> re.Match[str] | None:
    """``find_boilerplate``, with each pattern looked for only where its prefilter says it may be.

    ``apostrophe``: may the reply hold a straight apostrophe (``may_hold_apostrophe`` on its line)?
    """
    low = text.lower()
    if not text.isascii() and not may_lower(text, low):
        return find_boilerplate(text, refusal_chars)
    if not may_hold_boilerplate(low):
        return None
    has_not = "not" in low  # part of five of the literals: one scan rules them all out
    m = DISCLAIMER.search(text) if may_disclaim(low, apostrophe, has_not) else None
    if m is None and may_refuse(low if len(low) <= refusal_chars else low[:refusal_chars], apostrophe, has_not):
        m = REFUSAL.search(text, 0, refusal_chars)
    return m


# -- prefilters: each may say yes when the rule finds nothing, and never says no when it finds something
#
# The patterns match in any letter case, so the prefilters look at the reply in lower case. With
# re.I, "ı" and "İ" also match i: a reply that holds one is searched in full (see may_lower).


def may_lower(text: str, low: str) -> bool:
    """May the prefilters look at a non-ASCII reply in lower case (``low``)? Not when lower case
    hides an i the patterns match (ı stays ı, İ becomes two characters): then the reply is
    searched without prefilters. (ſ and the Kelvin sign also match s and k, but no literal of
    the prefilters holds an s or a k.)"""
    return len(low) == len(text) and "ı" not in low


#: one pass for the literals of both patterns that hold an "n": the forms of "not" (cannot, can
#: not, will not, not able, not allowed, not have), unable, decline, n't / n’t (can't, won't,
#: don't), "an ai", "artificial intelligence" and "language model"; sre scans for the "n" in C
#: and looks around it only there
_N_LITERALS = re.compile(
    r"n(?:ot(?:(?<=annot)|(?<=an not)|(?<=will not)|(?= able| allowed| have))|able|'t|’t|e(?<=decline)| ai"
    r"|telligence(?<=rtificial intelligence)|guage model)"
)


def may_hold_boilerplate(low: str) -> bool:
    """Coarse prefilter of both patterns on the lower-cased reply: does it hold any of their
    literals (the "n" forms above, "computer program", "a ai")? Every "ai" of the patterns
    follows "an " or "a ", and every "model" follows "language " or "ai ". Most replies hold
    none of these, and this is 3 scans where the finer prefilters below are about 10."""
    return _N_LITERALS.search(low) is not None or "computer program" in low or "a ai" in low


def may_disclaim(low: str, apostrophe: bool, has_not: bool) -> bool:
    """Prefilter of ``DISCLAIMER`` on the lower-cased reply: does it hold " ai", "model",
    "rtificial", "computer program", "not have" or "on't"/"on’t" (don't)?

    ``has_not``: does the reply hold "not"; ``apostrophe``: may it hold a straight apostrophe.
    """
    return (
        "model" in low or "rtificial" in low or "computer program" in low
        or (has_not and "not have" in low)
        or " ai" in low
        or (apostrophe and "on't" in low) or "on’t" in low
    )


def may_refuse(head: str, apostrophe: bool, has_not: bool) -> bool:
    """Prefilter of ``REFUSAL`` on the lower-cased start of the reply: does it hold cannot, can
    not, can't, won't, will not, unable, not able, decline or not allowed?"""
    return (
        (has_not and not_refusal(head))
        or "nable" in head or "decline" in head
        or (apostrophe and ("an't" in head or "on't" in head))
        or "an’t" in head  # the pattern spells won't with a straight apostrophe only
    )


def not_refusal(head: str) -> bool:
    """Is an occurrence of "not" in ``head`` part of "cannot", "can not", "will not", "not able"
    or "not allowed"? (A reply holds few; looking around each beats a scan per literal.)"""
    i = head.find("not")
    while i >= 0:
        if ((i >= 2 and head.startswith("an", i - 2)) or (i >= 3 and head.startswith("an ", i - 3))
                or (i >= 5 and head.startswith("will ", i - 5))
                or head.startswith("not able", i) or head.startswith("not allowed", i)):
            return True
        i = head.find("not", i + 3)
    return False


_APOSTROPHE = ord("'")


def may_hold_apostrophe(sig: bytes) -> bool:
    """Prefilter on a line's signature, which keeps every straight apostrophe: may a string of
    the line hold one (can't, won't, don't)?"""
    return _APOSTROPHE in sig
