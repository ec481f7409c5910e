"""Find secrets and personal data in text and mask them so a report never repeats them."""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

MASK = "[masked]"

_B = r"(?<![A-Za-z0-9_])"  # start of a token: not glued to a preceding word
_E = r"(?![A-Za-z0-9_])"
#: the start of a token whose body holds '-': not glued to a word or a hyphen either, so that a
#: failed match is never tried again from inside the run it scanned (which would be quadratic)
_BH = r"(?<![A-Za-z0-9_-])"


class Run(NamedTuple):
    """A prefilter: every match, with ``separators`` taken out, holds ``length`` of ``chars`` in a row."""

    chars: str
    separators: str
    length: int


class Kind(NamedTuple):
    """One kind of secret: its pattern, its name in messages, its finding code, and its prefilter.

    The prefilter is ``needles`` (literals one of which every finding holds, in the match or in
    the text its ``context`` test reads) or ``run`` (see ``Run``); it may say yes when the
    pattern finds nothing, and never says no when it finds something. The sensitive validator
    derives its tests on a record's raw line from it, and ``find_secrets`` its test on a text.
    ``confirm`` rejects a value that only looks right; ``context`` (text, start, end) rejects one
    whose surroundings say it is something else. When the pattern has a group named ``s``, that
    group is the secret (what is masked and reported), the rest of the match its context.
    A kind may have both needles and a run: every finding then holds both. ``marker``, when set,
    is one more prefilter (see below).
    """

    label: str
    code: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...] = ()
    run: Run | None = None
    confirm: Callable[[str], bool] | None = None
    context: Callable[[str, int, int], bool] | None = None
    #: a character every finding's match holds (such as "=" of password=...), tested before the
    #: needles: a line or text without it is ruled out by one memchr
    marker: str = ""
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
    """A card scheme's issuer prefix and length, and the Luhn checksum."""
    digits = value.replace(" ", "").replace("-", "")
    n = len(digits)
    if len(set(digits)) < 2:
        return False
    # issuer prefixes and the lengths their numbers have
    two = digits[:2]
    four = digits[:4]
    if digits[0] == "4":  # Visa
        ok = n in (13, 16, 19)
    elif two in ("34", "37"):  # American Express
        ok = n == 15
    elif two in ("36", "38", "39") or "300" <= digits[:3] <= "305" or digits[:3] == "309":  # Diners Club
        ok = 14 <= n <= 19
    elif "51" <= two <= "55" or "2221" <= four <= "2720":  # Mastercard
        ok = n == 16
    elif "2200" <= four <= "2204":  # Mir
        ok = 16 <= n <= 19
    elif four == "6011" or two == "65" or "644" <= digits[:3] <= "649" or "3528" <= four <= "3589":  # Discover, JCB
        ok = 16 <= n <= 19
    elif two == "62" or two == "81":  # UnionPay
        ok = 16 <= n <= 19
    elif two == "50" or "56" <= two <= "69" or two == "67":  # Maestro (the other 6x prefixes)
        ok = 13 <= n <= 19
    else:
        ok = False
    return ok and luhn_ok(digits)


#: how card numbers are grouped when written: 4-4-4-4 (and 4-4-4-4-3, 4-4-4-1 and so on), and
#: American Express and Diners Club 4-6-5 and 4-6-4
_CARD_GROUPS = re.compile(r"[0-9]{4}(?:([ -])[0-9]{4}){2}\1[0-9]{1,4}(?:\1[0-9]{1,3})?|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}")
#: words that say a number is a card's, in the major languages (lower case); the short English
#: ones must stand alone ("cc", not "accept")
_CARD_WORDS = re.compile(
    r"\b(?:cc|ccn|cvv2?|cvc|exp|jcb|amex)\b|\b(?:card|credit|debit|visa|master ?card|american express|discover"
    r"|diners|union ?pay|maestro|expir|valid thru|payment|tarjeta|cr[eé]dit|d[eé]bit|vencimiento|caducidad"
    r"|carte|bancaire|cryptogramme|karte|kredit|gültig|ablauf|cart[aã]o|validade|carta|scadenza|kaart|karta"
    r"|karty|kart[eę]|карт|кредит|банковск|срок)"
    r"|信用卡|银行卡|卡号|有效期|カード|クレジット|有効期限|카드|신용"
)
#: a digit run next to one of these is a term of a calculation, not a card number
_ARITHMETIC = frozenset("+*/×÷=^%<>")


