"""The `dsqa convert`, `dsqa clean` and `dsqa split` commands."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import click

from .model import Finding, Report, Severity
from .wording import plural

_FROM = ("auto", "openai-chat", "openai-preference", "alpaca", "sharegpt", "sharegpt-preference",
         "trl-preference", "hh", "prompt-completion")
_TO = ("auto", "openai-chat", "openai-preference", "sharegpt", "alpaca")
_CONTAINERS = ("jsonl", "json", "csv", "tsv", "parquet", "hf")
_SHOWN_CODES = 10


def _interrupt_on_sigterm() -> None:
    """Let SIGTERM unwind like Ctrl-C, so the temporary output files are removed on the way out."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _summary(report: Report, path: Path, what: str) -> None:
    """The verdict of a check and one line per code, most frequent first."""
    from .safetext import printable

    s = report.summary()
    verdict = "passed" if report.passed else "FAILED"
    click.echo(f"check of {path} ({what}): {verdict}: {plural(s['error'], 'error')}, {plural(s['warning'], 'warning')}, {plural(s['info'], 'info')}")
    counts = Counter(f.code for f in report.findings)
    first: dict[str, Finding] = {}
    for f in report.sorted_findings():
        first.setdefault(f.code, f)
    for code, n in sorted(counts.items(), key=lambda kv: (-first[kv[0]].severity, -kv[1], kv[0]))[:_SHOWN_CODES]:
        f = first[code]
        where = f"first at line {f.line}" if f.line is not None else "dataset"
        click.echo(f"  {code} {f.severity} ×{n:,} ({where}): {printable(f.message)}")
    if len(counts) > _SHOWN_CODES:
        click.echo(f"  … and {plural(len(counts) - _SHOWN_CODES, 'more code')}; run `dsqa check {path}` for every finding")


def _require(source: Path) -> None:
    """Stop with one line when IN does not exist ("-" is standard input)."""
    from .errors import InputError

    if str(source) != "-" and not source.exists():
        raise InputError(f"{source}: cannot read: No such file or directory")


def _has_duplicate_validator(config: object) -> bool:
    registry = getattr(config, "registry", {})
    return any(
        any(code.startswith("DUP") for code in cls.codes) and config.enabled(name)  # type: ignore[attr-defined]
        for name, cls in registry.items()
    )


@click.command()
@click.argument("source", type=click.Path(path_type=Path), metavar="IN")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The converted JSONL file (written atomically).")
@click.option("--from", "from_format", default="auto", show_default=True, type=click.Choice(_FROM), help="The format of IN; auto detects it from the first record.")
@click.option("--to", "to_format", default="auto", show_default=True, type=click.Choice(_TO), help="The format of OUT; auto is openai-chat, or openai-preference for preference pairs.")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN", help="Read FIELD from COLUMN (repeatable or comma-separated), e.g. instruction=question; sharegpt tags too: role_tag=role.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), help="JSONL file for the records that cannot convert (default: OUT's name with .rejects.jsonl, written only when needed).")
@click.option("--container", type=click.Choice(_CONTAINERS), help="How IN is stored (default: from the suffix; a directory is a dataset saved with save_to_disk).")
@click.option("--split", "split_name", metavar="NAME", help="The split of a Hugging Face dataset (default: train, or the only one).")
@click.option("--check/--no-check", default=True, help="Check OUT with the default rule pack afterwards (OpenAI targets only).")
def convert(
    source: Path,
    out: Path,
    from_format: str,
    to_format: str,
    mapping: tuple[str, ...],
    rejects: Path | None,
    container: str | None,
    split_name: str | None,
    check: bool,
) -> int:
    """Convert IN (Alpaca, ShareGPT, TRL/HH preference, prompt/completion or OpenAI records, in
    JSONL, JSON, CSV, TSV, Parquet or a Hugging Face dataset) to JSONL in another format. IN may
    be - (standard input) or a pipe, and .gz, .bz2, .xz or .zst files are read as they are.

    Every record of IN ends up in OUT or in the rejects file with its line and the reason, and
    the counts are printed as `read N, wrote M, rejected K`. Exit status: 0 when nothing was
    rejected and OUT passes the check, 1 otherwise, 2 for a usage or input error (OUT is then
    not written).
    """
    from .convert import convert_file, parse_map
    from .inputs import Inputs

    _interrupt_on_sigterm()
    # a pipe or standard input (-) is read once into a temporary file, a compressed file is
    # decompressed into one: the readers of every container expect a regular file
    with Inputs() as inputs:
        result = convert_file(
            inputs.open(source).path, out, rejects=rejects, source=from_format, target=to_format,
            mapping=parse_map(list(mapping)), container=container, split=split_name,
        )
    target = result.target or (to_format if to_format != "auto" else None)
    if result.source is None and target is None:
        formats = " (no record to tell the formats from)"
    else:
        formats = f" ({result.source or 'format unknown'} -> {target or 'format unknown'})"
    click.echo(f"read {result.read:,}, wrote {result.written:,}, rejected {result.rejected:,}{formats}")
    if result.rejects_path is not None:
        click.echo(f"rejected records: {result.rejects_path}")
    passed = True
    if check and result.target in ("openai-chat", "openai-preference"):
        from .config import load_config
        from .engine import check as run_check

        report = run_check([out], load_config("default"))
        _summary(report, out, "default pack")
        passed = report.passed
    elif check and result.target is None:
        click.echo("not checked: no record was converted")
    elif check:
        click.echo(f"not checked: dsqa checks OpenAI formats, not {result.target}")
    return 0 if passed and result.rejected == 0 else 1


