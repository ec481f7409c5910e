"""Run every enabled validator over each dataset in one streaming pass and build the report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, load_config
from .formats import detect_format
from .model import DatasetResult, Finding, Record, Report, Severity
from .sources import read_records
from .validators import DatasetContext, Validator
from .validators.internal import ENGINE


def _crash(validator: Validator, record: Record | None, exc: BaseException, path: str) -> Finding:
    what = f"{type(exc).__name__}: {exc}"
    if len(what) > 200:
        what = what[:199] + "…"
    return Finding(
        "DSQ001", Severity.ERROR, f"validator {validator.name!r} failed: {what}", ENGINE, path,
        record.line if record is not None else None, None, "this is a bug in the validator; please report it",
    )


def _check_dataset(path: Path, display: str, role: str, config: Config, out: list[Finding]) -> DatasetResult:
    context = DatasetContext(path=display, role=role, data_format=config.data_format)
    validators = [
        cls(config.options(name), context)
        for name, cls in config.registry.items()
        if name not in ("reader", ENGINE) and config.enabled(name)
    ]
    every = [v for v in validators if getattr(v, "wants_invalid", False)]
    apply = config.apply
    forced = config.data_format
    records = 0
    first_format: str | None = None

    def emit(findings: Iterable[Finding]) -> None:
        for f in findings:
            kept = apply(f)
            if kept is not None:
                out.append(kept)

    for record in read_records(path, display, max_line_bytes=config.options("reader")["max_line_bytes"]):
        if record.problems:
            emit(record.problems)
        if record.index < 0:
            continue
        records += 1
        if record.value is None:
            targets: Sequence[Validator] = every
        else:
            detected = detect_format(record.value)
            # a record that plainly is another format stays that format, so FMT002 can say so
            record.format = forced if forced and detected in (None, forced) else detected
            if first_format is None:
                first_format = record.format
            targets = validators
        for v in targets:
            try:
                emit(v.check(record))
            except Exception as exc:  # one bad validator must not lose the other findings
                emit((_crash(v, record, exc, display),))
    stats: dict[str, Any] = {}
    for v in validators:
        try:
            emit(v.finish())
        except Exception as exc:
            emit((_crash(v, None, exc, display),))
        stats.update(v.metrics)
    return DatasetResult(display, forced or first_format, records, stats)


def check(
    paths: Sequence[str | Path],
    config: Config | None = None,
    *,
    validation: Sequence[str | Path] = (),
) -> Report:
    """Check training files (and validation files) and return the report."""
    cfg = config or load_config()
    findings: list[Finding] = []
    datasets = []
    for role, group in (("train", paths), ("validation", validation)):
        for p in group:
            datasets.append(_check_dataset(Path(p), str(p), role, cfg, findings))
    findings.sort(key=Finding.sort_key)
    return Report(findings=findings, datasets=datasets, fail_on=cfg.fail_on, version=__version__)
