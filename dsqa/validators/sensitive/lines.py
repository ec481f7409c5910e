"""The sensitive validator's tests on a record's raw line, derived from each kind's prefilter in ``redact.KINDS``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from ...redact import Kind
from ..rawsig import KEEP

#: characters a JSON writer spells one way only in a string (unless as a \u escape, or '/' as \/,
#: which ``hides`` looks for): printable ASCII but the quote and the backslash
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}

#: the bytes a signature keeps, rarest in text first: a literal's rarest byte is tested first
_RARITY = b"QJZXzxVKWYBGPFMUH@%<_+/-kCDLNRSOTIEA'{}[]\xc3\xe2\xef0123456789\""


class Needle(NamedTuple):
    """One literal of a kind's needles as a test on a raw line: the line's signature holds
    ``guard`` (the literal's rarest byte that the signature keeps; -1: it keeps none) and ``part``
    (what the signature keeps of the literal, when that is two bytes or more; else b""), and the
    line holds ``literal`` (b"" when the guard tells: a one-byte literal the signature keeps).
    ``at``: where the guard is in the literal."""

    kind: str
    guard: int
    part: bytes
    literal: bytes
    at: int


class RunTest(NamedTuple):
    """A kind's run as a test on bytes. ``table`` turns the run's characters into NUL bytes and
    every other byte into 1; with the separators deleted (``sig_delete`` from the signature, None
    when the signature cannot tell: a character of the run it drops; ``line_delete`` from the
    line) the bytes hold ``need``, as many NULs as the run needs. A run ends before a 1 or at the
    end, so the bytes hold ``ended`` (``need`` and a 1) or end with ``need``: a search for a
    needle that ends in the rarer byte, which is faster than one for ``need`` alone."""

    table: bytes
    sig_delete: bytes | None
    line_delete: bytes
    need: bytes
    ended: bytes


class LineTest(NamedTuple):
    """What a kind's prefilter says about a raw line: the line passes one of the ``needles``
    (every one passes when there are none), holds the ``run`` (when there is one) and holds the
    ``marker`` byte (-1: none)."""

    kind: str
    needles: tuple[Needle, ...]
    run: RunTest | None
    marker: int = -1


def _kept(literal: bytes) -> bytes:
    """What a signature keeps of a literal: its bytes in ``KEEP``, still next to each other."""
    return bytes(b for b in literal if b in KEEP)


def _needle(kind: str, literal: bytes) -> Needle:
    """The ``Needle`` of one literal of a kind."""
    part = _kept(literal)
    if not part:
        return Needle(kind, -1, b"", literal, 0)
    guard = min(part, key=_RARITY.index)
    # a one-byte literal the signature keeps is in the line when it is in the signature
    return Needle(kind, guard, part if len(part) > 1 else b"", b"" if literal == part and len(part) == 1 else literal,
                  literal.index(guard))


@functools.lru_cache(maxsize=None)
def _run_test(chars: str, separators: str, length: int) -> RunTest:
    """The ``RunTest`` of a run of ``length`` of ``chars`` once ``separators`` are taken out."""
    table = bytes(0 if chr(b) in chars else 1 for b in range(256))
    # the signature deletes what is not in KEEP, so a run there is made of the characters and
    # the kept separators; with a character the signature drops, only the line can tell
    kept = set(chars.encode("ascii")) <= set(KEEP)
    sig_delete = bytes(b for b in separators.encode("ascii") if b in KEEP) if kept else None
    need = b"\0" * length
    return RunTest(table, sig_delete, separators.encode("ascii"), need, need + b"\1")


def line_test(name: str, kind: Kind) -> LineTest | None:
    """The kind's prefilter as a test on raw JSON lines, or None when it cannot be one (a literal
    or character a JSON writer may spell in more than one way): then every line may hold it."""
    if kind.marker and not set(kind.marker) <= _PLAIN:
        return None
    marker = ord(kind.marker) if kind.marker else -1
    if any(not set(n) <= _PLAIN for n in kind.needles):
        return None
    needles = tuple(_needle(name, n.encode("ascii")) for n in kind.needles)
    run = kind.run
    if run is not None and set(run.chars + run.separators) <= _PLAIN:
        return LineTest(name, needles, _run_test(run.chars, run.separators, run.length), marker)
    # a run the line cannot show is not tested: the needles still are
    return LineTest(name, needles, None, marker) if needles else None


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


class Index(NamedTuple):
    """The marker and needle tests of several kinds, arranged so that one look for a guard byte
    in the signature rules out every needle it guards (see ``passed``)."""

    bare: tuple[str, ...]  # kinds without needles
    guarded: tuple[tuple[int, tuple[Needle, ...]], ...]  # the needles by guard byte, rarest first
    free: tuple[Needle, ...]  # needles without a guard: only a search of the line tells
    markers: tuple[tuple[str, int], ...]  # (kind, the byte the line must hold)


def index(tests: Iterable[LineTest]) -> Index:
    """The ``Index`` of these tests (their runs aside)."""
    tests = list(tests)
    by_guard: dict[int, list[Needle]] = {}
    for test in tests:
        for needle in test.needles:
            by_guard.setdefault(needle.guard, []).append(needle)
    free = tuple(by_guard.pop(-1, ()))
    guarded = tuple((g, tuple(by_guard[g])) for g in sorted(by_guard, key=_RARITY.index))
    return Index(tuple(t.kind for t in tests if not t.needles), guarded, free,
                 tuple((t.kind, t.marker) for t in tests if t.marker >= 0))


#: a guard byte that the signature counts more than once per this many bytes of the line is too
#: common to look at each of its places: the line is searched for the literal instead
_PER_BYTES = 256


def _holds(raw: bytes, sig: bytes, needle: Needle) -> bool:
    """Does the line hold the needle's literal? Its guard byte is kept by the signature, which so
    counts the guard's places in the line: when they are few, only those are compared (a search
    for one byte is a memchr, many times faster than one for several)."""
    _, guard, _, literal, at = needle
    if sig.count(guard) * _PER_BYTES > len(raw):
        return raw.find(literal) >= 0
    i = raw.find(guard, at)
    while i >= 0:
        if raw.startswith(literal, i - at):
            return True
        i = raw.find(guard, i + 1)
    return False


def passed(tests: Index, raw: bytes, sig: bytes, found: list[str]) -> None:
    """Add to ``found`` the kinds of ``tests`` whose marker (if any) the line holds and that have no
    needles or pass one of them."""
    done: set[str] = set()  # the kinds decided
    if tests.markers:
        done.update(kind for kind, marker in tests.markers if marker not in raw)
    for kind in tests.bare:
        if kind not in done:
            found.append(kind)
            done.add(kind)
    for guard, needles in tests.guarded:
        if guard in sig:
            for needle in needles:
                kind = needle.kind
                if (kind not in done and (not needle.part or sig.find(needle.part) >= 0)
                        and (not needle.literal or _holds(raw, sig, needle))):
                    found.append(kind)
                    done.add(kind)
    for needle in tests.free:
        if needle.kind not in done and raw.find(needle.literal) >= 0:
            found.append(needle.kind)
            done.add(needle.kind)


class Plan(NamedTuple):
    """The line tests as ``candidates`` tries them, cheapest first.

    ``guards`` turns into NUL bytes the guard bytes of ``guarded``, the tests without a run or a
    marker whose every needle has a guard byte: none of them passes when the signature holds
    none of those bytes (one translation and one memchr tell). ``plain`` are the other tests
    without a run, each with its marker byte (-1: none). ``sig_runs`` are the tests whose run the
    signature can rule out, by (table, deleted from the signature, the shortest run) and then
    shortest run first: the signature's translation is made once, and when it lacks a run it
    lacks every longer one.
    ``line_runs`` are the tests only the line can rule out, by run; tests that share a run share
    one test of it. ``closers``: last bytes of a line that no run holds (the '}' of an object):
    every run of such a line ends before a 1, in the line and in its signature.
    """

    guards: bytes
    guarded: Index
    plain: tuple[tuple[int, Index], ...]
    sig_runs: tuple[tuple[bytes, bytes, RunTest, tuple[tuple[RunTest, Index], ...]], ...]
    line_runs: tuple[tuple[RunTest, Index], ...]
    closers: frozenset[int]


def arrange(tests: Iterable[LineTest]) -> Plan:
    """The ``Plan`` of these tests."""
    guarded: list[LineTest] = []
    plain: list[tuple[int, Index]] = []
    by_run: dict[RunTest, list[LineTest]] = {}
    for test in tests:
        if test.run is not None:
            by_run.setdefault(test.run, []).append(test)
        elif test.marker >= 0 or not test.needles or any(n.guard < 0 for n in test.needles):
            plain.append((test.marker, index([test._replace(marker=-1)])))
        else:
            guarded.append(test)
    marked = {n.guard for test in guarded for n in test.needles}
    guards = bytes(0 if b in marked else 1 for b in range(256))
    by_table: dict[tuple[bytes, bytes], list[tuple[RunTest, Index]]] = {}
    line_runs: list[tuple[RunTest, Index]] = []
    for run, members in by_run.items():
        if run.sig_delete is None:
            line_runs.append((run, index(members)))
        else:
            by_table.setdefault((run.table, run.sig_delete), []).append((run, index(members)))
    ordered = {key: sorted(steps, key=lambda s: len(s[0].need)) for key, steps in by_table.items()}
    sig_runs = tuple((table, sig_delete, steps[0][0], tuple(steps)) for (table, sig_delete), steps in ordered.items())
    # a closer is kept by the signature, so it ends the signature too
    closers = frozenset(b for b in b'}]"' if b in KEEP and all(run.table[b] and b not in run.line_delete for run in by_run))
    return Plan(guards, index(guarded), tuple(plain), sig_runs, tuple(line_runs), closers)


def candidates(tests: Plan, raw: bytes, sig: bytes) -> list[str]:
    """The kinds whose line test the raw line (and its signature ``sig``) passes; ``tests`` as
    ``arrange`` orders them."""
    # the short signature is tested first, and the line, fifteen times longer, only on a hit
    found: list[str] = []
    open_end = raw[-1] not in tests.closers
    if 0 in sig.translate(tests.guards):
        passed(tests.guarded, raw, sig, found)
    for marker, needles in tests.plain:
        if marker < 0 or marker in raw:
            passed(needles, raw, sig, found)
    for table, sig_delete, shortest, steps in tests.sig_runs:
        short = sig.translate(table, sig_delete)
        if short.find(shortest.ended) < 0 and not (open_end and short.endswith(shortest.need)):
            continue  # the commonest answer: no run even as long as the shortest
        for run, members in steps:
            if short.find(run.ended) < 0 and not (open_end and short.endswith(run.need)):
                break  # no run this long, so none longer
            line = raw.translate(table, run.line_delete)
            if line.find(run.ended) >= 0 or (open_end and line.endswith(run.need)):
                passed(members, raw, sig, found)
    for run, members in tests.line_runs:
        line = raw.translate(run.table, run.line_delete)
        if line.find(run.ended) >= 0 or (open_end and line.endswith(run.need)):
            passed(members, raw, sig, found)
    return found
