"""The command line: `dsqa check` and `dsqa rules`, plus the subcommands registered from cli_convert and cli_finetune."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import DsqaError, UsageError
from .formats import FORMATS
from .model import FAIL_ON_CHOICES

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
@click.option("--data-format", type=click.Choice(["auto", *FORMATS]), help="Treat every record as this format instead of detecting it.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), help="Exit 1 when a finding is at or above this severity (default: error).")
@click.option("--select", multiple=True, metavar="CODES", help="Only report codes starting with these prefixes (comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Do not report codes starting with these prefixes (comma-separated).")
@click.option("--validation", "validation", multiple=True, metavar="FILE", help="A validation file to check alongside (no minimum size).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file (atomically) instead of stdout.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: only on a terminal, never with NO_COLOR).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes for large files (default: the number of cores).")
@click.option("--model", metavar="MODEL", help="Target model for token limits and cost: a base, alias or ft: id (default: gpt-4o-mini-2024-07-18).")
@click.option("--epochs", metavar="N|auto", help="Epochs for the cost estimate: 1-50, or auto (OpenAI's default heuristic).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), metavar="REPORT.json", help="A JSON report of an earlier run: fail only on findings that are new relative to it.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no status line on stderr.")
@click.option("--report", "reports", multiple=True, metavar="FORMAT:PATH", help="Also write a report in FORMAT to PATH (repeatable), e.g. --report sarif:dsqa.sarif --report html:report.html.")
def check(
    paths: tuple[str, ...],
    rules: str | None,
    output_format: str,
    data_format: str | None,
    fail_on: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    validation: tuple[str, ...],
    output: Path | None,
    color: bool | None,
    jobs: int | None,
    model: str | None,
    epochs: str | None,
    baseline: Path | None,
    quiet: bool,
    reports: tuple[str, ...],
) -> int:
    """Check FILE... (JSONL, or .json holding an array; .gz, .bz2, .xz and .zst are read as they
    are, and - reads standard input) and report every finding.

    Exit status: 0 when nothing is at or above --fail-on, 1 when something is, 2 for a usage,
    config or unreadable-input error.
    """
    from .config import load_config
    from .engine import check as run_check
    from .engine import default_jobs
    from .reporters import render

    if output_format in FORMATS:
        if data_format is not None and data_format != output_format:
            raise UsageError(f"--format {output_format} and --data-format {data_format} disagree")
        data_format, output_format = output_format, "text"
    config = load_config(rules).with_overrides(
        fail_on=fail_on, data_format=data_format, select=_split_codes(select), ignore=_split_codes(ignore),
        model=model, epochs=epochs,
    )
    _check_inputs((*paths, *validation))
    extra = [_report_target(spec) for spec in reports]
    _check_outputs(output, extra)
    old = None
    if baseline is not None:
        from .baseline import load_baseline

        old = load_baseline(baseline)
    progress = None
    if not quiet and sys.stderr.isatty():
        from .progress import Progress

        progress = Progress(sys.stderr)
    try:
        report = run_check(list(paths), config, validation=list(validation), jobs=jobs or default_jobs(), progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if old is not None and baseline is not None:
        from .baseline import apply_baseline

        report = apply_baseline(report, old, str(baseline))
    for fmt, target in extra:
        _write_report(fmt, report, target)
    if output is not None:
        _write_report(output_format, report, output)
        s = report.summary()
        if not quiet:
            click.echo(
                f"dsqa: {'passed' if report.passed else 'FAILED'}: {s['error']} error(s), {s['warning']} warning(s), "
                f"{s['info']} info; report written to {output}",
                err=True,
            )
    else:
        use_color = color if color is not None else (sys.stdout.isatty() and "NO_COLOR" not in os.environ)
        render(output_format, report, sys.stdout, color=use_color and output_format == "text")
    return EXIT_OK if report.passed else EXIT_FINDINGS


def _check_inputs(paths: tuple[str, ...]) -> None:
    """Stop before the check when an input is missing; "-" (standard input) may be given once."""
    if paths.count("-") > 1:
        raise UsageError("standard input (-) can be checked only once per run")
    for p in paths:
        if p != "-" and not Path(p).exists():
            raise DsqaError(f"{p}: cannot read: No such file or directory")


def _check_outputs(output: Path | None, extra: list[tuple[str, Path]]) -> None:
    """Stop before the check, not after it, when a report file could not be written."""
    from .outputs import check_writable

    for target in [output] if output is not None else []:
        check_writable(target, "report")
    for _, target in extra:
        check_writable(target, "report")


def _report_target(spec: str) -> tuple[str, Path]:
    """Parse a --report FORMAT:PATH value."""
    fmt, sep, path = spec.partition(":")
    if not sep or not path or fmt not in REPORT_FORMATS:
        raise UsageError(f"--report {spec!r}: expected FORMAT:PATH with FORMAT one of {', '.join(REPORT_FORMATS)}")
    return fmt, Path(path)


def _write_report(fmt: str, report: Any, path: Path) -> None:
    """Render ``report`` as ``fmt`` into ``path`` atomically, or stop with a one-line error."""
    from .reporters import render
    from .sources import write_atomic

    buf = io.StringIO()
    render(fmt, report, buf, color=False)
    try:
        write_atomic(path, buf.getvalue())
    except OSError as exc:
        raise DsqaError(f"{path}: cannot write report: {exc.strerror or exc}") from None


@cli.command()
@click.argument("code", required=False)
def rules(code: str | None) -> int:
    """List every validator and finding code, or document one CODE (or validator)."""
    from .ruledoc import code_doc, code_line, validator_doc
    from .validators import all_validators

    registry = all_validators()
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


from .cli_finetune import COMMANDS as _FINETUNE_COMMANDS  # noqa: E402

for _command in _FINETUNE_COMMANDS:
    cli.add_command(_command)

from . import cli_convert  # noqa: E402

cli.add_command(cli_convert.convert)
cli.add_command(cli_convert.clean)
cli.add_command(cli_convert.split)


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
