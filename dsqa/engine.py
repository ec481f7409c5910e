"""Run every enabled validator over each dataset in one streaming pass and build the report."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import GeneratorType
from typing import Any

from ._version import __version__
from .config import Config, load_config
from .fingerprint import stamp, stamp_late
from .formats import CHAT, PREFERENCE, detect_format
from .model import DatasetResult, Finding, Record, Report, Severity
from .pairing import expand
from .progress import Progress
from .inputs import Inputs
from .reading import WRONG_KIND, crlf_finding, file_kind, read_records
from .safetext import mask_finding, mask_stats
from .spans import Span, map_spans, split_lines
from .stats import DatasetStats
from .validators import DatasetContext, Validator
from .validators.internal import ENGINE
from .validators.rawsig import signature

#: below this size a file is checked in-process: starting workers would cost more than it saves
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
#: spans per worker, so that a slow part of the file does not leave the other workers idle
SPANS_PER_JOB = 4
#: records are read into batches of at most this many records and bytes, and each validator then
#: checks a whole batch: running one validator's code many times in a row is faster than
#: switching between ten validators for every record
BATCH_RECORDS = 256
BATCH_BYTES = 4 * 1024 * 1024


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _crash(validator: Validator, record: Record | None, exc: BaseException, path: str) -> Finding:
    what = f"{type(exc).__name__}: {exc}"
    if len(what) > 200:
        what = what[:199] + "…"
    return Finding(
        "DSQ001", Severity.ERROR, f"validator {validator.name!r} failed: {what}", ENGINE, path,
        record.line if record is not None else None, None, "this is a bug in the validator; please report it",
    )


def _count(finding: Finding) -> int:
    """How many times the finding's problem occurs (its ``data.count`` when it has one, else once)."""
    n = finding.data.get("count") if finding.data else None
    return n if type(n) is int and n >= 1 else 1


def _place(finding: Finding) -> tuple[int, ...]:
    """The array indexes on a finding's way into its record: "/messages/2/..." comes before
    "/messages/10/..."; between keys the validator's own order stands (``min`` keeps the first)."""
    if not finding.pointer:
        return ()
    return tuple(int(p) if p.isdigit() else -1 for p in finding.pointer.split("/")[1:])


def _folded(group: list[Finding]) -> Finding:
    first = min(group, key=_place)
    total = sum(map(_count, group))
    data = dict(first.data or {})
    data["count"] = total
    more = total - _count(first)
    return replace(first, message=f"{first.message} (and {more:,} more in this record)", data=data)


def fold_repeats(findings: list[Finding]) -> list[Finding]:
    """One finding per line and code among what a validator found in one record: the first,
    standing for the others.

    A record with the same problem in many places (every message with the same bad key) gets
    one finding, at the first place, with "(and N more in this record)" and ``data.count``, how
    many times in all. Findings about the whole file (no line) are left as they are.
    """
    groups: dict[tuple[int, str], list[Finding]] = {}
    located = 0
    for f in findings:
        if f.line is not None:
            located += 1
            groups.setdefault((f.line, f.code), []).append(f)
    if len(groups) == located:  # nothing repeats
        return findings
    out = []
    for f in findings:
        if f.line is None:
            out.append(f)
            continue
        group = groups.pop((f.line, f.code), None)
        if group is not None:  # else it was folded into the first of its group
            out.append(group[0] if len(group) == 1 else _folded(group))
    return out


def _counted(records: Iterator[Record], progress: Progress) -> Iterator[Record]:
    """``records``, telling ``progress`` how far they go every 256 records and at the end."""
    pending = pending_bytes = 0
    for record in records:
        yield record
        # counted once the pass is done with the record: a source record's bytes are then those
        # of its conversion, as the pass checks them
        pending += 1
        pending_bytes += len(record.raw) + 1
        if pending == 256:
            progress.advance(pending, pending_bytes)
            pending = pending_bytes = 0
    if pending:
        progress.advance(pending, pending_bytes)