def _card_context(text: str, start: int, end: int) -> bool:
    """Card evidence: card-style grouping or a card word near the number, and no calculation around it."""
    before = text[max(0, start - 3):start].rstrip()
    after = text[end:end + 3].lstrip()
    if (before and before[-1] in _ARITHMETIC) or (after and after[0] in _ARITHMETIC):
        return False
    if _CARD_GROUPS.fullmatch(text, start, end) is not None:
        return True
    return _CARD_WORDS.search(text[max(0, start - 48):end + 24].lower()) is not None


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
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
#: every token below holds 15 of these characters in a row (the shortest, a Slack token, is
#: "xoxb-" and 10 more): one test of a line for such a run rules out all of them at once
_TOKEN_RUN = Run(_BASE64 + "_.-~", "", 15)

#: values that stand for a credential in documentation and templates, not a credential
_STAND_INS = ("your", "example", "password", "passwd", "secret", "token", "changeme", "change_me", "xxx", "***",
              "...", "redacted", "placeholder", "dummy", "sample", "<", ">", "{", "}", "$", "%s", "hidden", "masked")


def _not_stand_in(value: str) -> bool:
    low = value.lower()
    return len(set(value)) >= 3 and not any(w in low for w in _STAND_INS)


#: code on the right of "password =": a call, an index, or a dotted name (os.environ, self.pw)
_CODE_VALUE = re.compile(r"[^()\[\]]*[()\[\]]|[A-Za-z_]+(?:\.[A-Za-z_]+)+$")


def _password_ok(value: str) -> bool:
    # a word alone is prose, and code reads the password from elsewhere; a password has a digit or a symbol
    return (_not_stand_in(value) and any(not ch.isalpha() for ch in value)
            and _CODE_VALUE.match(value) is None)


def _token_ok(value: str) -> bool:
    return (_not_stand_in(value) and any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)
            and len(set(value)) >= 8)


def _has_digit(value: str) -> bool:
    return any(ch.isdigit() for ch in value)


def _mixed(value: str) -> bool:
    """A random-looking key: capitals, small letters and digits (or '/' and '+')."""
    return (any(ch.isupper() for ch in value) and any(ch.islower() for ch in value)
            and any(ch.isdigit() or ch in "/+" for ch in value))


def _basic_ok(value: str) -> bool:
    """An HTTP Basic credential: base64 of "user:password" in printable ASCII."""
    if len(value) % 4:
        return False
    try:
        plain = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, colon, password = plain.partition(":")
    return bool(colon and user and password and plain.isprintable() and _not_stand_in(password))


def _near(words: tuple[str, ...], before: int, after: int = 0) -> Callable[[str, int, int], bool]:
    """A context test: one of ``words`` (the kind's needles) in the ``before`` characters before the
    value or the ``after`` characters after it."""
    def test(text: str, start: int, end: int) -> bool:
        window = text[max(0, start - before):end + after]
        return any(w in window for w in words)
    return test


def _ssn_ok(value: str) -> bool:
    digits = value.replace("-", "").replace(" ", "")
    # never issued: area 000, 666 or 900-999, group 00, serial 0000
    return not (digits[:3] in ("000", "666") or digits[0] == "9" or digits[3:5] == "00" or digits[5:] == "0000")


