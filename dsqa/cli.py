"""The command line: `dsqa check` and `dsqa rules` here, the other subcommands loaded from their modules when they run."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._version import __version__
from .errors import DsqaError, UsageError
from .formats import FORMATS, IN_PLACE_NAMES
from .model import FAIL_ON_CHOICES, Finding, Report
from .wording import plural

if TYPE_CHECKING:
    from .config import Config

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

REPORT_FORMATS = ("text", "json", "html", "markdown", "sarif", "junit", "github")


def _split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        out.extend(part.strip().upper() for part in value.split(",") if part.strip())
    return tuple(out)


#: subcommands that live in other modules: name -> ("module:attribute", the short help of
#: `dsqa --help`). A module is imported only when its command runs, so `dsqa --help`, `dsqa rules`
#: and `dsqa check` never load the fine-tuning clients or the converters. tests/test_cli_lazy.py
#: checks that each short help is the command's own.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "submit": ("dsqa.cli_finetune:submit", "Check TRAIN (and --validation) and, only if the check passes, upload them and create a fine-tuning job."),
    "jobs": ("dsqa.cli_finetune:jobs", "List every submission in the ledger: when, dataset -> report -> file -> job -> model."),
    "status": ("dsqa.cli_finetune:status", "Show a job's current status, model, error and (once it succeeded) its checkpoints; record it in the ledger."),
    "watch": ("dsqa.cli_finetune:watch", "Follow JOB: status changes, progress by step, latest losses and new events."),
    "cancel": ("dsqa.cli_finetune:cancel", "Cancel JOB and record it in the ledger."),
    "events": ("dsqa.cli_finetune:events", "Print JOB's events, oldest first, with their times; --follow keeps printing new ones until the job ends."),
    "metrics": ("dsqa.cli_finetune:metrics", "Write JOB's per-step metrics as CSV (step, losses, accuracies), optionally with a loss chart."),
    "files": ("dsqa.cli_finetune:files", "List the uploaded files the ledger knows (id, size, name, when, the jobs that used them), or delete them."),
    "models": ("dsqa.cli_finetune:models", "List the models dsqa knows can be fine-tuned: name, methods, maximum tokens, price per 1M tokens, shutdown date."),
    "convert": ("dsqa.cli_convert:convert", "Convert IN (Alpaca, ShareGPT, TRL/HH preference, prompt/completion or OpenAI records, in JSONL, JSON, CSV, TSV, Parquet or a Hugging Face dataset) to JSONL in another format."),
    "clean": ("dsqa.cli_convert:clean", "Keep the records of IN that have no errors, exactly as they were, and reject the rest."),
    "split": ("dsqa.cli_convert:split", "Split IN into OUT/train.jsonl and OUT/validation.jsonl, deterministically."),
    "index": ("dsqa.cli_index:index", "Contamination indexes: build one from your evaluation sets."),
    "diagnose": ("dsqa.cli_eval:diagnose", "Read a run's loss and accuracy curves and say what they show (TRN codes), with a hint for each."),
    "eval": ("dsqa.cli_eval:eval_command", "Show what the fine-tuned --model does on held-out examples, against --against BASE."),
}


class LazyGroup(click.Group):
    """A click group whose commands from ``LAZY_COMMANDS`` are imported only when they run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in LAZY_COMMANDS:
            return self.commands.get(cmd_name)
        module, _, attribute = LAZY_COMMANDS[cmd_name][0].partition(":")
        command = getattr(import_module(module), attribute)
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, with the lazy commands' help from the table (no import)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is not None:
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.utils.make_default_short_help(LAZY_COMMANDS[name][1], limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="dsqa")
def cli() -> None:
    """Check fine-tuning datasets before they are uploaded."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@click.option("-r", "--rules", metavar="PACK", help="Rule pack: a bundled name (default, openai-sft, openai-dpo, strict) or a YAML file. Replaces the project config.")
@click.option(
    "-f", "--format", "output_format", default="text", show_default=True,
    type=click.Choice([*REPORT_FORMATS, *FORMATS]),
    help="Report format. A data format name (openai-chat, ...) is accepted as a shorthand for --data-format.",
)
@click.option(
    "--data-format", type=click.Choice(["auto", *FORMATS, *IN_PLACE_NAMES]),
    help="Treat every record as this format instead of detecting it. alpaca, sharegpt, sharegpt-preference, "
    "trl-preference (hh) and prompt-completion records are checked as `dsqa convert` writes them.",
)
@click.option(
    "--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
    help="Read FIELD from COLUMN when checking a file in place, as `dsqa convert --map` does (repeatable or "
    "comma-separated), e.g. instruction=question; sharegpt tags too: role_tag=role.",
)
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), help="Exit 1 when a finding is at or above this severity (default: error).")
@click.option("--select", multiple=True, metavar="CODES", help="Only report codes starting with these prefixes (comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Do not report codes starting with these prefixes (comma-separated).")
@click.option("--validation", "validation", multiple=True, metavar="FILE", help="A validation file to check alongside (no minimum size).")
@click.option(
    "--split", "splits", multiple=True, metavar="NAME=FILE",
    help="A file of another split, e.g. --split test=test.jsonl (repeatable): leakage is reported between every pair of splits.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file (atomically) instead of stdout.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: only on a terminal, never with NO_COLOR).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes for large files (default: the number of cores).")
@click.option("--model", metavar="MODEL", help="Target model for token limits and cost: a base, alias or ft: id (default: gpt-4o-mini-2024-07-18); `dsqa models` lists them.")
@click.option("--backend", type=click.Choice(["openai", "azure", "together"]), help="Provider whose catalogue --model is looked up in (default: openai).")
@click.option("--tokenizer", type=click.Path(path_type=Path), metavar="PATH", help="The model's tokenizer.json or model directory: exact token counts for non-OpenAI models (offline).")
@click.option("--epochs", metavar="N|auto", help="Epochs for the cost estimate: 1-50, or auto (OpenAI's default heuristic).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), metavar="REPORT.json", help="A JSON report of an earlier run: fail only on findings that are new relative to it.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no status line on stderr.")
@click.option("--report", "reports", multiple=True, metavar="FORMAT:PATH", help="Also write a report in FORMAT to PATH (repeatable), e.g. --report sarif:dsqa.sarif --report html:report.html.")
@click.option("--show-all", is_flag=True, help="Text report: list every finding (above 200 they are grouped by code).")
@click.option("--max-findings", type=click.IntRange(min=0), metavar="N", help="Text report: list at most N findings, one per line.")
@click.option("--statistics", is_flag=True, help="Print one line per code (count, severity, what it means) instead of the report.")
def check(
    paths: tuple[str, ...],
    rules: str | None,
    output_format: str,
    data_format: str | None,
    mapping: tuple[str, ...],
    fail_on: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    validation: tuple[str, ...],
    output: Path | None,
    color: bool | None,
    jobs: int | None,
    model: str | None,
    backend: str | None,
    tokenizer: Path | None,
    epochs: str | None,
    baseline: Path | None,
    quiet: bool,
    reports: tuple[str, ...],
    show_all: bool = False,
    max_findings: int | None = None,
    statistics: bool = False,
    splits: tuple[str, ...] = (),
) -> int:
    """Check FILE... (JSONL, or .json holding an array; .gz, .bz2, .xz and .zst are read as they
    are, and - reads standard input) and report every finding.

    Exit status: 0 when nothing is at or above --fail-on, 1 when something is, 2 for a usage,
    config or unreadable-input error.
    """
    data_format, output_format = _check_formats(output_format, data_format, show_all, max_findings)
    from .config import load_config

    config = load_config(rules).with_overrides(
        fail_on=fail_on, data_format=data_format, select=_split_codes(select), ignore=_split_codes(ignore),
    )
    from .targets import apply_target

    config, _ = apply_target(config, backend, model, epochs, tokenizer)
    from .pairing import assign_roles

    roles = assign_roles(paths, validation, config.validation, splits)
    if not quiet:
        for note in roles.notes:
            click.echo(f"dsqa: {note}", err=True)
    inputs = (*roles.train, *roles.validation, *(p for _, p in roles.splits))
    _check_inputs(inputs)
    extra = [_report_target(spec) for spec in reports]
    _check_outputs(output, extra, inputs)
    old = _load_baseline(baseline)  # before the run, so an unusable baseline fails fast
    columns = _columns(mapping)
    report = _apply_baseline(
        _run_check(roles.train, config, roles.validation, jobs, quiet, columns, roles.splits), old, baseline
    )
    listing = {"show_all": show_all, "max_findings": max_findings}
    for fmt, target in extra:
        _write_report(fmt, report, target, **listing)
    _show(report, output_format, output, color, quiet, statistics, listing)
    return EXIT_OK if report.passed else EXIT_FINDINGS


def _check_formats(output_format: str, data_format: str | None, show_all: bool, max_findings: int | None) -> tuple[str | None, str]:
    """The data format and report format of `check`, a data format given as --format taken as --data-format."""
    if show_all and max_findings is not None:
        raise UsageError("--show-all and --max-findings disagree: use one of them")
    if output_format in FORMATS:
        if data_format is not None and data_format != output_format:
            raise UsageError(f"--format {output_format} and --data-format {data_format} disagree")
        return output_format, "text"
    return data_format, output_format


def _load_baseline(baseline: Path | None) -> list[Finding] | None:
    """The findings of the --baseline report, None without one."""
    if baseline is None:
        return None
    from .baseline import load_baseline

    return load_baseline(baseline)


def _apply_baseline(report: Report, old: list[Finding] | None, baseline: Path | None) -> Report:
    """The report with its findings marked new or unchanged against the --baseline ones."""
    if old is None or baseline is None:
        return report
    from .baseline import apply_baseline

    return apply_baseline(report, old, str(baseline))


def _columns(mapping: tuple[str, ...]) -> dict[str, str]:
    """``--map`` of `check` as `convert` reads it (FIELD=COLUMN pairs); a usage error otherwise."""
    if not mapping:
        return {}
    from .convert.pipeline import parse_map

    return parse_map(list(mapping))


def _run_check(
    paths: list[str], config: Config, validation: list[str], jobs: int | None, quiet: bool,
    mapping: dict[str, str] | None = None, splits: Sequence[tuple[str, str]] = (),
) -> Report:
    """Run the engine, with a progress bar on a terminal unless ``quiet``."""
    from .engine import check as run_check
    from .engine import default_jobs

    progress = None
    if not quiet and sys.stderr.isatty():
        from .progress import Progress

        progress = Progress(sys.stderr)
    try:
        return run_check(
            paths, config, validation=validation, splits=splits, jobs=jobs or default_jobs(), progress=progress,
            mapping=mapping,
        )
    finally:
        if progress is not None:
            progress.close()


def _show(
    report: Report, output_format: str, output: Path | None, color: bool | None, quiet: bool, statistics: bool,
    listing: dict[str, Any],
) -> None:
    """Write the main report to ``output`` (with a status line), and to stdout unless it went to a file."""
    if output is not None:
        _write_report(output_format, report, output, **listing)
        s = report.summary()
        if not quiet:
            click.echo(
                f"dsqa: {'passed' if report.passed else 'FAILED'}: {plural(s['error'], 'error')}, "
                f"{plural(s['warning'], 'warning')}, {plural(s['info'], 'info')}; report written to {output}",
                err=True,
            )
    if statistics or output is None:
        _to_stdout(report, "statistics" if statistics else output_format, color, **listing)


def _to_stdout(report: Any, fmt: str, color: bool | None, **listing: Any) -> None:
    """Print the report, or with ``fmt`` "statistics" one line per code (``--statistics``)."""
    from .reporters import render
    from .reporters.text import render_statistics

    if fmt == "statistics":
        render_statistics(report, sys.stdout)
        return
    use_color = color if color is not None else (sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    render(fmt, report, sys.stdout, color=use_color and fmt == "text", **listing)


def _check_inputs(paths: tuple[str, ...]) -> None:
    """Stop before the check when an input is missing; "-" (standard input) may be given once."""
    if paths.count("-") > 1:
        raise UsageError("standard input (-) can be checked only once per run")
    for p in paths:
        if p != "-" and not Path(p).exists():
            raise DsqaError(f"{p}: cannot read: No such file or directory")


def _check_outputs(output: Path | None, extra: list[tuple[str, Path]], inputs: tuple[str, ...] = ()) -> None:
    """Stop before the check, not after it, when a report file could not be written or would
    replace a dataset of the run (`dsqa check data.jsonl -o data.jsonl`)."""
    from .outputs import check_writable

    datasets = {Path(p).resolve(): p for p in inputs if p != "-"}
    for target in [*([output] if output is not None else []), *(t for _, t in extra)]:
        if Path(target).resolve() in datasets:
            raise UsageError(f"{target}: the report would overwrite the dataset {datasets[Path(target).resolve()]}; write it elsewhere")
        check_writable(target, "report")


def _report_target(spec: str) -> tuple[str, Path]:
    """Parse a --report FORMAT:PATH value."""
    fmt, sep, path = spec.partition(":")
    if not sep or not path or fmt not in REPORT_FORMATS:
        raise UsageError(f"--report {spec!r}: expected FORMAT:PATH with FORMAT one of {', '.join(REPORT_FORMATS)}")
    return fmt, Path(path)


def _write_report(fmt: str, report: Report, path: Path, **listing: Any) -> None:
    """Render ``report`` as ``fmt`` into ``path`` atomically, or stop with a one-line error."""
    from .reporters import render
    from .outputs import write_atomic

    buf = io.StringIO()
    render(fmt, report, buf, color=False, **listing)
    try:
        write_atomic(path, buf.getvalue())
    except OSError as exc:
        raise DsqaError(f"{path}: cannot write report: {exc.strerror or exc}") from None


@cli.command()
@click.argument("code", required=False)
def rules(code: str | None) -> int:
    """List every validator and finding code, or document one CODE (or validator)."""
    from .finetune.diagnose import TrainingCurves
    from .ruledoc import code_doc, code_line, validator_doc
    from .validators import all_validators

    # the TRN codes of `dsqa diagnose` are documented alongside the dataset codes
    registry = {**all_validators(), TrainingCurves.name: TrainingCurves}
    if code is None:
        for name, cls in registry.items():
            for c, info in cls.codes.items():
                click.echo(code_line(c, info, name))
        click.echo("\nPacks: " + ", ".join(_packs()) + ".  `dsqa rules CODE` documents a code.")
        return EXIT_OK
    wanted = code.strip()
    for name, cls in registry.items():
        if wanted.upper() in cls.codes:
            click.echo(code_doc(wanted.upper(), cls.codes[wanted.upper()], cls), nl=False)
            return EXIT_OK
        if wanted.lower() == name:
            click.echo(validator_doc(cls), nl=False)
            return EXIT_OK
    raise UsageError(f"unknown code or validator {code!r}; `dsqa rules` lists them")


def _packs() -> list[str]:
    from .config import pack_names

    return pack_names()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `dsqa` console script; turns every failure into an exit code."""
    code: Any
    try:
        code = cli.main(args=argv, prog_name="dsqa", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("dsqa: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("dsqa: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = EXIT_ERROR
    except DsqaError as exc:
        click.echo(f"dsqa: error: {exc}", err=True)
        code = exc.exit_code
    except BrokenPipeError:
        code = EXIT_FINDINGS
    except Exception as exc:
        if os.environ.get("DSQA_DEBUG"):
            raise
        click.echo(f"dsqa: internal error: {type(exc).__name__}: {exc} (set DSQA_DEBUG=1 for a traceback)", err=True)
        code = EXIT_ERROR
    sys.exit(code if isinstance(code, int) else EXIT_OK)