@dataclass
class _Pass:
    """One streaming pass of the validators over a file or a span of it."""

    validators: list[Validator]
    config: Config
    findings: list[Finding] = field(default_factory=list)
    records: int = 0
    first_format: tuple[str | None, int] | None = None
    crlf: list[Finding] = field(default_factory=list)
    progress: Progress | None = None
    #: the file is not JSONL at all (RDR010): its one finding says so, and no rule has anything to say
    wrong_kind: bool = False
    #: mask secrets in findings with no prefilter (``check(reference=True)``)
    reference: bool = False
    #: the file's records are in a source format checked in place (see dsqa.sourcemap)
    source_map: Any = None
    #: the file is a JSON array: a finding on one of its records names it (``data.record``, from 0),
    #: since several records may start on one line
    array: bool = False

    def emit(self, findings: Any, record: Record | None = None) -> None:
        """Keep what one validator found (in ``record``, or at the end): the one way into the report.

        Every finding is filtered by the config, a record's findings are folded to one per code,
        and every finding has its secrets masked here, whatever validator made it.
        """
        apply = self.config.apply
        kept = [k for k in map(apply, findings) if k is not None]
        # only one record's findings fold: records of a one-line JSON array all have line 1, and
        # what ``finish`` reports (duplicates, leakage) relates records to each other
        if record is not None and len(kept) > 1:
            kept = fold_repeats(kept)
        out = self.findings
        reference = self.reference
        for f in kept:
            f = mask_finding(f, reference=reference)
            if record is not None and f.line == record.line:
                f = stamp(f, record)
                if self.array and record.index >= 0:
                    f = replace(f, data={**(f.data or {}), "record": record.index})
            out.append(f)

    def run(self, path: Path, display: str, span: Span | None) -> None:
        """Read the file (or ``span`` of it) and check its records in batches."""
        forced = self.config.data_format
        max_line = self.config.options("reader")["max_line_bytes"]
        progress = self.progress
        batch: list[Record] = []
        batch_bytes = 0
        sign = any(v.wants_signature for v in self.validators)
        mapper = self.source_map
        records = read_records(path, display, max_line_bytes=max_line, span=span, reference=self.reference)
        if progress is not None:
            records = _counted(records, progress)
        for record in records:
            if mapper is not None and record.value is not None:
                mapper.apply(record)  # the record as `dsqa convert` writes it, or a finding saying why not
            if record.problems:
                self.keep_problems(record, span)
            if record.index < 0:
                continue
            self.records += 1
            if record.value is not None:
                if mapper is None:
                    detected = detect_format(record.value)
                    # a record that plainly is another format stays that format, so FMT002 can say so
                    record.format = forced if forced and detected in (None, forced) else detected
                if self.first_format is None:
                    self.first_format = (record.format, record.line)
            if sign and record.raw:
                signature(record)
            batch.append(record)
            batch_bytes += len(record.raw)
            if len(batch) >= BATCH_RECORDS or batch_bytes >= BATCH_BYTES:
                self.check_batch(batch, display)
                batch = []
                batch_bytes = 0
        self.check_batch(batch, display)

    def keep_problems(self, record: Record, span: Span | None) -> None:
        """Keep what the reader found in a record (a span's CRLF finding waits to be summed per file)."""
        if span is not None and record.problems[0].code == "RDR004":
            self.crlf.extend(record.problems)  # one per span; the engine sums them per file
        else:
            self.wrong_kind = self.wrong_kind or record.problems[0].code == WRONG_KIND
            self.emit(record.problems, record)

    def check_batch(self, batch: list[Record], display: str) -> None:
        """Run each validator over the batch in turn (its code and data stay in the CPU caches)."""
        for v in self.validators:
            every = v.wants_invalid
            check = v.check
            for record in batch:
                if record.value is None and not every:
                    continue
                try:
                    found = check(record)
                    # most records have nothing to say: a generator (always true) is drained here
                    # so that an empty one skips ``emit``, which costs more than the draining
                    if type(found) is GeneratorType:
                        found = list(found)
                    if found:
                        self.emit(found, record)
                except Exception as exc:  # one bad validator must not lose the other findings
                    self.emit((_crash(v, record, exc, display),))


