"""`dsqa submit`, `jobs`, `status`, `watch`, `cancel` and `metrics`: send checked datasets to a fine-tuning API and follow the jobs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import DsqaError, UsageError

if TYPE_CHECKING:
    from .config import Config
    from .finetune.backend import Backend, JobInfo
    from .finetune.ledger import Ledger

EXIT_OK = 0
EXIT_FAILED = 1

BACKEND_NAMES = ("openai", "azure")

_backend_option = click.option(
    "--backend", type=click.Choice(BACKEND_NAMES), default=None,
    help="API to use: openai (OPENAI_API_KEY, OPENAI_BASE_URL) or azure (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, "
    "OPENAI_API_VERSION). Default: the job's backend in the ledger, else openai.",
)
_ledger_option = click.option(
    "--ledger", "ledger_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Ledger file (default: DSQA_LEDGER, else .dsqa/ledger.sqlite in the project).",
)
_timeout_option = click.option("--timeout", type=click.FloatRange(min=0.1), default=600.0, show_default=True, help="Seconds to wait for each API request.")
_interval_option = click.option("--interval", type=click.FloatRange(min=0.0), default=10.0, show_default=True, help="Seconds between polls.")


def _echo(text: str) -> None:
    click.echo(text)


def _open_ledger(path: Path | None, *, create: bool = True) -> Ledger:
    from .finetune.ledger import Ledger, default_path

    return Ledger(path or default_path(), create=create)


def _backend_for(ledger: Ledger, job_id: str | None, name: str | None, timeout: float) -> Backend:
    from .finetune.backend import make_backend

    if name is None and job_id is not None:
        known = ledger.job_backend(job_id)
        name = known[0] if known else None
    return make_backend(name or "openai", timeout)


def _job_exit(job: JobInfo) -> int:
    if job.status == "succeeded":
        click.echo(f"fine-tuned model: {job.fine_tuned_model}")
        return EXIT_OK
    reason = f": {job.error_text}" if job.error_text else ""
    click.echo(f"{job.id} {job.status}{reason}", err=True)
    return EXIT_FAILED


def _watch(ledger: Ledger, backend: Backend, job_id: str, interval: float) -> int:
    from .finetune.track import Watcher

    job = Watcher(ledger, backend, _echo, interval=interval).watch(job_id)
    if job.fine_tuned_model:  # it trained (succeeded, or "completed" on Together)
        from .cli_eval import print_diagnosis

        print_diagnosis(ledger, backend, job)
    return _job_exit(job)


@click.command()
@click.argument("train", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--validation", type=click.Path(dir_okay=False, path_type=Path), help="A validation file (checked and uploaded too).")
@click.option("--model", required=True, help="Base model snapshot (e.g. gpt-4.1-mini-2025-04-14) or an ft: model to continue.")
@click.option("--method", type=click.Choice(["sft", "dpo"]), default="sft", show_default=True, help="Supervised fine-tuning or preference (DPO).")
@click.option("--epochs", type=click.IntRange(1, 50), help="n_epochs (default: chosen by the API).")
@click.option("--batch-size", type=click.IntRange(1, 256), help="batch_size (default: chosen by the API).")
@click.option("--learning-rate-multiplier", type=click.FloatRange(min=0, min_open=True), help="learning_rate_multiplier (> 0).")
@click.option("--beta", type=click.FloatRange(0, 2, min_open=True), help="DPO beta in (0, 2] (--method dpo only).")
@click.option("--suffix", help="Up to 64 characters added to the fine-tuned model's name.")
@click.option("--seed", type=click.IntRange(0, 2147483647), help="Seed for reproducible training.")
@click.option("--watch", "follow", is_flag=True, help="Follow the job until it ends (like `dsqa watch`).")
@click.option("-r", "--rules", metavar="PACK", help="Rule pack for the check (default: the project's configuration).")
@_backend_option
@_ledger_option
@_timeout_option
@_interval_option
@click.option("--upload-limit", type=click.IntRange(min=1), default=None, hidden=True, help="Bytes above which the Uploads API is used.")
@click.option("--part-size", type=click.IntRange(min=1), default=None, hidden=True, help="Bytes per part for the Uploads API.")
def submit(
    train: Path, validation: Path | None, model: str, method: str, epochs: int | None, batch_size: int | None,
    learning_rate_multiplier: float | None, beta: float | None, suffix: str | None, seed: int | None, follow: bool,
    rules: str | None, backend: str | None, ledger_path: Path | None, timeout: float, interval: float,
    upload_limit: int | None, part_size: int | None,
) -> int:
    """Check TRAIN (and --validation) and, only if the check passes, upload them and create a fine-tuning job.

    An identical file is uploaded once (its sha256 is kept in the ledger and checked against the API);
    the job carries the dataset and report hashes as metadata and is never created twice.
    Exit status: 0 job created (or already there), 1 the check failed (nothing is uploaded),
    2 usage or API error.
    """
    from .config import load_config
    from .engine import check as run_check
    from .engine import default_jobs
    from .finetune.backend import make_backend
    from .finetune.submit import PART_SIZE, SINGLE_UPLOAD_LIMIT, JobSpec, Submitter, check_method_format, digest, report_sha256, token_lines
    from .reporters import render

    if suffix is not None and not 1 <= len(suffix) <= 64:
        raise UsageError("--suffix must be 1 to 64 characters")
    spec = JobSpec(model, method, epochs, batch_size, learning_rate_multiplier, beta, suffix, seed)
    spec.method_body()  # usage errors (e.g. --beta without dpo) before any work
    for p in (train, validation):
        if p is not None and not p.is_file():
            raise DsqaError(f"{p}: cannot read: No such file or directory")
    config = _target(load_config(rules), model, epochs)
    report = run_check([train], config, validation=[validation] if validation else [], jobs=default_jobs())
    report_hash = report_sha256(report)
    train_d = digest(train)
    val_d = digest(validation) if validation else None
    with _open_ledger(ledger_path) as ledger:
        check_id = ledger.record_check(
            (str(train), train_d.sha256), (str(validation), val_d.sha256) if val_d else None, report_hash, report.passed, report.summary()
        )
        s = report.summary()
        if not report.passed:
            buf = io.StringIO()
            render("text", report, buf)
            click.echo(buf.getvalue(), nl=False)
            click.echo(f"dsqa: not submitted: the check failed ({s['error']} error(s), {s['warning']} warning(s)); fix the findings above", err=True)
            return EXIT_FAILED
        check_method_format(report, method)
        click.echo(f"check passed: {s['error']} errors, {s['warning']} warnings, {s['info']} info (report sha256 {report_hash[:12]})")
        for line in token_lines(report):
            click.echo(f"  {line}")
        api = make_backend(backend or "openai", timeout)
        submitter = Submitter(ledger, api, _echo, single_limit=upload_limit or SINGLE_UPLOAD_LIMIT, part_size=part_size or PART_SIZE)
        job, _created = submitter.submit(check_id, report_hash, train_d, val_d, spec)
        click.echo(f"job: {job.id} ({job.status}) on {api.name}")
        if follow:
            return _watch(ledger, api, job.id, interval)
        click.echo(f"follow it with: dsqa watch {job.id}")
    return EXIT_OK


def _target(config: Config, model: str, epochs: int | None) -> Config:
    """Count tokens and cost for the model being trained, when the token check knows it."""
    import inspect

    if "model" not in inspect.signature(config.with_overrides).parameters:
        return config  # no token check in this build
    try:
        return config.with_overrides(model=model, epochs=epochs)
    except DsqaError:
        return config  # a model dsqa has no table entry for: the API decides whether it can be trained


@click.command()
@click.option("--offline", is_flag=True, help="Show the ledger only; do not ask the API for current statuses.")
@_backend_option
@_ledger_option
@_timeout_option
def jobs(offline: bool, backend: str | None, ledger_path: Path | None, timeout: float) -> int:
    """List every submission in the ledger: dataset -> report -> file -> job -> model.

    Jobs that are still running are refreshed from the API unless --offline.
    """
    from .finetune.backend import TERMINAL_STATUSES, BackendError, make_backend

    with _open_ledger(ledger_path, create=False) as ledger:
        rows = ledger.overview()
        backends: dict[str, Any] = {}
        for row in rows:
            if offline or not row["job_id"] or row["status"] in TERMINAL_STATUSES:
                continue
            name = backend or row["backend"]
            try:
                if name not in backends:
                    backends[name] = make_backend(name, timeout)
                ledger.record_job(backends[name].get_job(row["job_id"]), name, backends[name].endpoint)
            except BackendError as exc:
                click.echo(f"dsqa: not refreshed: {exc}", err=True)
                offline = True
        rows = ledger.overview()
    if not rows:
        click.echo("no submissions yet")
        return EXIT_OK
    for row in rows:
        click.echo(_overview_line(row))
    return EXIT_OK


def _overview_line(row: dict[str, Any]) -> str:
    import json

    def short(digest: str | None) -> str:
        return (digest or "-")[:12]

    if row["submission"] is None:
        return f"{row['job_id']}  {row['status']}  model {row['fine_tuned_model'] or '-'}  (not submitted by dsqa; {row['backend']})"
    request = json.loads(row["request"])
    parts = [
        f"{row['train_path']} (sha256 {short(row['train_sha256'])})",
        f"report {short(row['report_sha256'])} {'passed' if row['passed'] else 'FAILED'}",
        f"file {row['training_file']}" + (f" + {row['validation_file']}" if row["validation_file"] else ""),
    ]
    if row["state"] == "pending":
        parts.append("job unknown (submit was interrupted; run `dsqa submit` again to resolve)")
    elif row["state"] == "rejected":
        parts.append(f"rejected: {row['submit_error']}")
    else:
        parts.append(f"job {row['job_id']} {row['status']}")
        parts.append(f"model {row['fine_tuned_model'] or '-'}")
    return " -> ".join(parts) + f"  [{row['backend']}, {request['model']}]"


@click.command()
@click.argument("job_id", metavar="JOB")
@_backend_option
@_ledger_option
@_timeout_option
def status(job_id: str, backend: str | None, ledger_path: Path | None, timeout: float) -> int:
    """Show a job's current status, model, error and (once it succeeded) its checkpoints; record it in the ledger."""
    from .finetune.track import describe

    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout)
        job = api.get_job(job_id)
        ledger.record_job(job, api.name, api.endpoint)
        points = api.checkpoints(job_id) if job.status == "succeeded" else []
    for line in describe(job):
        click.echo(line)
    for c in points:
        losses = "".join(f", {name} loss {v:.4f}" for name, v in (("train", c.train_loss), ("valid", c.valid_loss)) if v is not None)
        click.echo(f"checkpoint: {c.model} (step {c.step}{losses})")
    return EXIT_OK