@click.command()
@click.argument("source", type=click.Path(path_type=Path), metavar="IN")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The clean JSONL file (written atomically).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), help="JSONL file of the rejected records with line, codes and text (default: OUT's name with .rejects.jsonl).")
@click.option("-r", "--rules", metavar="PACK", help="Rule pack used to find the bad records (default: the project config or the default pack).")
@click.option("--reject-on", default="error", show_default=True, type=click.Choice(["error", "warning", "info"]), help="Reject records with a finding at or above this severity.")
@click.option("--drop-duplicates", is_flag=True, help="Also reject the records the duplicates validator (codes DUP...) flags.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes for the check of large files.")
def clean(
    source: Path, out: Path, rejects: Path | None, rules: str | None, reject_on: str, drop_duplicates: bool, jobs: int | None,
) -> int:
    """Keep the records of IN that have no errors, exactly as they were, and reject the rest.

    Prints `read N, kept M, rejected K` and the check of OUT. Exit status: 0 when OUT passes the
    check, 1 when it does not (e.g. fewer than 10 records are left), 2 for a usage or input error.
    """
    from .config import load_config
    from .convert.clean import clean_file
    from .engine import check as run_check
    from .engine import default_jobs
    from .inputs import Inputs

    _require(source)
    _interrupt_on_sigterm()
    config = load_config(rules)
    if drop_duplicates and not _has_duplicate_validator(config):
        click.echo("dsqa: warning: no duplicates validator is enabled, so --drop-duplicates drops nothing", err=True)
    with Inputs() as inputs:
        result = clean_file(
            inputs.open(source).path, out, rejects, config, threshold=Severity.parse(reject_on),
            drop_duplicates=drop_duplicates, jobs=jobs or default_jobs(),
        )
    extra = f" ({result.duplicates} as duplicates)" if drop_duplicates else ""
    click.echo(f"read {result.read}, kept {result.kept}, rejected {result.rejected}{extra}")
    if result.rejects_path is not None:
        click.echo(f"rejected records: {result.rejects_path}")
    report = run_check([out], config)
    _summary(report, out, "after cleaning")
    return 0 if report.passed else 1


@click.command()
@click.argument("source", type=click.Path(path_type=Path), metavar="IN")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory for train.jsonl and validation.jsonl.")
@click.option("--validation", default=0.1, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Validation size: a fraction below 1 or a number of records.")
@click.option("--seed", default=0, show_default=True, type=int, help="The same seed and input give the same split.")
@click.option("-r", "--rules", metavar="PACK", help="Rule pack whose duplicates validator (if any) finds near-duplicates.")
def split(source: Path, out_dir: Path, validation: float, seed: int, rules: str | None) -> int:
    """Split IN into OUT/train.jsonl and OUT/validation.jsonl, deterministically.

    Exact duplicates (same content up to key order, case and whitespace) never straddle the
    split, and neither do the near-duplicates found by a duplicates validator when one is
    enabled. Records keep their order and bytes.
    """
    from .config import load_config
    from .convert.split import check_targets
    from .inputs import Inputs

    _require(source)
    check_targets(source, out_dir)
    _interrupt_on_sigterm()
    config = load_config(rules)
    with Inputs() as inputs:
        _split(inputs.open(source).path, out_dir, validation, seed, config)
    return 0


def _split(source: Path, out_dir: Path, validation: float, seed: int, config: Any) -> None:
    """Split ``source`` (a regular file) and print what was written."""
    from .convert.split import duplicate_links, duplicate_record_links, split_file

    links: list[tuple[int, int]] = []
    record_links: list[tuple[int, int]] = []
    if _has_duplicate_validator(config):
        from .engine import check as run_check

        report = run_check([source], config.with_overrides(select=("DUP",)))
        links = duplicate_links(report.findings, report.datasets[0].stats if report.datasets else None)
        record_links = duplicate_record_links(report.findings)
        count = len(record_links) or len(links)  # a JSON array's links name records, and lines too
        near = f"exact and near-duplicates ({plural(count, 'link')} from the duplicates validator)"
    else:
        near = "exact duplicates (no duplicates validator is enabled for near-duplicates)"
    result = split_file(source, out_dir, validation, seed, links=links, record_links=record_links,
                        max_line_bytes=config.options("reader")["max_line_bytes"])
    click.echo(f"read {result.read:,}: train {result.train:,}, validation {result.validation:,} (seed {seed})")
    if result.validation < result.target:
        click.echo(
            f"dsqa: warning: validation has {plural(result.validation, 'record')}, not {result.target:,}: "
            "the remaining groups of duplicates are too large to fit",
            err=True,
        )
    click.echo(f"kept together: {plural(result.grouped, 'record')} in {plural(result.groups, 'group')} of {near}")
    click.echo(f"wrote {out_dir / 'train.jsonl'} and {out_dir / 'validation.jsonl'}")