def _runs(config: Config, name: str, cls: type[Validator]) -> bool:
    """Whether the validator ``name`` takes part in a run: enabled, and some use for it.

    A validator runs when one of its codes is reported (selected and not ignored), or when it
    publishes stats (``Validator.publishes``): the reports show them (token totals and cost,
    duplicate counts, diversity) whatever is ignored. ``validators.NAME.enabled: false`` turns
    off both its findings and its stats.
    """
    if name in ("reader", ENGINE) or not config.enabled(name):
        return False
    return bool(cls.publishes) or any(config.reports(code) for code in cls.codes)


def _running(config: Config) -> list[str]:
    """The names of the validators that run, in registry order."""
    return [name for name, cls in config.registry.items() if _runs(config, name, cls)]


def _make_validators(config: Config, context: DatasetContext) -> list[Validator]:
    return [config.registry[name](config.options(name), context) for name in _running(config)]


def _run_span(path: Path, display: str, context: DatasetContext, config: Config, span: Span) -> _Pass:
    run = _Pass(_make_validators(config, context), config, reference=context.reference, source_map=context.source_map)
    run.run(path, display, span)
    return run


def _first_format(path: Path, display: str, config: Config) -> tuple[str | None, int] | None:
    """The format and line of the first parsable record, read before the file is split."""
    max_line = config.options("reader")["max_line_bytes"]
    forced = config.data_format
    for record in read_records(path, display, max_line_bytes=max_line):
        if record.value is not None:
            detected = detect_format(record.value)
            return (forced if forced and detected in (None, forced) else detected, record.line)
    return None


def _parallel(
    path: Path, display: str, context: DatasetContext, config: Config, jobs: int, progress: Progress | None = None
) -> _Pass | None:
    spans = split_lines(path, jobs * SPANS_PER_JOB)
    if len(spans) < 2:
        return None
    first = _first_format(path, display, config) if context.source_map is None else None
    context = replace(context, first_format=first)
    # built once here so that what validators load on creation (vocabularies, compiled schemas)
    # is loaded before the fork and shared by every worker, and setup errors surface here
    _make_validators(config, context)

    def done(span: Span, part: _Pass) -> None:
        if progress is not None:
            progress.advance(part.records, span.end - span.start)

    parts = map_spans(partial(_run_span, path, display, context, config), spans, jobs, done)
    head = parts[0]
    for part in parts[1:]:
        for mine, theirs in zip(head.validators, part.validators):
            try:
                mine.merge(theirs)
            except Exception as exc:
                head.emit((_crash(mine, None, exc, display),))
        head.findings.extend(part.findings)
        head.records += part.records
        head.crlf.extend(part.crlf)
    head.first_format = first
    if head.crlf:
        total = sum(f.data["lines"] for f in head.crlf if f.data)
        head.emit((crlf_finding(display, min(f.line or 1 for f in head.crlf), total),))
    return head


def _check_dataset(
    path: Path, display: str, role: str, config: Config, jobs: int, progress: Progress | None = None,
    peers: dict[str, list[Validator]] | None = None, reference: bool = False, mapping: Mapping[str, str] | None = None,
) -> tuple[DatasetResult, list[Finding]]:
    source_map = _source_map(path, display, config, mapping or {})
    context = DatasetContext(
        path=display, role=role, data_format=config.data_format if source_map is None else None,
        model=config.model, epochs=config.epochs, reference_date=config.reference_date, reference=reference,
        enabled=config.reported_codes(), source_map=source_map, array=file_kind(path, display).array,
    )
    run = _read(path, display, context, config, jobs, progress)
    if run.wrong_kind:
        return DatasetResult(display, None, 0, {}, role), run.findings
    stats = _finish(run, display, role, peers)
    fmt = config.data_format or (run.first_format[0] if run.first_format else None)
    stats = mask_stats(stats, reference=reference)  # type: ignore[arg-type, assignment]
    findings = run.findings
    if source_map is not None:
        fmt = source_map.source
        if source_map.kind is not None:
            stats["checked_as"] = source_map.kind
        findings = _relocated(source_map, path, display, findings, reference)
    return DatasetResult(display, fmt, run.records, stats, role), stamp_late(path, display, findings)