@click.command()
@click.argument("job_id", metavar="JOB")
@_backend_option
@_ledger_option
@_timeout_option
@_interval_option
def watch(job_id: str, backend: str | None, ledger_path: Path | None, timeout: float, interval: float) -> int:
    """Follow JOB: status changes, progress by step, latest losses and new events.

    Exit status: 0 when it succeeds (the fine-tuned model id is printed and recorded), 1 when it
    fails or is cancelled, 2 for an API error. Unknown statuses count as still running.
    """
    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout)
        return _watch(ledger, api, job_id, interval)


@click.command()
@click.argument("job_id", metavar="JOB")
@_backend_option
@_ledger_option
@_timeout_option
def cancel(job_id: str, backend: str | None, ledger_path: Path | None, timeout: float) -> int:
    """Cancel JOB and record it in the ledger."""
    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout)
        job = api.cancel_job(job_id)
        ledger.record_job(job, api.name, api.endpoint)
    click.echo(f"{job.id}: {job.status}")
    return EXIT_OK


@click.command()
@click.argument("job_id", metavar="JOB")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the metrics CSV.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="Also draw the loss curves: an .svg or .png file.")
@_backend_option
@_ledger_option
@_timeout_option
def metrics(job_id: str, output: Path, chart: Path | None, backend: str | None, ledger_path: Path | None, timeout: float) -> int:
    """Download JOB's results file and write it as CSV (step, losses, accuracies), optionally with a loss chart."""
    from .finetune.track import loss_png, loss_svg, parse_results, results_csv
    from .sources import write_atomic

    if chart is not None and chart.suffix.lower() not in (".svg", ".png"):
        raise UsageError(f"{chart}: --chart writes SVG or PNG; name the file *.svg or *.png")
    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout)
        job = api.get_job(job_id)
        ledger.record_job(job, api.name, api.endpoint)
    if not job.result_files:
        raise DsqaError(f"{job_id}: no results file yet (status {job.status})")
    rows = parse_results(api.file_content(job.result_files[0]), job.result_files[0])
    try:
        write_atomic(output, results_csv(rows))
        if chart is not None:
            draw = loss_png if chart.suffix.lower() == ".png" else loss_svg
            write_atomic(chart, draw(rows, f"{job_id} loss"))
    except OSError as exc:
        raise DsqaError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
    click.echo(f"{len(rows)} steps written to {output}" + (f", chart to {chart}" if chart else ""), err=True)
    from .cli_eval import print_diagnosis

    with _open_ledger(ledger_path) as ledger:
        print_diagnosis(ledger, api, job)
    return EXIT_OK


COMMANDS = (submit, jobs, status, watch, cancel, metrics)