_DATE = re.compile(r"[0-9]{1,4}([./-])[0-9]{1,2}\1[0-9]{1,4}")
#: words that say a number is a phone number, in the major languages
_PHONE_WORDS = re.compile(
    r"(?i:\b(?:tel|phone|call|mobile|cell|fax|whatsapp|ring|dial|contact|number|telefon|téléphone|portable|appel"
    r"|teléfono|llam|móvil|celular|telefone|ligue|telefono|chiama|cellulare|bel|telefoon|телефон|звон|моб))"
    r"|电话|手机|電話|携帯|전화"
)
#: the regions whose national formats are recognised (trunk prefix 0 or an area code in parentheses)
_PHONE_REGIONS = ("GB", "DE", "FR", "NL", "BE", "CH", "AT", "IT", "ES", "PT", "SE", "PL", "RU", "UA", "TR",
                  "JP", "KR", "CN", "TW", "IN", "AU", "NZ", "BR", "AR", "MX", "ZA")


def _digit_groups(value: str) -> list[str]:
    return re.findall(r"[0-9]+", value)


def _national_phone(text: str, start: int, end: int) -> bool:
    """A national-format number that ``phonenumbers`` says is valid in a common region and that is
    written in that region's grouping (030 901820, 01 23 45 67 89, 03-1234-5678), or with a phone
    word near it; a date is not one."""
    value = text[start:end]
    if _DATE.fullmatch(value) is not None:
        return False
    groups = _digit_groups(value)
    digits = "".join(groups)
    if not 8 <= len(digits) <= 13:
        return False
    import phonenumbers  # imported on the first candidate: most runs never see one

    worded = _PHONE_WORDS.search(text, max(0, start - 40), start) is not None
    for region in _PHONE_REGIONS:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number_for_region(number, region):
            continue
        if worded or _digit_groups(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)) == groups:
            return True
    return False


def _kind(label: str, pattern: str, *needles: str, code: str = "SEC001", confirm: Callable[[str], bool] | None = None,
          context: Callable[[str, int, int], bool] | None = None, run: Run | None = _TOKEN_RUN, marker: str = "") -> Kind:
    return Kind(label, code, re.compile(pattern), tuple(needles), run, confirm, context, marker)


def _token(label: str, body: str, *needles: str, confirm: Callable[[str], bool] | None = None) -> Kind:
    """A token with a fixed prefix: ``body`` as a whole word. Its quantifiers are possessive and it
    starts only where a run of token characters starts, so the search is linear in the text."""
    return _kind(label, _BH + body + _E, *needles, confirm=confirm)


_AWS_WORDS = ("aws", "AWS", "Aws", "ecretAccessKey", "ecret_access_key", "ECRET_ACCESS_KEY", "ecret access key",
              "ecret Access Key")
_SSN_WORDS = ("SSN", "ssn", "Ssn", "ocial security", "ocial Security", "OCIAL SECURITY")