def _read(
    path: Path, display: str, context: DatasetContext, config: Config, jobs: int, progress: Progress | None
) -> _Pass:
    """Read the file and check every record: in worker processes when it is large plain JSONL."""
    run: _Pass | None = None
    size = path.stat().st_size if path.is_file() else 0
    if progress is not None:
        progress.start(display, size)
    if jobs > 1 and size >= PARALLEL_MIN_BYTES and file_kind(path, display) == (False, None):  # plain JSONL
        run = _parallel(path, display, context, config, jobs, progress)
    if run is None:
        run = _Pass(
            _make_validators(config, context), config, progress=progress, reference=context.reference,
            source_map=context.source_map, array=context.array,
        )
        run.run(path, display, None)
    if progress is not None:
        progress.read_all()
    return run


def _finish(run: _Pass, display: str, role: str, peers: dict[str, list[Validator]] | None) -> DatasetStats:
    """Run each validator's dataset-level checks and gather the stats they publish."""
    stats: DatasetStats = {}
    for v in run.validators:
        try:
            # cross-file checks (leakage): ``peers`` holds the earlier files' validators that
            # define ``link``; a later split's validator of the same name sees them first
            if peers is not None and role != "train" and v.name in peers:
                v.link(peers[v.name])
            run.emit(v.finish())
        except Exception as exc:
            run.emit((_crash(v, None, exc, display),))
        stats.update(v.metrics)
        if peers is not None and type(v).link is not Validator.link:
            peers.setdefault(v.name, []).append(v)
    return stats


def _relocated(source_map: Any, path: Path, display: str, findings: list[Finding], reference: bool) -> list[Finding]:
    """Findings of a file checked in place, with their pointers moved into the source records."""
    from .sourcemap import relocate

    # pointers, excerpts and fingerprints now come from the source record: mask them again
    return [mask_finding(f, reference=reference) for f in relocate(source_map, path, display, findings)]


def _source_map(path: Path, display: str, config: Config, mapping: Mapping[str, str]) -> Any:
    """How the file's records are converted before they are checked, or None (an OpenAI format)."""
    if config.data_format in (CHAT, PREFERENCE):
        return None
    from .sourcemap import for_file

    return for_file(path, display, config.data_format, mapping, config.options("reader")["max_line_bytes"])


def check(
    paths: Sequence[str | Path],
    config: Config | None = None,
    *,
    validation: Sequence[str | Path] = (),
    splits: Sequence[tuple[str, str | Path]] = (),
    jobs: int = 1,
    progress: Progress | None = None,
    reference: bool = False,
    mapping: Mapping[str, str] | None = None,
) -> Report:
    """Check training files (and validation files, and the files of more ``splits``: (name, path)
    pairs such as ("test", "test.jsonl")) and return the report.

    Each file is checked as its split (``DatasetContext.role``); leakage is looked for between
    every pair of files of different splits, at the later one (train, validation, then ``splits``).

    A path may be "-" (standard input), a pipe, or a .gz, .bz2, .xz or .zst file: each is read
    from a local copy that lasts the whole run (see inputs.py).

    ``jobs`` > 1 checks large JSONL files in that many worker processes; the report is the same.
    ``progress`` is told how far each file has been read. ``reference`` turns every validator's
    prefilters off (each rule runs its full search): slower, and for tests, the same findings.
    ``mapping`` is ``--map``: the columns (and ShareGPT tags) of a source format checked in place.
    """
    cfg = config or load_config()
    findings: list[Finding] = []
    datasets = []
    trained: dict[str, list[Validator]] = {}
    # every input stays open (a spooled pipe, a decompressed copy) until the end: the leakage
    # check of a later split reads the earlier files again
    with Inputs() as inputs:
        groups = [("train", p) for p in paths] + [("validation", p) for p in validation or expand(cfg.validation)]
        for role, p in [*groups, *splits]:
            source = inputs.open(p)
            result, found = _check_dataset(
                source.path, source.name, role, cfg, jobs, progress, trained, reference, mapping
            )
            datasets.append(result)
            findings.extend(found)
    findings.sort(key=Finding.sort_key)
    return Report(
        findings=findings, datasets=datasets, fail_on=cfg.fail_on, version=__version__, validators=["reader", *_running(cfg)]
    )
