"""Find secrets and personal data in text and mask them so a report never repeats them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

MASK = "[masked]"

_B = r"(?<![A-Za-z0-9_])"  # start of a token: not glued to a preceding word
_E = r"(?![A-Za-z0-9_])"


class Run(NamedTuple):
    """A prefilter: every match, with ``separators`` taken out, holds ``length`` of ``chars`` in a row."""

    chars: str
    separators: str
    length: int


class Kind(NamedTuple):
    """One kind of secret: its pattern, its name in messages, its finding code, and its prefilter.

    The prefilter is ``needles`` (literals one of which every match holds) or ``run`` (see
    ``Run``); it may say yes when the pattern finds nothing, and never says no when it finds
    something. The sensitive validator derives its tests on a record's raw line from it, and
    ``find_secrets`` its test on a text. ``confirm`` rejects a match that only looks right.
    """

    label: str
    code: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...] = ()
    run: Run | None = None
    confirm: Callable[[str], bool] | None = None
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CY": 28, "CZ": 24,
    "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18,
    "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "KW": 30, "KZ": 20, "LB": 28,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "QA": 29, "RO": 24, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26,
    "UA": 29,
}


class SecretMatch(NamedTuple):
    """Where a secret is in a text, what kind it is, and its masked form (never the value)."""

    kind: str
    start: int
    end: int
    masked: str


def luhn_ok(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum that every card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_ok(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    n = len(digits)
    if len(set(digits)) < 2:
        return False
    # issuer prefixes and the lengths their numbers have
    two = digits[:2]
    if digits[0] == "4":
        ok = n in (13, 16, 19)
    elif two in ("34", "37"):
        ok = n == 15
    elif two in ("36", "38"):
        ok = n == 14
    elif "51" <= two <= "55" or "2221" <= digits[:4] <= "2720":
        ok = n == 16
    elif two in ("35", "65") or digits[:4] == "6011":
        ok = 16 <= n <= 19
    else:
        ok = False
    return ok and luhn_ok(digits)


def _iban_ok(value: str) -> bool:
    compact = value.replace(" ", "")
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _phone_ok(value: str) -> bool:
    digits = "".join(ch for ch in value if ch.isdigit())
    if not 8 <= len(digits) <= 15:
        return False
    # North American numbers with 555 as area code or exchange are fictional by convention
    national = digits[1:] if value.startswith("+1") else digits
    if not value.startswith("+") or value.startswith("+1"):
        if len(national) == 10 and (national[:3] == "555" or national[3:6] == "555"):
            return False
    return True


_DIGITS = "0123456789"

#: the kinds of secret, in the order they are tried (a later kind never overlaps an earlier
#: match); each with its pattern and, next to it, its prefilter
KINDS: dict[str, Kind] = {
    "private_key": Kind("private key block", "SEC002", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        re.S,
    ), needles=("PRIVATE KEY",)),
    # sk-..., sk-proj-..., sk-svcacct-...; the body must hold a digit so prose like "sk-learn" is not a key
    "openai_key": Kind("OpenAI API key", "SEC001", re.compile(
        _B + r"sk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9][A-Za-z0-9_-]{19,}" + _E), needles=("sk-",)),
    "aws_access_key": Kind("AWS access key id", "SEC001", re.compile(
        _B + r"(?:AKIA|ASIA|ABIA)[0-9A-Z]{16}" + _E), needles=("AKIA", "ASIA", "ABIA")),
    "github_token": Kind("GitHub token", "SEC001", re.compile(
        _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})" + _E),
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    "slack_token": Kind("Slack token", "SEC001", re.compile(_B + r"xox[abposr]-[A-Za-z0-9-]{10,}" + _E), needles=("xox",)),
    "slack_webhook": Kind("Slack webhook URL", "SEC001", re.compile(
        r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}"), needles=("https://hooks.slack.com/services/",)),
    "google_api_key": Kind("Google API key", "SEC001", re.compile(_B + r"AIza[0-9A-Za-z_-]{35}" + _E), needles=("AIza",)),
    "stripe_key": Kind("Stripe secret key", "SEC001", re.compile(_B + r"(?:sk|rk)_live_[0-9A-Za-z]{20,}" + _E), needles=("_live_",)),
    "email": Kind("e-mail address", "SEC003", re.compile(
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
    ), needles=("@",)),
    # 13 to 19 ASCII digits, optionally in groups split by single spaces or hyphens; confirmed by Luhn
    "credit_card": Kind("credit-card number", "SEC005", re.compile(
        r"(?<![\d.,-])[0-9]{4}(?:[ -]?[0-9]){9,15}(?![\d-]|[.,]\d)"), run=Run(_DIGITS, " -", 13), confirm=_card_ok),
    # two capitals, two digits, then groups of capitals and digits split by single spaces; confirmed
    # by the country's length (15 at least) and the mod-97 checksum
    "iban": Kind("IBAN", "SEC006", re.compile(
        r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"),
        run=Run("ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _DIGITS, " ", min(_IBAN_LENGTHS.values())), confirm=_iban_ok),
    # +CC international numbers, or (NNN) NNN-NNNN / NNN-NNN-NNNN / NNN.NNN.NNNN; a bare run of
    # digits (a year, an amount, an id) is never a phone number; confirmed with 8 to 15 digits (a
    # '+' only opens a match, so it never splits the run)
    "phone": Kind("phone number", "SEC004", re.compile(
        r"(?<![\w+.-])(?:\+[0-9]{1,3}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-][0-9]{2,4}){1,4}"
        r"|(?:\([0-9]{3}\) ?|[0-9]{3}[.-])[0-9]{3}[.-][0-9]{4})(?![\w.-]*\d)"
    ), run=Run(_DIGITS, " .-()", 8), confirm=_phone_ok),
}

#: what each kind is called in a message
LABELS = {name: kind.label for name, kind in KINDS.items()}


def mask_value(value: str) -> str:
    """A masked form that keeps at most a few characters of each end, e.g. ``sk-pr…[masked]…9xQ``."""
    n = len(value)
    if n < 12:
        head, tail = min(1, n // 4), 0
    else:
        head, tail = min(5, n // 5), min(3, n // 8)
    return value[:head] + "…" + MASK + "…" + (value[n - tail:] if tail else "")


def _mask_private_key(value: str) -> str:
    # the header without its closing dashes, so the masked form is not itself a key block
    header = re.match(r"-----BEGIN ([A-Z0-9 ]+?)-----", value)
    return "-----BEGIN " + (header.group(1) if header else "PRIVATE KEY") + "…" + MASK + "…"


def find_secrets(text: str, kinds: Iterable[str] | None = None, *, reference: bool = False) -> list[SecretMatch]:
    """Every secret or piece of personal data in ``text`` that the rules know, in text order.

    ``kinds`` limits the search to those kinds (names from ``KINDS``). Matches never overlap; the
    earlier kind in ``KINDS`` wins (a key inside a URL is a key, not part of a phone number).
    ``reference``: search every kind's pattern, with no prefilter (for tests; the same result).
    """
    wanted = None if kinds is None else frozenset(kinds)
    found: list[SecretMatch] = []
    taken: list[tuple[int, int]] = []
    counted: dict[str, int] = {}  # characters of a run's kind, counted when first needed
    for name, kind in KINDS.items():
        if wanted is not None and name not in wanted:
            continue
        if not reference and not may_match(kind, text, counted):
            continue
        confirm = kind.confirm
        for m in kind.pattern.finditer(text):
            start, end = m.span()
            if any(start < e and s < end for s, e in taken):
                continue
            value = m.group()
            if confirm is not None and not confirm(value):
                continue
            masked = _mask_private_key(value) if name == "private_key" else mask_value(value)
            found.append(SecretMatch(name, start, end, masked))
            taken.append((start, end))
    found.sort(key=lambda s: s.start)
    return found


def may_match(kind: Kind, text: str, counted: dict[str, int] | None = None) -> bool:
    """The kind's prefilter on a text: does it hold one of the needles, or as many of the run's
    characters as a run needs? (``counted`` caches the counts of one text.)"""
    if kind.needles:
        return any(n in text for n in kind.needles)
    if kind.run is None:
        return True
    chars = kind.run.chars
    n = None if counted is None else counted.get(chars)
    if n is None:
        raw = text.encode("utf-8", "surrogatepass")
        n = len(raw) - len(raw.translate(None, chars.encode("ascii")))
        if counted is not None:
            counted[chars] = n
    return n >= kind.run.length


def mask_secrets(text: str) -> str:
    """``text`` with every secret and piece of personal data replaced by its masked form."""
    matches = find_secrets(text)
    if not matches:
        return text
    out = []
    pos = 0
    for m in matches:
        out.append(text[pos:m.start])
        out.append(m.masked)
        pos = m.end
    out.append(text[pos:])
    return "".join(out)


__all__ = ["KINDS", "LABELS", "MASK", "Kind", "Run", "SecretMatch", "find_secrets", "luhn_ok", "mask_secrets", "mask_value"]
