"""The sensitive validator's tests on a record's raw line, derived from each kind's prefilter in ``redact.KINDS``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from ...redact import Kind
from ..rawsig import KEEP

#: characters a JSON writer spells one way only in a string (unless as a \u escape, or '/' as \/,
#: which ``hides`` looks for): printable ASCII but the quote and the backslash
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
_HIDDEN = b"\x00"  # what a run's characters become; no JSON line holds a raw NUL


#: the bytes a signature keeps, rarest in text first: a literal's rarest byte is tested first
_RARITY = b"QJZXzxVKWYBGPFMUH@%<_+/-kCDLNRSOTIEA'{}[]\xc3\xe2\xef0123456789\""


class LineTest(NamedTuple):
    """What a kind's prefilter says about a raw line.

    ``needles`` are (guard, signature part, line literal): a line passes when for one of them
    the signature holds the guard byte and the part (as Latin-1 text), and the line holds the
    literal; a part or literal that is empty is not tested. Every part holds ``core``, which is
    tested first when it is not empty.
    A ``run`` is (table, deleted from the signature, deleted from the line, what to find): the
    line passes when what is left holds the run's characters in a row, as many as it needs (the
    signature is not tested when its deletions are None). ``marker`` is the kind's marker byte.
    """

    kind: str
    core: str
    needles: tuple[tuple[int, str, bytes], ...]
    run: tuple[bytes, bytes | None, bytes, bytes] | None
    marker: int = -1  # a byte the line must hold before anything else is tested (-1: none)


def _kept(literal: bytes) -> bytes:
    """What a signature keeps of a literal: its bytes in ``KEEP``, still next to each other."""
    return bytes(b for b in literal if b in KEEP)


def _needle(literal: bytes) -> tuple[int, str, bytes]:
    """(guard, signature part, line literal) of a literal, see ``LineTest``."""
    part = _kept(literal)
    guard = min(part, key=_RARITY.index) if part else -1
    # a one-byte literal the signature keeps is in the line when it is in the signature
    return guard, part.decode("latin-1") if len(part) > 1 else "", b"" if part == literal and len(part) == 1 else literal


def line_test(name: str, kind: Kind) -> LineTest | None:
    """The kind's prefilter as a test on raw JSON lines, or None when it cannot be one (a literal
    or character a JSON writer may spell in more than one way): then every line may hold it."""
    if kind.marker and not set(kind.marker) <= _PLAIN:
        return None
    marker = ord(kind.marker) if kind.marker else -1
    needles: tuple[tuple[int, str, bytes], ...] = ()
    core = ""
    if kind.needles:
        if any(not set(n) <= _PLAIN for n in kind.needles):
            return None
        literals = [n.encode("ascii") for n in kind.needles]
        needles = tuple(_needle(b) for b in literals)
        core = _common([part for _, part, _ in needles]) if len(needles) > 1 else ""
    run = kind.run
    if run is None:
        return LineTest(name, core, needles, None, marker) if needles else None
    if not set(run.chars + run.separators) <= _PLAIN:
        return LineTest(name, core, needles, None, marker) if needles else None
    chars = run.chars.encode("ascii")
    separators = run.separators.encode("ascii")
    table = bytes.maketrans(chars, _HIDDEN * len(chars))
    # the signature deletes what is not in KEEP, so a run there is made of the characters and
    # the kept separators; with a character the signature drops, only the line can tell
    sig_delete = bytes(b for b in separators if b in KEEP) if set(chars) <= set(KEEP) else None
    return LineTest(name, core, needles, (table, sig_delete, separators, _HIDDEN * run.length), marker)


class Group(NamedTuple):
    """Line tests that share one run test: when a line fails it, none of them is tried. The
    members keep their needles and marker (their run is the group's)."""

    run: tuple[bytes, bytes | None, bytes, bytes]
    members: tuple[LineTest, ...]


def plan(tests: Iterable[LineTest]) -> list[LineTest | Group]:
    """The tests with those that share a run test grouped under it (dozens of token kinds share
    one), the others alone, for ``arrange``."""
    out: list[LineTest | Group] = []
    where: dict[tuple[bytes, bytes | None, bytes, bytes], int] = {}
    for test in tests:
        if test.run is None:
            out.append(test)
            continue
        member = test._replace(run=None)
        i = where.get(test.run)
        if i is None:
            where[test.run] = len(out)
            out.append(Group(test.run, (member,)))
        else:
            group = out[i]
            assert isinstance(group, Group)
            out[i] = Group(group.run, (*group.members, member))
    return out


def _common(parts: list[str]) -> str:
    """The longest string of two or more characters that every part holds, or ""."""
    first = min(parts, key=len)
    for size in range(len(first), 1, -1):
        for i in range(len(first) - size + 1):
            if all(first[i:i + size] in p for p in parts):
                return first[i:i + size]
    return ""


def relied_on(kinds: Iterable[Kind]) -> set[str]:
    """The characters the line tests of these kinds look for: a \\u escape of one hides it."""
    out: set[str] = set()
    for kind in kinds:
        out.update(*kind.needles, kind.marker)
        if kind.run is not None:
            out.update(kind.run.chars, kind.run.separators)
    return out & _PLAIN


class Hides(NamedTuple):
    """How a raw line may hide what the line tests look for: a \\u escape of one of the characters
    (``escapes``), or '/' written as \\/ (``slash``)."""

    escapes: re.Pattern[bytes] | None
    slash: bool

    def __call__(self, raw: bytes, sig: bytes) -> bool:
        # the signature keeps '0' and '/' (not the backslash or 'u'): "\\u00" in the line leaves
        # "00" in it, and "\\/" a '/'; testing the short signature first spares most lines the
        # two searches of the whole line
        escapes = self.escapes
        return ((escapes is not None and b"00" in sig and raw.find(b"\\u00") >= 0 and escapes.search(raw) is not None)
                or (self.slash and b"/" in sig and raw.find(b"\\/") >= 0))


def hides(chars: set[str]) -> Hides:
    """The ``Hides`` test for the characters ``chars``."""
    codes = "|".join(sorted(f"{ord(c):02x}" for c in chars))
    escapes = re.compile(rb"\\u00(?i:" + codes.encode("ascii") + rb")") if chars else None
    return Hides(escapes, "/" in chars)


def _any_needle(needles: tuple[tuple[int, str, bytes], ...], raw: bytes, sig: bytes, text: str) -> bool:
    """Does the line pass one of several needle tests (see ``LineTest``)? ``text``: the signature
    as Latin-1 text, or "" when it is not made yet."""
    heads: dict[bytes, bool] = {}  # literals that start alike are ruled out by one scan for their start
    for guard, part, literal in needles:
        if guard >= 0 and guard not in sig:
            continue
        if part:
            text = text or sig.decode("latin-1")
            if part not in text:
                continue
        if not literal:
            return True
        head = literal[:2]
        if heads.setdefault(head, raw.find(head) >= 0) and raw.find(literal) >= 0:
            return True
    return False


class Plan(NamedTuple):
    """The line tests as ``candidates`` tries them, cheapest first.

    ``guarded`` are the tests without a run or a marker whose every needle has a guard byte:
    none of them passes when the signature holds none of those bytes (``guards`` turns them, and
    only them, into NUL bytes: one translation and one memchr tell). ``plain`` are the other tests without a run.
    ``sig_runs`` are the groups whose run the signature can rule out, by (table, deleted from
    the signature) and then shortest run first: the signature's translation is made once, and
    when it lacks a run it lacks every longer one. ``line_runs`` are the groups only the line
    can tell.
    """

    guards: bytes
    guarded: tuple[LineTest, ...]
    plain: tuple[LineTest, ...]
    sig_runs: tuple[tuple[bytes, bytes, tuple[tuple[bytes, bytes, tuple[LineTest, ...]], ...]], ...]
    line_runs: tuple[Group, ...]


def arrange(tests: Iterable[LineTest | Group]) -> Plan:
    """The ``Plan`` of tests as ``plan`` groups them."""
    guarded: list[LineTest] = []
    plain: list[LineTest] = []
    by_table: dict[tuple[bytes, bytes], list[tuple[bytes, bytes, tuple[LineTest, ...]]]] = {}
    line_runs: list[Group] = []
    for test in tests:
        if isinstance(test, LineTest):
            unguarded = test.marker >= 0 or not test.needles or any(g < 0 for g, _, _ in test.needles)
            (plain if unguarded else guarded).append(test)
            continue
        table, sig_delete, line_delete, need = test.run
        if sig_delete is None:
            line_runs.append(test)
        else:
            by_table.setdefault((table, sig_delete), []).append((need, line_delete, test.members))
    marked = {g for test in guarded for g, _, _ in test.needles}
    guards = bytes(0 if b in marked else 1 for b in range(256))
    sig_runs = tuple((table, sig_delete, tuple(sorted(steps, key=lambda s: len(s[0]))))
                     for (table, sig_delete), steps in by_table.items())
    return Plan(guards, tuple(guarded), tuple(plain), sig_runs, tuple(line_runs))


def candidates(tests: Plan, raw: bytes, sig: bytes) -> list[str]:
    """The kinds whose line test the raw line (and its signature ``sig``) passes; ``tests`` as
    ``arrange`` orders them."""
    # the short signature is tested first (a byte with ``int in bytes``, a part in its Latin-1
    # text, both faster than ``bytes.find``), and the line, ten times longer, only on a hit
    found: list[str] = []
    text = ""
    if tests.guarded and 0 in sig.translate(tests.guards):
        text = _needles(tests.guarded, raw, sig, text, found)
    if tests.plain:
        text = _needles(tests.plain, raw, sig, text, found)
    for table, sig_delete, steps in tests.sig_runs:
        short = sig.translate(table, sig_delete)
        for need, line_delete, members in steps:
            if short.find(need) < 0:
                break  # no run this long, so none longer
            if raw.translate(table, line_delete).find(need) >= 0:
                text = _needles(members, raw, sig, text, found)
    for group in tests.line_runs:
        table, _, line_delete, need = group.run
        if raw.translate(table, line_delete).find(need) >= 0:
            text = _needles(group.members, raw, sig, text, found)
    return found


def _needles(tests: Iterable[LineTest], raw: bytes, sig: bytes, text: str, found: list[str]) -> str:
    """Add to ``found`` the kinds whose marker and needle tests the line passes (a test with
    neither passes); returns the signature's Latin-1 text if it was made (else ``text``)."""
    for kind, core, needles, _, marker in tests:
        if marker >= 0 and marker not in raw:
            continue
        if not needles:
            found.append(kind)
            continue
        if core:
            text = text or sig.decode("latin-1")
            if core not in text:
                continue
        if len(needles) > 1:
            if _any_needle(needles, raw, sig, text):
                found.append(kind)
            continue
        guard, part, literal = needles[0]
        if guard >= 0 and guard not in sig:
            continue
        if part:
            text = text or sig.decode("latin-1")
            if part not in text:
                continue
        if not literal or raw.find(literal) >= 0:
            found.append(kind)
    return text