#: the kinds of secret, in the order they are tried (a later kind never overlaps an earlier
#: match); each with its pattern and, next to it, its prefilter. The token patterns follow the
#: rules of gitleaks (https://github.com/gitleaks/gitleaks, config/gitleaks.toml, MIT licence),
#: written here with possessive quantifiers so that every search is linear in the text length;
#: the AWS secret key in context and the password in a URL follow Yelp's detect-secrets (Apache 2.0).
KINDS: dict[str, Kind] = {
    "private_key": Kind("private key block", "SEC002", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        re.S,
    ), needles=("PRIVATE KEY",)),
    "anthropic_key": _token("Anthropic API key", r"sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_-]{40,}+", "sk-ant-"),
    # sk-..., sk-proj-..., sk-svcacct-...; the body must hold a digit so prose like "sk-learn" is not a key
    "openai_key": _token("OpenAI API key", r"sk-[A-Za-z0-9][A-Za-z0-9_-]{19,}+", "sk-", confirm=_has_digit),
    "aws_access_key": _token("AWS access key id", r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16}",
                             "AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
    # 40 characters of base64 with "aws" or "secret access key" shortly before it
    "aws_secret_key": _kind("AWS secret access key", r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
                            *_AWS_WORDS, confirm=_mixed, context=_near(_AWS_WORDS, 60)),
    "github_token": _token("GitHub token", r"(?:gh[pousr]_[A-Za-z0-9]{36,255}+|github_pat_[A-Za-z0-9_]{22,255}+)",
                           "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab_token": _token("GitLab token", r"(?:glpat|glptt|glrt)-[A-Za-z0-9_.-]{20,255}+", "glpat-", "glptt-", "glrt-"),
    "slack_token": _token("Slack token", r"(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}+", "xox", "xapp-"),
    "slack_webhook": _kind("Slack webhook URL", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+]{20,}+",
                           "hooks.slack.com/"),
    "discord_webhook": _kind("Discord webhook URL", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{5,30}/[A-Za-z0-9_-]{40,}+",
                             "/api/webhooks/"),
    "google_api_key": _token("Google API key", r"AIza[0-9A-Za-z_-]{35}", "AIza"),
    "google_oauth_secret": _token("Google OAuth client secret", r"GOCSPX-[A-Za-z0-9_-]{28}", "GOCSPX-"),
    "stripe_key": _token("Stripe secret key", r"(?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{10,255}+",
                         "sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"),
    "jwt": _token("JSON Web Token", r"eyJ[A-Za-z0-9_-]{10,}+\.eyJ[A-Za-z0-9_-]{10,}+\.[A-Za-z0-9_-]{10,}+", "eyJ"),
    "huggingface_token": _token("Hugging Face token", r"(?:hf_|api_org_)[A-Za-z0-9]{30,40}+", "hf_", "api_org_",
                                confirm=_mixed),
    "sendgrid_key": _token("SendGrid API key", r"SG\.[A-Za-z0-9_-]{16,32}+\.[A-Za-z0-9_-]{16,64}+", "SG."),
    "twilio_key": _token("Twilio API key", r"SK[0-9a-f]{32}", "SK", confirm=_has_digit),
    "npm_token": _token("npm access token", r"npm_[A-Za-z0-9]{36}", "npm_", confirm=_has_digit),
    "pypi_token": _token("PyPI upload token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}+", "pypi-AgEIcHlwaS5vcmc"),
    "telegram_bot_token": _kind("Telegram bot token", r"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}" + _E, ":AA"),
    "azure_storage_key": _kind("Azure storage key", r"(?:AccountKey|SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{40,}+={0,2}+)",
                               "AccountKey=", "SharedAccessKey="),
    "azure_client_secret": _kind("Azure AD client secret", r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}" + r"(?![A-Za-z0-9_~.-])",
                                 "Q~"),
    "groq_key": _token("Groq API key", r"gsk_[A-Za-z0-9]{52}", "gsk_"),
    "replicate_token": _token("Replicate API token", r"r8_[A-Za-z0-9]{37}", "r8_", confirm=_has_digit),
    "digitalocean_token": _token("DigitalOcean token", r"do[opr]_v1_[a-f0-9]{64}", "_v1_"),
    "shopify_token": _token("Shopify token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", "shpat_", "shpss_", "shpca_", "shppa_"),
    "linear_key": _token("Linear API key", r"lin_api_[A-Za-z0-9]{40}", "lin_api_"),
    "postman_key": _token("Postman API key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", "PMAK-"),
    "age_secret_key": _token("age secret key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", "AGE-SECRET-KEY-1"),
    "square_token": _token("Square token", r"(?:sq0atp|sq0csp|EAAA)[0-9A-Za-z_-]{22,60}+", "sq0atp", "sq0csp", "EAAA",
                           confirm=_mixed),
    "newrelic_key": _token("New Relic key", r"NR(?:AK|AA|II|JS)-[A-Za-z0-9]{27}", "NRAK-", "NRAA-", "NRII-", "NRJS-"),
    "atlassian_token": _token("Atlassian API token", r"ATATT3[A-Za-z0-9_=-]{100,}+", "ATATT3"),
    # a password in a URL (scheme://user:password@host): the password is the secret; before the
    # e-mail kind, so "https://deploy:S3cr3t!pw@host.io" is a URL credential, not "pw@host.io"
    "url_password": _kind("password in a URL",
                          r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,15}+://[^\s:/@?#\"'<>]{1,64}+:(?P<s>[^\s/@?#\"'<>]{1,128}+)@(?=[A-Za-z0-9\[])",
                          "://", run=None, confirm=_not_stand_in),
    # password=... as in configuration, environment and query strings; "password: ..." is left
    # out: in chat data it is mostly a made-up example ("Here is your new password: aB3#fG7!")
    "password": _kind("password",
                      r"(?<![A-Za-z0-9])(?:password|Password|PASSWORD|passwd|PASSWD|Passwort|PASSWORT|pwd|PWD|Pwd)(?![A-Za-z_])[\"']?\s*+=\s*+[\"']?"
                      r"(?P<s>[^\s\"'<>{}$,;&]{4,128}+)",
                      "password", "Password", "PASSWORD", "passwd", "PASSWD", "Passwort", "PASSWORT", "pwd", "PWD", "Pwd",
                      run=None, confirm=_password_ok, marker="="),
    # as HTTP headers write them: capitalised (a lower-case "bearer" would cost a search of every line)
    "bearer_token": _kind("Bearer token", r"(?<![A-Za-z0-9])(?:Bearer|BEARER)\s++(?P<s>[A-Za-z0-9._~+/-]{16,}+=*+)",
                          "Bearer", "BEARER", confirm=_token_ok),
    "basic_auth": _kind("Basic credential", r"(?<![A-Za-z0-9])(?:Basic|BASIC)\s++(?P<s>[A-Za-z0-9+/]{8,}+={0,2}+)(?![A-Za-z0-9+/=])",
                        "Basic", "BASIC", run=None, confirm=_basic_ok),
    "email": Kind("e-mail address", "SEC003", re.compile(
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
    ), needles=("@",)),
    # 13 to 19 ASCII digits, optionally in groups split by single spaces or hyphens; confirmed by a
    # card scheme's prefix and length and Luhn, and by card evidence around it (grouping or a word)
    "credit_card": Kind("credit-card number", "SEC005", re.compile(
        r"(?<![\d.,-])[0-9]{4}(?:[ -]?[0-9]){9,15}(?![\d-]|[.,]\d)"), run=Run(_DIGITS, " -", 13), confirm=_card_ok,
        context=_card_context),
    # two capitals, two digits, then groups of capitals and digits split by single spaces; confirmed
    # by the country's length (15 at least) and the mod-97 checksum
    "iban": Kind("IBAN", "SEC006", re.compile(
        r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"),
        run=Run("ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _DIGITS, " ", min(_IBAN_LENGTHS.values())), confirm=_iban_ok),
    # US Social Security numbers, only with "SSN" or "social security" shortly before them
    "ssn": _kind("US Social Security number", r"(?<![0-9-])[0-9]{3}([- ]?)[0-9]{2}\1[0-9]{4}(?![0-9]|-[0-9])",
                 code="SEC007", run=Run(_DIGITS, " .-()", 8), confirm=_ssn_ok, context=_near(_SSN_WORDS, 40)),
    # +CC international numbers, or (NNN) NNN-NNNN / NNN-NNN-NNNN / NNN.NNN.NNNN; a bare run of
    # digits (a year, an amount, an id) is never a phone number; confirmed with 8 to 15 digits (a
    # '+' only opens a match, so it never splits the run)
    "phone": Kind("phone number", "SEC004", re.compile(
        r"(?<![\w+.-])(?:\+[0-9]{1,3}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-][0-9]{2,4}){1,4}"
        r"|(?:\([0-9]{3}\) ?|[0-9]{3}[.-])[0-9]{3}[.-][0-9]{4})(?![\w.-]*\d)",
        re.ASCII,  # a number right after a Chinese or Japanese word is still a number
    ), run=Run(_DIGITS, " .-()", 8), confirm=_phone_ok),
    # national formats (a trunk 0, or a two-digit area code in parentheses, then groups; North
    # American ones are the kind above), confirmed by the
    # phonenumbers library (Google's libphonenumber metadata, Apache 2.0) for common regions
    "phone_national": Kind("phone number", "SEC004", re.compile(
        r"(?<![\w+.,/:-])(?>\((?:0[0-9]{1,4}+|[1-9][0-9])\) ?|0[0-9]{1,4}+[ .-]?)[0-9]{2,8}+(?:[ .-]?[0-9]{2,8}+){0,4}+(?![\w.,/:-]{0,16}\d)",
        re.ASCII,
    ), run=Run(_DIGITS, " .-()", 8), context=_national_phone),
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
    # the spans taken so far, disjoint and sorted (so their ends are sorted too): one bisection
    # tells whether a match overlaps one, however many there are
    starts: list[int] = []
    ends: list[int] = []
    seen: dict[Any, Any] = {}  # the text's answers about runs, found when first needed
    for name, kind in KINDS.items():
        if wanted is not None and name not in wanted:
            continue
        if not reference and not may_match(kind, text, seen):
            continue
        confirm = kind.confirm
        context = kind.context
        grouped = "s" in kind.pattern.groupindex
        for m in kind.pattern.finditer(text):
            start, end = m.span()
            i = bisect_right(ends, start)
            if i < len(starts) and starts[i] < end:
                continue
            s, e = m.span("s") if grouped else (start, end)
            value = text[s:e]
            if confirm is not None and not confirm(value):
                continue
            if context is not None and not context(text, s, e):
                continue
            masked = _mask_private_key(value) if name == "private_key" else mask_value(value)
            found.append(SecretMatch(name, s, e, masked))
            starts.insert(i, start)
            ends.insert(i, end)
    found.sort(key=lambda s: s.start)
    return found


def may_match(kind: Kind, text: str, seen: dict[Any, Any] | None = None) -> bool:
    """The kind's prefilter on a text: does it hold its marker, the run's characters in a row (as
    many as it needs, separators taken out) and one of the needles? (``seen`` caches the answers
    about runs for one text: kinds that share a run share the answer.)"""
    if kind.marker and kind.marker not in text:
        return False
    run = kind.run
    if run is not None:
        hit = None if seen is None else seen.get(run)
        if hit is None:
            hit = _holds_run(run, text, seen)
            if seen is not None:
                seen[run] = hit
        if not hit:
            return False
    return not kind.needles or any(n in text for n in kind.needles)


#: per run: the table that turns its characters into NUL bytes and every other byte into 1, the
#: bytes it deletes, the NULs it needs, and those NULs with a 1 after them
_RUN_TABLES: dict[Run, tuple[bytes, bytes, bytes, bytes]] = {}


def _holds_run(run: Run, text: str, seen: dict[Any, Any] | None) -> bool:
    """Does ``text`` hold ``run.length`` of the run's characters in a row once its separators are
    taken out? (The same test as the sensitive validator's on a raw line.)"""
    tables = _RUN_TABLES.get(run)
    if tables is None:
        chars = set(run.chars.encode("ascii"))
        need = b"\0" * run.length
        tables = _RUN_TABLES[run] = (bytes(0 if b in chars else 1 for b in range(256)),
                                     run.separators.encode("ascii"), need, need + b"\1")
    raw = None if seen is None else seen.get("")
    if raw is None:
        raw = text.encode("utf-8", "surrogatepass")  # a NUL in the text is not a run character: the table makes it a 1
        if seen is not None:
            seen[""] = raw
    table, separators, need, ended = tables
    # a run ends before a byte outside it or at the end: a needle that ends in the rarer byte is
    # found faster than the NULs alone
    line = raw.translate(table, separators)
    return line.find(ended) >= 0 or line.endswith(need)


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
