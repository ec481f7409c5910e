"""The sensitive validator: finds secrets and personal data in every string of a record, reported only masked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ... import redact
from ...model import Finding, Record
from ...redact import find_secrets
from ..base import Code, Validator, pointer_of
from ..rawsig import signature
from .codes import CODES, HINTS
from .lines import Plan, arrange, candidates, hides, line_test, relied_on

_BACKSLASH = ord("\\")  # ``int in bytes`` is a memchr; most lines hold no escape at all
DEFAULT_ALLOWED_DOMAINS = (
    "example.com", "example.org", "example.net", "example.edu", "example", "test", "invalid", "localhost",
    "domain.com", "yourdomain.com", "yourcompany.com", "company.com", "email.com",
)


class SensitiveValidator(Validator):
    """Secrets and personal data in any string of a record, reported only masked.

    Every string of the record is searched (message text, tool-call arguments, tool definitions,
    roles, names, and the keys of objects), whatever its schema. A finding names the kind, the
    JSON Pointer and the column, and shows the value masked; one finding per kind and string, and
    ``data.count`` says how many there were.
    """

    wants_signature = True
    name = "sensitive"
    codes: ClassVar[dict[str, Code]] = CODES
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "kinds": {
                "type": "array", "items": {"enum": list(redact.KINDS)}, "uniqueItems": True,
                "description": "the kinds to look for: " + ", ".join(redact.KINDS),
            },
            "allow_email_domains": {
                "type": "array", "items": {"type": "string"},
                "description": "addresses at these domains (and their subdomains) are placeholders, not personal data",
            },
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {"kinds": list(redact.KINDS), "allow_email_domains": list(DEFAULT_ALLOWED_DOMAINS)}

    def __init__(self, options: Mapping[str, Any], context: Any) -> None:
        super().__init__(options, context)
        chosen = set(self.options["kinds"])
        # a kind whose code this run does not report is not looked for
        self._kinds = [k for k, kind in redact.KINDS.items() if k in chosen and self.wants(kind.code)]
        self._domains = tuple(d.lower().lstrip("@.") for d in self.options["allow_email_domains"])
        self._reference = bool(getattr(context, "reference", False))
        tests = [(k, line_test(k, redact.KINDS[k])) for k in self._kinds]
        #: kinds whose prefilter says nothing about a raw line: every line may hold them
        self._always = [k for k, t in tests if t is None]
        self._tests: Plan = arrange(t for _, t in tests if t is not None)
        self._hides = hides(relied_on(redact.KINDS[k] for k, t in tests if t is not None))

    def _candidates(self, record: Record) -> list[str]:
        """The kinds the record's strings may hold, by the raw-line tests each kind's prefilter gives."""
        raw = record.raw
        # no line of its own (an element of a .json array), reference mode, or a character that
        # a line test relies on written as an escape (no ordinary JSON writer does that): all
        if not raw or self._reference:
            return self._kinds
        sig = record.signature
        if sig is None:
            sig = signature(record)
        if _BACKSLASH in raw and self._hides(raw, sig):
            return self._kinds
        found = candidates(self._tests, raw, sig)
        if self._always:
            found = [k for k in self._kinds if k in self._always or k in found]
        return found

    def check(self, record: Record) -> list[Finding]:
        kinds = self._candidates(record) if self._kinds else []
        if not kinds:
            return []
        # one search over all the record's strings at once before the walk that says where each
        # finding is: most candidate records hold nothing (they are joined by line breaks, which
        # only a private key block's pattern crosses, so nothing is lost at the seams)
        if not self._reference and not find_secrets("\n".join(_strings(record.value)), kinds):
            return []
        out: list[Finding] = []
        stack: list[tuple[Any, tuple[Any, ...]]] = [(record.value, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, str):
                if len(node) >= 6:
                    out.extend(self._scan(record, node, path, kinds))
            elif isinstance(node, dict):
                for k in node:
                    # a secret used as a key: reported at the member it names
                    if type(k) is str and len(k) >= 6:
                        out.extend(self._scan(record, k, (*path, k), kinds, key=True))
                stack.extend((v, (*path, k)) for k, v in reversed(list(node.items())))
            elif isinstance(node, list):
                stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
        return out

    def _scan(self, record: Record, text: str, path: tuple[Any, ...], kinds: list[str], key: bool = False) -> Iterator[Finding]:
        first: dict[str, tuple[int, str, str]] = {}
        counts: dict[str, int] = {}
        for m in find_secrets(text, kinds, reference=self._reference):
            if m.kind == "email" and self._allowed_email(text[m.start:m.end]):
                continue
            code = redact.KINDS[m.kind].code
            counts[code] = counts.get(code, 0) + 1
            first.setdefault(code, (m.start, m.kind, m.masked))
        for code, (start, kind, masked) in sorted(first.items()):
            n = counts[code]
            more = f" ({n} in this string)" if n > 1 else ""
            data: dict[str, Any] = {"kind": kind, "masked": masked, "column": start + 1, "count": n}
            if key:
                data["in"] = "key"
            where = " of the key" if key else ""
            yield self.finding(
                code, record, f"{redact.KINDS[kind].label} {masked} at column {start + 1}{where}{more}", pointer_of(path),
                hint=HINTS[code], data=data,
            )

    def _allowed_email(self, address: str) -> bool:
        domain = address.rsplit("@", 1)[-1].lower()
        if any(label.startswith("example") for label in domain.split(".")[:-1]):
            return True  # example-domain.com, mail.example.co.uk: illustrations, not people
        return any(domain == d or domain.endswith("." + d) for d in self._domains)


def _strings(value: Any) -> list[str]:
    """Every string in a parsed record (values and keys), in no particular order."""
    out: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is str:
            out.append(node)
        elif type(node) is dict:
            out.extend(node)
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return out
