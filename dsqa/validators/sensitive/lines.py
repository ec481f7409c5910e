"""The sensitive validator's tests on a record's raw line, derived from each kind's prefilter in ``redact.KINDS``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from os.path import commonprefix
from typing import NamedTuple

from ...redact import KINDS, Kind
from ..rawsig import KEEP

#: characters a JSON writer spells one way only in a string (unless as a \u escape): printable
#: ASCII but the quote, the backslash and '/' (which may be written \/)
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\", "/"}
_HIDDEN = b"\x00"  # what a run's characters become; no JSON line holds a raw NUL


class LineTest(NamedTuple):
    """What a kind's prefilter says about a raw line: ``needles`` are (signature part, line
    literal) pairs, and a line passes when for one of them the signature holds the part and the
    line the literal; a ``run`` is (table, deleted from the signature, deleted from the line),
    and the line passes when what is left holds the run's characters in a row, as many as the
    last item (the signature is not tested when its deletions are None)."""

    kind: str
    prefix: bytes
    needles: tuple[tuple[bytes, bytes], ...]
    run: tuple[bytes, bytes | None, bytes, bytes] | None


def _kept(literal: bytes) -> bytes:
    """What a signature keeps of a literal: its bytes in ``KEEP``, still next to each other."""
    return bytes(b for b in literal if b in KEEP)


def line_test(name: str, kind: Kind) -> LineTest | None:
    """The kind's prefilter as a test on raw JSON lines, or None when it cannot be one (a literal
    or character a JSON writer may spell in more than one way): then every line may hold it."""
    if kind.needles:
        if any(not set(n) <= _PLAIN for n in kind.needles):
            return None
        literals = [n.encode("ascii") for n in kind.needles]
        prefix = commonprefix(literals) if len(literals) > 1 else b""
        # a one-byte literal the signature keeps is in the line when it is in the signature
        pairs = tuple((_kept(b), b"" if _kept(b) == b and len(b) == 1 else b) for b in literals)
        return LineTest(name, prefix if len(prefix) > 1 else b"", pairs, None)
    run = kind.run
    if run is None or not set(run.chars + run.separators) <= _PLAIN:
        return None
    chars = run.chars.encode("ascii")
    separators = run.separators.encode("ascii")
    table = bytes.maketrans(chars, _HIDDEN * len(chars))
    # the signature deletes what is not in KEEP, so a run there is made of the characters and
    # the kept separators; with a character the signature drops, only the line can tell
    sig_delete = bytes(b for b in separators if b in KEEP) if set(chars) <= set(KEEP) else None
    return LineTest(name, b"", (), (table, sig_delete, separators, _HIDDEN * run.length))


def relied_on(names: Iterable[str]) -> set[str]:
    """The characters the line tests of these kinds look for: a \\u escape of one hides it."""
    out: set[str] = set()
    for name in names:
        kind = KINDS[name]
        out.update(*kind.needles)
        if kind.run is not None:
            out.update(kind.run.chars, kind.run.separators)
    return out & _PLAIN


def escape_pattern(chars: set[str]) -> re.Pattern[bytes] | None:
    """A \\u escape of one of ``chars`` in a raw line (the hex digits in either case)."""
    if not chars:
        return None
    codes = "|".join(sorted(f"{ord(c):02x}" for c in chars))
    return re.compile(rb"\\u00(?i:" + codes.encode("ascii") + rb")")


def candidates(tests: Iterable[LineTest], raw: bytes, sig: bytes) -> list[str]:
    """The kinds whose line test the raw line (and its signature ``sig``) passes."""
    found = []
    for kind, prefix, needles, run in tests:
        if run is not None:
            table, sig_delete, line_delete, need = run
            if sig_delete is None or sig.translate(table, sig_delete).find(need) >= 0:
                if raw.translate(table, line_delete).find(need) >= 0:
                    found.append(kind)
            continue
        if prefix and raw.find(prefix) < 0:
            continue
        for part, literal in needles:
            if (not part or sig.find(part) >= 0) and (not literal or raw.find(literal) >= 0):
                found.append(kind)
                break
    return found
