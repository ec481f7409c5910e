"""Secrets and personal data in training text: API keys, private keys, e-mail, phone, card numbers, IBANs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ..model import Finding, Record, Severity
from ..redact import KINDS, LABELS, find_secrets
from .base import Code, Validator, pointer_of
from .rawsig import signature

_CODE_OF = {
    "openai_key": "SEC001", "aws_access_key": "SEC001", "github_token": "SEC001", "slack_token": "SEC001",
    "slack_webhook": "SEC001", "google_api_key": "SEC001", "stripe_key": "SEC001",
    "private_key": "SEC002", "email": "SEC003", "phone": "SEC004", "credit_card": "SEC005", "iban": "SEC006",
}
_HINTS = {
    "SEC001": "revoke the credential now, then remove it from the data: a fine-tuned model can repeat it",
    "SEC002": "revoke the key pair, then remove the block from the data",
    "SEC003": "replace real addresses with placeholders such as name@example.com",
    "SEC004": "replace real numbers with fictional ones (e.g. 555-0100 to 555-0199)",
    "SEC005": "remove card numbers; test numbers belong in test fixtures, not training data",
    "SEC006": "remove or replace account numbers",
}
# the "shape" of a line: digits become 0, capitals A, and space, hyphen and dot s
_SHAPE = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -.", b"0" * 10 + b"A" * 26 + b"sss")
# the signature's shape with capitals and digits alike
_ALNUM = bytes.maketrans(b"A0", b"XX")
# what a card or phone number may hold between its digits
_SEPARATORS = b" -.()"
# a \u escape of a character the raw tests look for (printable ASCII but '"', '<', '>', '&', which
# HTML-safe JSON writers escape and no secret holds) hides it from those tests
_ESCAPED_ASCII = re.compile(rb"\\u00(?:2[013-57-9a-fA-F]|3[0-9abdfABDF]|[4-6][0-9a-fA-F]|7[0-9a-eA-E])")
DEFAULT_ALLOWED_DOMAINS = (
    "example.com", "example.org", "example.net", "example.edu", "example", "test", "invalid", "localhost",
    "domain.com", "yourdomain.com", "yourcompany.com", "company.com", "email.com",
)


class SensitiveValidator(Validator):
    """Secrets and personal data in any string of a record, reported only masked.

    Every string value of the record is searched (message text, tool-call arguments, tool
    definitions). A fine-tuned model can repeat what it was trained on, so a live key or a
    customer's address in the data can leak to anyone who prompts the model. A finding names the
    kind, the JSON Pointer and the column, and shows the value masked (``sk-pr…[masked]…9xQ``):
    the secret itself never appears in any report, in any format. One finding per kind and
    string; ``data.count`` says how many there were.

    Codes:
      SEC001  API key or access token: OpenAI ``sk-...`` (with a digit in it), AWS ``AKIA...``,
              GitHub ``ghp_...``/``github_pat_...``, Slack ``xox?-...`` and webhook URLs, Google
              ``AIza...``, Stripe ``sk_live_...`` (error)
      SEC002  private key block ``-----BEGIN ... PRIVATE KEY-----`` (error)
      SEC003  e-mail address; domains in ``allow_email_domains`` and domains with a label that
              starts with "example" (``example-domain.com``) are fine (warning)
      SEC004  phone number: ``+CC`` international numbers, ``(415) 867-5309``, ``415-867-5309``,
              ``415.867.5309`` with 8 to 15 digits; a year, an amount, a date or an id is not, nor a
              North American number with 555 as area code or exchange (fictional) (warning)
      SEC005  credit-card number: 13 to 19 digits (optionally grouped by spaces or hyphens) with a
              card issuer prefix that pass the Luhn check (error)
      SEC006  IBAN with the right length for its country and a valid mod-97 checksum (warning)

    A UUID, a hash, ``sk-learn`` or a Luhn-invalid 16-digit number is not reported.

    Options (``validators.sensitive``):
      kinds: [all]               which kinds to look for: private_key, openai_key, aws_access_key,
                                 github_token, slack_token, slack_webhook, google_api_key,
                                 stripe_key, email, credit_card, iban, phone
      allow_email_domains: [example.com, example.org, example.net, example.edu, example, test,
                                 invalid, localhost, domain.com, yourdomain.com, yourcompany.com,
                                 company.com, email.com]   addresses at these domains (and their
                                 subdomains) are placeholders, not personal data

    Passing:
      {"messages": [{"role": "user", "content": "Mail me at jane@example.com, call (555) 123-4567"},
                    {"role": "assistant", "content": "Done. Order 4111 1111 1111 1112 is noted for 2024."}]}
    Failing:
      {"messages": [{"role": "user", "content": "Use key sk-proj-Ab3dEfGhIjKlMnOpQrStUvWx"},
                    {"role": "assistant", "content": "Noted."}]}
      -> SEC001 at /messages/0/content: OpenAI API key sk-pr…[masked]…tUvWx... (masked)
    """

    wants_signature = True
    name = "sensitive"
    codes: ClassVar[dict[str, Code]] = {
        "SEC001": Code(Severity.ERROR, "API key or access token in the data"),
        "SEC002": Code(Severity.ERROR, "private key block in the data"),
        "SEC003": Code(Severity.WARNING, "e-mail address in the data"),
        "SEC004": Code(Severity.WARNING, "phone number in the data"),
        "SEC005": Code(Severity.ERROR, "credit-card number in the data"),
        "SEC006": Code(Severity.WARNING, "IBAN in the data"),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "kinds": {"type": "array", "items": {"enum": list(KINDS)}, "uniqueItems": True},
            "allow_email_domains": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {"kinds": list(KINDS), "allow_email_domains": list(DEFAULT_ALLOWED_DOMAINS)}

    def __init__(self, options: Mapping[str, Any], context: Any) -> None:
        super().__init__(options, context)
        self._kinds = tuple(k for k in KINDS if k in set(self.options["kinds"]))
        self._domains = tuple(d.lower().lstrip("@.") for d in self.options["allow_email_domains"])
        self._wanted = frozenset(self._kinds)

    def _candidates(self, record: Record) -> list[str]:
        """The kinds that can be in a record, judged from its raw line with cheap tests.

        Each test is a necessary condition of the kind's pattern: a literal every match holds.
        They are made on the line's short signature (capitals, digits, a few symbols and rare
        letters, see ``rawsig``): what a literal keeps of itself there is looked for first, and
        the line itself only when that hits.
        """
        raw = record.raw
        sig = record.signature
        if sig is None:
            sig = signature(record)
        find = sig.find
        found = []
        # find(), and ``int in bytes`` for one byte: ``bytes in bytes`` first tries its needle as
        # an integer, and raising and clearing that TypeError costs more than the search
        if 64 in sig:  # @
            found.append("email")
        if 45 in sig:  # -
            if find(b"k-") >= 0 and raw.find(b"sk-") >= 0:
                found.append("openai_key")
            if find(b"xx-") >= 0 and raw.find(b"xox") >= 0:  # xox?- with the lowercase o and ? left out
                found.append("slack_token")
        if find(b"PRIVATE") >= 0 and raw.find(b"PRIVATE") >= 0:
            found.append("private_key")
        if find(b"AIz") >= 0 and raw.find(b"AIza") >= 0:
            found.append("google_api_key")
        if 47 in sig and find(b"//") >= 0 and raw.find(b"slack") >= 0:  # https://hooks.slack.com/...
            found.append("slack_webhook")
        if 95 in sig:  # _
            if raw.find(b"gh") >= 0 and any(raw.find(p) >= 0 for p in (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_")):
                found.append("github_token")
            if raw.find(b"_live_") >= 0:
                found.append("stripe_key")
        # capitals and digits are all in the signature, and a run of them in the line is a run in
        # the signature too (a longer one: the signature drops what separates them)
        short = sig.translate(_SHAPE)
        digits = short.count(48)  # 0
        shape: bytes | None = None
        # an AWS key id is 20 capitals and digits (AKIA, ASIA or ABIA first); an IBAN at least 15
        # (two capitals and two digits first), in groups split by spaces
        if short.translate(_ALNUM).find(b"XXXXXXXXXXXXXXX") >= 0:
            shape = raw.translate(_SHAPE)
            if shape.find(b"AAAA") >= 0 and raw.find(b"IA") >= 0:
                found.append("aws_access_key")
            if shape.find(b"AA00") >= 0:
                found.append("iban")
        if digits >= 8:  # a phone number has 8 to 15 digits, a card 13 to 19
            if shape is None:
                shape = raw.translate(_SHAPE)
            # a card number opens with four digits and goes on with a digit or a separator and a digit
            card = digits >= 13 and (shape.find(b"00000") >= 0 or shape.find(b"0000s0") >= 0)
            plus = 43 in sig and shape.find(b"+0") >= 0  # +
            if card or plus:
                # without the separators a card or phone number may hold, its digits are one run
                runs = raw.translate(_SHAPE, _SEPARATORS)
                if card and runs.find(b"0000000000000") >= 0:
                    found.append("credit_card")
                if plus and runs.find(b"+00000000") >= 0:
                    found.append("phone")
            # a North American number ends in NNN-NNNN or NNN.NNNN
            if "phone" not in found and shape.find(b"000s0000") >= 0:
                found.append("phone")
        if not found:
            return found
        wanted = self._wanted
        return [k for k in found if k in wanted]

    def check(self, record: Record) -> list[Finding]:
        raw = record.raw
        # a record with no line of its own (an element of a .json array) is searched in full, and
        # so is a line where a character written as a \u escape would hide a literal from the raw
        # tests (no ordinary JSON writer does that)
        if not raw or (92 in raw and raw.find(b"\\u00") >= 0 and _ESCAPED_ASCII.search(raw)):
            kinds = list(self._kinds)
        else:
            kinds = self._candidates(record)
            if not kinds:
                return []
            # one search over all the record's strings at once before the walk that says where each
            # finding is: most candidate records hold nothing (they are joined by line breaks,
            # which only a private key block's pattern crosses, so nothing is lost at the seams)
            if not find_secrets("\n".join(_strings(record.value)), kinds):
                return []
        out: list[Finding] = []
        stack: list[tuple[Any, tuple[Any, ...]]] = [(record.value, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, str):
                if len(node) >= 6:
                    out.extend(self._scan(record, node, path, kinds))
            elif isinstance(node, dict):
                stack.extend((v, (*path, k)) for k, v in reversed(list(node.items())))
            elif isinstance(node, list):
                stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
        return out

    def _scan(self, record: Record, text: str, path: tuple[Any, ...], kinds: list[str]) -> Iterator[Finding]:
        first: dict[str, tuple[int, str, str]] = {}
        counts: dict[str, int] = {}
        for m in find_secrets(text, kinds):
            if m.kind == "email" and self._allowed_email(text[m.start:m.end]):
                continue
            code = _CODE_OF[m.kind]
            counts[code] = counts.get(code, 0) + 1
            first.setdefault(code, (m.start, m.kind, m.masked))
        for code, (start, kind, masked) in sorted(first.items()):
            n = counts[code]
            more = f" ({n} in this string)" if n > 1 else ""
            yield self.finding(
                code, record, f"{LABELS[kind]} {masked} at column {start + 1}{more}", pointer_of(path),
                hint=_HINTS[code], data={"kind": kind, "masked": masked, "column": start + 1, "count": n},
            )

    def _allowed_email(self, address: str) -> bool:
        domain = address.rsplit("@", 1)[-1].lower()
        if any(label.startswith("example") for label in domain.split(".")[:-1]):
            return True  # example-domain.com, mail.example.co.uk: illustrations, not people
        return any(domain == d or domain.endswith("." + d) for d in self._domains)


def _strings(value: Any) -> list[str]:
    """Every string value in a parsed record (not the keys), in no particular order."""
    out: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is str:
            out.append(node)
        elif type(node) is dict:
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return out
