"""`dsqa submit`, `jobs`, `status`, `watch`, `cancel`, `events`, `metrics`, `files` and `models`: send checked datasets to a fine-tuning API and follow the jobs."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import DsqaError, UsageError

if TYPE_CHECKING:
    from .config import Config
    from .finetune.backend import Backend, JobInfo
    from .finetune.ledger import Ledger
    from .finetune.transport import Retry
    from .targets import Target

EXIT_OK = 0
EXIT_FAILED = 1

BACKEND_NAMES = ("openai", "azure", "together")

_backend_option = click.option(
    "--backend", type=click.Choice(BACKEND_NAMES), default=None,
    help="API to use: openai (OPENAI_API_KEY, OPENAI_BASE_URL), azure (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, "
    "OPENAI_API_VERSION) or together (TOGETHER_API_KEY, TOGETHER_BASE_URL). Default: the job's backend in the ledger, else openai.",
)
_max_wait_option = click.option(
    "--max-wait", type=click.FloatRange(min=0), default=600.0, show_default=True,
    help="Seconds to keep retrying a call that is safe to repeat (uploads, reads) on 429, 5xx or a dropped connection.",
)
_ledger_option = click.option(
    "--ledger", "ledger_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Ledger file (default: DSQA_LEDGER, else .dsqa/ledger.sqlite in the project).",
)
_timeout_option = click.option("--timeout", type=click.FloatRange(min=0.1), default=600.0, show_default=True, help="Seconds to wait for each API request.")
_interval_option = click.option("--interval", type=click.FloatRange(min=0.0), default=10.0, show_default=True, help="Seconds between polls.")


def _echo(text: str) -> None:
    click.echo(text)


def _retry(max_wait: float) -> Retry:
    from .finetune.transport import Retry

    return Retry(max_wait=max_wait, echo=lambda text: click.echo(text, err=True))


def _open_ledger(path: Path | None, *, create: bool = True) -> Ledger:
    from .finetune.ledger import Ledger, default_path

    return Ledger(path or default_path(), create=create)


def _backend_for(ledger: Ledger, job_id: str | None, name: str | None, timeout: float, max_wait: float = 600.0) -> Backend:
    from .finetune.backend import make_backend

    if name is None and job_id is not None:
        known = ledger.job_backend(job_id)
        name = known[0] if known else None
    return make_backend(name or "openai", timeout, _retry(max_wait))


def target_config(config: Config, backend: str | None, model: str | None, epochs: int | str | None,
                  tokenizer: Path | None) -> tuple[Config, Target | None]:
    """Apply the catalogue entry of ``model`` on ``backend`` and --tokenizer to a check's config (see ``targets.apply_target``)."""
    from .targets import apply_target

    return apply_target(config, backend, model, epochs, tokenizer)


def _job_exit(job: JobInfo) -> int:
    if job.succeeded:
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
@click.option("--model", required=True, help="Base model (e.g. gpt-4.1-mini-2025-04-14, or Together's meta-llama/Meta-Llama-3.1-8B-Instruct-Reference); `dsqa models` lists them. Case does not matter.")
@click.option("--method", type=click.Choice(["sft", "dpo"]), default="sft", show_default=True, help="Supervised fine-tuning or preference (DPO).")
@click.option("--epochs", type=click.IntRange(1, 50), help="n_epochs (default: chosen by the API).")
@click.option("--batch-size", type=click.IntRange(1, 1024), help="batch_size (default: chosen by the API; Together: the model's maximum).")
@click.option("--learning-rate-multiplier", type=click.FloatRange(min=0, min_open=True), help="OpenAI: learning_rate_multiplier (> 0).")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), help="Together: learning_rate (SDK default 1e-5).")
@click.option("--beta", type=click.FloatRange(0, 2, min_open=True), help="DPO beta in (0, 2] (--method dpo only; Together: dpo_beta).")
@click.option("--lora/--full", "lora", default=None, help="Together: LoRA adapters (the API's default) or full fine-tuning.")
@click.option("--lora-r", type=click.IntRange(min=1), help="Together: LoRA rank (default: the model's).")
@click.option("--lora-alpha", type=click.FloatRange(min=0, min_open=True), help="Together: LoRA alpha (default: twice the rank).")
@click.option("--lora-dropout", type=click.FloatRange(0, 1, max_open=True), help="Together: LoRA dropout in [0, 1).")
@click.option("--lora-trainable-modules", help="Together: modules LoRA trains (default all-linear).")
@click.option("--n-evals", type=click.IntRange(min=0), help="Together: evaluations on the validation file during training.")
@click.option("--n-checkpoints", type=click.IntRange(min=1), help="Together: checkpoints to keep.")
@click.option("--warmup-ratio", type=click.FloatRange(0, 1), help="Together: learning-rate warmup ratio in [0, 1].")
@click.option("--suffix", help="Up to 64 characters (Together: 40) added to the fine-tuned model's name.")
@click.option("--seed", type=click.IntRange(0, 2147483647), help="Seed for reproducible training.")
@click.option("--tokenizer", type=click.Path(path_type=Path), help="The model's tokenizer.json or model directory, for exact token counts on non-OpenAI models (offline).")
@click.option("--dry-run", is_flag=True, help="Check, estimate the cost and print the request body (key masked); send nothing.")
@click.option("--max-cost", type=click.FloatRange(min=0), metavar="USD", help="Refuse when the estimated cost is higher (or unknown) unless --yes.")
@click.option("--yes", is_flag=True, help="Submit even when the estimate is over --max-cost.")
@click.option("--watch", "follow", is_flag=True, help="Follow the job until it ends (like `dsqa watch`).")
@click.option("--new", "new", is_flag=True, help="Create a new job even when an earlier submit of the same data may have created one "
              "(by default an unresolved earlier submit is looked up first, and an existing job is reported, not duplicated).")
@click.option("-r", "--rules", metavar="PACK", help="Rule pack for the check (default: the project's configuration).")
@_backend_option
@_ledger_option
@_timeout_option
@_interval_option
@_max_wait_option
@click.option("--upload-limit", type=click.IntRange(min=1), default=None, hidden=True, help="Bytes above which the Uploads API is used.")
@click.option("--part-size", type=click.IntRange(min=1), default=None, hidden=True, help="Bytes per part for the Uploads API.")
def submit(
    train: Path, validation: Path | None, model: str, method: str, epochs: int | None, batch_size: int | None,
    learning_rate_multiplier: float | None, learning_rate: float | None, beta: float | None, lora: bool | None,
    lora_r: int | None, lora_alpha: float | None, lora_dropout: float | None, lora_trainable_modules: str | None,
    n_evals: int | None, n_checkpoints: int | None, warmup_ratio: float | None, suffix: str | None, seed: int | None,
    tokenizer: Path | None, dry_run: bool, max_cost: float | None, yes: bool, follow: bool, new: bool,
    rules: str | None, backend: str | None, ledger_path: Path | None, timeout: float, interval: float, max_wait: float,
    upload_limit: int | None, part_size: int | None,
) -> int:
    """Check TRAIN (and --validation) and, only if the check passes, upload them and create a fine-tuning job.

    An identical file is uploaded once (its sha256 is kept in the ledger and checked against the API);
    a job is never created twice: OpenAI jobs carry the dataset, report and settings hashes as metadata, and
    Together jobs (which have no metadata) are found by listing the account's jobs. A creation or upload whose
    answer was lost is looked up for DSQA_RESOLVE_WINDOW seconds (default 120) before it counts as not made, and
    two submits of the same data take turns on a lock beside the ledger; --new creates a job regardless.
    Exit status: 0 job created (or already there, or --dry-run passed), 1 the check failed (nothing is
    uploaded), 2 usage or API error, an unknown model, or an estimate over --max-cost.
    """
    from .config import load_config
    from .engine import check as run_check
    from .engine import default_jobs
    from .finetune.backend import make_backend, require_env
    from .finetune.submit import JobSpec, check_method_format, report_sha256, resolve_settings

    name = backend or "openai"
    resolve_settings()  # a bad DSQA_RESOLVE_WINDOW is a usage error before any work
    _check_suffix(suffix, name)
    extra = (("learning_rate", learning_rate), ("lora", lora), ("lora_r", lora_r), ("lora_alpha", lora_alpha),
             ("lora_dropout", lora_dropout), ("lora_trainable_modules", lora_trainable_modules), ("n_evals", n_evals),
             ("n_checkpoints", n_checkpoints), ("warmup_ratio", warmup_ratio))
    JobSpec(model, method, epochs, batch_size, learning_rate_multiplier, beta, suffix, seed, name, extra).validate()
    if n_evals and validation is None:
        raise UsageError("--n-evals needs --validation (the evaluations run on the validation file)")
    # an unknown model stops here, before the key, the data or any request; the canonical id is what is sent and recorded
    config, target = target_config(load_config(rules), name, model, epochs, tokenizer)
    assert target is not None
    from .targets import canonical

    model = canonical(name, model)
    spec = JobSpec(model, method, epochs, batch_size, learning_rate_multiplier, beta, suffix, seed, name, extra)
    require_env(name)  # the key is checked before the data
    _require_files(train, validation)
    report = run_check([train], config, validation=[validation] if validation else [], jobs=default_jobs())
    report_hash = report_sha256(report)
    if not report.passed:
        return _report_failed_check(report, report_hash, train, validation, ledger_path, dry_run)
    check_method_format(report, method)
    _print_check_passed(report, report_hash)
    estimate = _report_cost(report)
    if dry_run:
        api = make_backend(name, timeout, _retry(max_wait))
        return _dry_run(api, spec, train, validation, estimate, max_cost, yes)
    if estimate is not None:
        _cost_gate(estimate, max_cost, yes, "dsqa's token estimate")  # refused before anything is uploaded
    return _create_job(spec, report, report_hash, train, validation, ledger_path, estimate=estimate, max_cost=max_cost, yes=yes,
                       timeout=timeout, max_wait=max_wait, upload_limit=upload_limit, part_size=part_size, follow=follow, interval=interval,
                       new=new)


def _check_suffix(suffix: str | None, backend: str) -> None:
    """Refuse a --suffix longer than the provider allows (Together: 40 characters, else 64)."""
    limit = 40 if backend == "together" else 64
    if suffix is not None and not 1 <= len(suffix) <= limit:
        raise UsageError(f"--suffix must be 1 to {limit} characters")


def _require_files(train: Path, validation: Path | None) -> None:
    """Refuse a training or validation path that is not a readable file."""
    for p in (train, validation):
        if p is not None and not p.is_file():
            raise DsqaError(f"{p}: cannot read: No such file or directory")


def _report_failed_check(report: Any, report_hash: str, train: Path, validation: Path | None, ledger_path: Path | None, dry_run: bool) -> int:
    """Print the failed check's report, record it in the ledger (unless --dry-run) and say nothing was submitted."""
    from .finetune.submit import digest
    from .reporters import render

    s = report.summary()
    buf = io.StringIO()
    render("text", report, buf)
    click.echo(buf.getvalue(), nl=False)
    if not dry_run:
        train_d = digest(train)
        val_d = digest(validation) if validation else None
        with _open_ledger(ledger_path) as ledger:
            ledger.record_check((str(train), train_d.sha256), (str(validation), val_d.sha256) if val_d else None, report_hash, False, s)
    click.echo(f"dsqa: not submitted: the check failed ({_count(s['error'], 'error')}, {_count(s['warning'], 'warning')}); fix the findings above", err=True)
    return EXIT_FAILED


def _print_check_passed(report: Any, report_hash: str) -> None:
    """The passed check's counts, report hash and token lines."""
    from .finetune.submit import token_lines

    s = report.summary()
    click.echo(f"check passed: {_count(s['error'], 'error')}, {_count(s['warning'], 'warning')}, {s['info']:,} info (report sha256 {report_hash[:12]})")
    for line in token_lines(report):
        click.echo(f"  {line}")


def _price_check(api: Backend, estimate: float | None, max_cost: float | None, yes: bool) -> Callable[[Any], None]:
    """The Submitter's ``before_create`` hook: print the provider's estimate and refuse it if over --max-cost."""

    def price_check(request: Any) -> None:
        who = PROVIDERS.get(api.name, api.name)
        est = api.estimate(request)
        if est is None or est.price_usd is None:
            if est is not None:
                click.echo(f"{who}'s price estimate is not available ({(est.note or 'no reason given').replace('_', ' ')})")
            if estimate is None:
                _cost_gate(None, max_cost, yes, f"neither dsqa nor {who}")
            return
        tokens = f" for {est.train_tokens:,.0f} training tokens" if est.train_tokens else ""
        click.echo(f"{who}'s price estimate: {_usd(est.price_usd)}{tokens}")
        if est.allowed is False:
            raise DsqaError(f"{who} says this job would exceed the account's credit limit (estimate {_usd(est.price_usd)}); not created")
        _cost_gate(est.price_usd, max_cost, yes, f"{who}'s estimate")

    return price_check


def _create_job(spec: Any, report: Any, report_hash: str, train: Path, validation: Path | None, ledger_path: Path | None, *,
                estimate: float | None, max_cost: float | None, yes: bool, timeout: float, max_wait: float,
                upload_limit: int | None, part_size: int | None, follow: bool, interval: float, new: bool = False) -> int:
    """Record the passed check, upload the files and create the job (once), then follow it with --watch."""
    from .finetune.backend import make_backend
    from .finetune.submit import PART_SIZE, SINGLE_UPLOAD_LIMIT, Submitter, digest, resolve_settings

    train_d = digest(train)
    val_d = digest(validation) if validation else None
    with _open_ledger(ledger_path) as ledger:
        check_id = ledger.record_check(
            (str(train), train_d.sha256), (str(validation), val_d.sha256) if val_d else None, report_hash, report.passed, report.summary()
        )
        api = make_backend(spec.backend, timeout, _retry(max_wait))
        # options the provider would refuse are refused before anything is uploaded
        api.preflight(spec.job_request("file-to-be-uploaded", "file-to-be-uploaded" if validation else None, {}))
        window, pause = resolve_settings()
        submitter = Submitter(ledger, api, _echo, single_limit=upload_limit or SINGLE_UPLOAD_LIMIT, part_size=part_size or PART_SIZE,
                              before_create=_price_check(api, estimate, max_cost, yes), say=lambda text: click.echo(text, err=True),
                              window=window, interval=pause, new=new)
        job, _created = submitter.submit(check_id, report_hash, train_d, val_d, spec)
        click.echo(f"job: {job.id} ({job.status}) on {api.name}")
        if follow:
            return _watch(ledger, api, job.id, interval)
        click.echo(f"follow it with: dsqa watch {job.id}")
    return EXIT_OK


PROVIDERS = {"openai": "OpenAI", "azure": "Azure OpenAI", "together": "Together"}


def _usd(value: float) -> str:
    """Dollars with cents, or with enough decimals to show a sum under a cent."""
    if value == 0 or abs(value) >= 0.01:
        return f"${value:,.2f}"
    return f"${value:.6f}".rstrip("0")


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _report_cost(report: Any) -> float | None:
    """dsqa's own training-cost estimate (sum over training files), None when no price is known."""
    total = None
    for ds in report.datasets:
        cost = (ds.stats.get("tokens") or {}).get("estimated_cost_usd")
        if cost is not None:
            total = (total or 0.0) + cost
    return total


def _cost_gate(estimate: float | None, max_cost: float | None, yes: bool, source: str) -> None:
    """Refuse (exit 2) an estimate over --max-cost, or an unknown one, unless --yes."""
    if max_cost is None:
        return
    if estimate is None:
        if yes:
            click.echo(f"no cost estimate to compare with --max-cost {_usd(max_cost)}; submitting because of --yes", err=True)
            return
        raise UsageError(f"no cost estimate for this model to compare with --max-cost {_usd(max_cost)} ({source} has a price for it); add --yes to submit anyway")
    if estimate > max_cost:
        if yes:
            click.echo(f"{source} {_usd(estimate)} is over --max-cost {_usd(max_cost)}; submitting because of --yes", err=True)
            return
        raise UsageError(f"{source} {_usd(estimate)} is over --max-cost {_usd(max_cost)}; not submitted (add --yes to submit anyway)")


def _dry_run(api: Backend, spec: Any, train: Path, validation: Path | None, estimate: float | None, max_cost: float | None, yes: bool) -> int:
    """Print what `submit` would send, with the key masked, and whether --max-cost would let it through."""
    import json

    placeholder = "<file id of " + train.name + " after upload>"
    val_placeholder = f"<file id of {validation.name} after upload>" if validation else None
    request = spec.job_request(placeholder, val_placeholder, {"dsqa_dataset_sha256": "<sha256 of the training file>",
                                                                "dsqa_report_sha256": "<sha256 of the check report>",
                                                                "dsqa_submission": "<new submission id>",
                                                                "dsqa_request_sha256": "<sha256 of the job settings>"})
    if api.name == "together":
        path = "/v1/fine-tunes"
        body: dict[str, Any] = {"model": request.model, "training_file": placeholder}
        if val_placeholder:
            body["validation_file"] = val_placeholder
        body.update(request.params)
        for key, value in (("suffix", request.suffix), ("random_seed", request.seed)):
            if value is not None:
                body[key] = value
        note = "the together SDK adds the model's own defaults (LoRA rank, batch size, scheduler) from GET /v1/fine-tunes/models/limits"
    else:
        path = "/fine_tuning/jobs"
        body = api.preflight(request)
        note = None
    cost = f"{_usd(estimate)} (dsqa's token estimate)" if estimate is not None else "unknown (no per-token price for this model in dsqa's catalogue)"
    click.echo(f"dry run: nothing uploaded or created; estimated cost {cost}")
    click.echo(f"POST {api.endpoint}{path}")
    click.echo("Authorization: Bearer ***")
    click.echo(json.dumps(body, indent=2, sort_keys=True))
    if note:
        click.echo(f"note: {note}")
    try:
        _cost_gate(estimate, max_cost, yes, "dsqa's token estimate" if estimate is not None else "dsqa's catalogue (before upload)")
    except UsageError as exc:
        click.echo(f"dsqa: --max-cost: {exc}", err=True)
        return 2
    return EXIT_OK


def _when(stamp: float | int | None) -> str:
    """A Unix time as a UTC minute, e.g. 2026-12-07 18:42 UTC."""
    import datetime as dt

    if stamp is None:
        return "-"
    return dt.datetime.fromtimestamp(float(stamp), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@click.command()
@click.option("--offline", is_flag=True, help="Show the ledger only; do not ask the API for current statuses.")
@click.option("--remote", is_flag=True, help="List the account's jobs on the backend (not only those in the ledger).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Jobs to show with --remote.")
@_backend_option
@_ledger_option
@_timeout_option
@_max_wait_option
def jobs(offline: bool, remote: bool, limit: int, backend: str | None, ledger_path: Path | None, timeout: float, max_wait: float) -> int:
    """List every submission in the ledger: when, dataset -> report -> file -> job -> model.

    Jobs that are still running are refreshed from the API unless --offline. With --remote, list the
    account's jobs on --backend instead, marking those the ledger knows.
    """
    if remote:
        if offline:
            raise UsageError("--remote and --offline exclude each other")
        return _remote_jobs(limit, backend, ledger_path, timeout, max_wait)
    with _open_ledger(ledger_path, create=False) as ledger:
        if not offline:
            _refresh_running(ledger, backend, timeout, max_wait)
        rows = ledger.overview()
    if not rows:
        click.echo("no submissions yet")
        return EXIT_OK
    for row in rows:
        click.echo(_overview_line(row))
    return EXIT_OK


def _remote_jobs(limit: int, backend: str | None, ledger_path: Path | None, timeout: float, max_wait: float) -> int:
    """`jobs --remote`: list the account's jobs on the backend, refreshing those the ledger knows."""
    from .finetune.backend import make_backend

    name = backend or "openai"
    api = make_backend(name, timeout, _retry(max_wait))
    found = api.list_jobs(limit)
    with _open_ledger(ledger_path) as ledger:
        known = {r["job_id"] for r in ledger.overview() if r["job_id"]}
        for job in found:
            if job.id in known:
                ledger.record_job(job, api.name, api.endpoint)
    if not found:
        click.echo(f"no jobs on {api.endpoint}")
        return EXIT_OK
    for job in found:
        mark = "ledger" if job.id in known else "not in the ledger"
        click.echo(f"{_when(job.created_at)}  {job.id}  {job.status}  {job.model}  -> {job.fine_tuned_model or '-'}  ({mark})")
    return EXIT_OK


def _refresh_running(ledger: Ledger, backend: str | None, timeout: float, max_wait: float) -> None:
    """Record the current status of every job in the ledger that has not ended; stop at the first API error."""
    from .finetune.backend import TERMINAL_STATUSES, BackendError, make_backend

    backends: dict[str, Any] = {}
    for row in ledger.overview():
        if not row["job_id"] or row["status"] in TERMINAL_STATUSES:
            continue
        name = backend or row["backend"]
        try:
            if name not in backends:
                backends[name] = make_backend(name, timeout, _retry(max_wait))
            ledger.record_job(backends[name].get_job(row["job_id"]), name, backends[name].endpoint)
        except BackendError as exc:
            click.echo(f"dsqa: not refreshed: {exc}", err=True)
            return


def _overview_line(row: dict[str, Any]) -> str:
    import json

    def short(digest: str | None) -> str:
        return (digest or "-")[:12]

    when = _when(row["created_at"])
    updated = f", updated {_when(row['updated_at'])}" if row.get("updated_at") else ""
    if row["submission"] is None:
        return f"{when}  {row['job_id']}  {row['status']}  model {row['fine_tuned_model'] or '-'}  (not submitted by dsqa; {row['backend']}{updated})"
    request = json.loads(row["request"])
    parts = [
        f"{when}  {row['train_path']} (sha256 {short(row['train_sha256'])})",
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
    return " -> ".join(parts) + f"  [{row['backend']}, {request['model']}{updated}]"


@click.command()
@click.argument("job_id", metavar="JOB")
@_backend_option
@_ledger_option
@_timeout_option
@_max_wait_option
def status(job_id: str, backend: str | None, ledger_path: Path | None, timeout: float, max_wait: float) -> int:
    """Show a job's current status, model, error and (once it succeeded) its checkpoints; record it in the ledger."""
    from .finetune.track import describe

    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout, max_wait)
        job = api.get_job(job_id)
        ledger.record_job(job, api.name, api.endpoint)
        points = api.checkpoints(job_id) if job.succeeded else []
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
@_max_wait_option
def watch(job_id: str, backend: str | None, ledger_path: Path | None, timeout: float, interval: float, max_wait: float) -> int:
    """Follow JOB: status changes, progress by step, latest losses and new events.

    Exit status: 0 when it succeeds (the fine-tuned model id is printed and recorded), 1 when it
    fails or is cancelled, 2 for an API error. Unknown statuses count as still running.
    """
    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout, max_wait)
        return _watch(ledger, api, job_id, interval)


@click.command()
@click.argument("job_id", metavar="JOB")
@_backend_option
@_ledger_option
@_timeout_option
@_max_wait_option
def cancel(job_id: str, backend: str | None, ledger_path: Path | None, timeout: float, max_wait: float) -> int:
    """Cancel JOB and record it in the ledger."""
    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout, max_wait)
        before = api.get_job(job_id)
        if before.terminal:
            ledger.record_job(before, api.name, api.endpoint)
            click.echo(f"{before.id} had already finished ({before.status}); nothing to cancel")
            return EXIT_OK
        job = api.cancel_job(job_id)
        ledger.record_job(job, api.name, api.endpoint)
    click.echo(f"{job.id}: {job.status}")
    return EXIT_OK


@click.command()
@click.argument("job_id", metavar="JOB")
@click.option("--follow", is_flag=True, help="Keep printing new events until the job ends.")
@_backend_option
@_ledger_option
@_timeout_option
@_interval_option
@_max_wait_option
def events(job_id: str, follow: bool, backend: str | None, ledger_path: Path | None, timeout: float, interval: float, max_wait: float) -> int:
    """Print JOB's events, oldest first, with their times; --follow keeps printing new ones until the job ends.

    Exit status with --follow: 0 when the job succeeds, 1 when it fails or is cancelled.
    """
    import time

    from .finetune.track import event_line

    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout, max_wait)
        seen: set[str] = set()
        while True:
            job = api.get_job(job_id) if follow else None
            if job is not None:
                ledger.record_job(job, api.name, api.endpoint)
            for event in api.new_events(job_id, seen):
                seen.add(event.id)
                click.echo(event_line(event))
            if job is None:
                return EXIT_OK
            if job.terminal:
                return _job_exit(job)
            time.sleep(interval)


@click.command()
@click.argument("job_id", metavar="JOB")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the metrics CSV.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="Also draw the loss curves: an .svg or .png file.")
@_backend_option
@_ledger_option
@_timeout_option
@_max_wait_option
def metrics(job_id: str, output: Path, chart: Path | None, backend: str | None, ledger_path: Path | None, timeout: float, max_wait: float) -> int:
    """Write JOB's per-step metrics as CSV (step, losses, accuracies), optionally with a loss chart.

    From the results file once the job has one; while it runs (or on Together, which writes none),
    from the job's metric events.
    """
    from .finetune.track import loss_png, loss_svg, parse_results, results_csv, rows_from_metrics
    from .outputs import write_atomic

    if chart is not None and chart.suffix.lower() not in (".svg", ".png"):
        raise UsageError(f"{chart}: --chart writes SVG or PNG; name the file *.svg or *.png")
    with _open_ledger(ledger_path) as ledger:
        api = _backend_for(ledger, job_id, backend, timeout, max_wait)
        job = api.get_job(job_id)
        ledger.record_job(job, api.name, api.endpoint)
    if job.result_files:
        rows = parse_results(api.file_content(job.result_files[0]), job.result_files[0])
        source = "results file"
    else:
        rows = rows_from_metrics(api.metric_rows(job_id))
        source = "metric events"
        if not rows and job.failed_or_cancelled:
            raise DsqaError(f"{job_id} {job.status}: there will be no results file, and it left no metric events")
        if not rows:
            raise DsqaError(f"{job_id}: no metrics yet (status {job.status}): no results file and no metric events")
        if job.failed_or_cancelled:
            source = f"metric events (the job {job.status}: there will be no results file)"
    try:
        write_atomic(output, results_csv(rows))
        if chart is not None:
            draw = loss_png if chart.suffix.lower() == ".png" else loss_svg
            write_atomic(chart, draw(rows, f"{job_id} loss"))
    except OSError as exc:
        raise DsqaError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
    steps = f"{len(rows):,} step{'' if len(rows) == 1 else 's'}"
    click.echo(f"{steps} from the {source} ({job.status}) written to {output}" + (f", chart to {chart}" if chart else ""), err=True)
    from .cli_eval import print_diagnosis

    with _open_ledger(ledger_path) as ledger:
        print_diagnosis(ledger, api, job)
    return EXIT_OK


@click.command()
@click.option("--delete", "delete_ids", multiple=True, metavar="FILE_ID", help="Delete this uploaded file (repeatable).")
@click.option("--prune", is_flag=True, help="Delete every file whose jobs have all ended (succeeded, failed or cancelled).")
@_backend_option
@_ledger_option
@_timeout_option
@_max_wait_option
def files(delete_ids: tuple[str, ...], prune: bool, backend: str | None, ledger_path: Path | None, timeout: float, max_wait: float) -> int:
    """List the uploaded files the ledger knows (id, size, name, when, the jobs that used them), or delete them."""
    with _open_ledger(ledger_path, create=False) as ledger:
        known = ledger.known_files()
        if backend is not None:
            known = [f for f in known if f["backend"] == backend]
        if not delete_ids and not prune:
            _list_files(known)
            return EXIT_OK
        targets = _files_to_delete(known, delete_ids, prune)
        if not targets:
            click.echo("nothing to delete: every file still has a job that has not ended")
            return EXIT_OK
        _delete_files(ledger, targets, timeout, max_wait)
    return EXIT_OK


def _file_uses(f: dict[str, Any]) -> list[str]:
    """The statuses of the jobs (or states of the submissions) that used an uploaded file."""
    return [u for u in (f["uses"] or "").split(",") if u]


def _list_files(known: list[dict[str, Any]]) -> None:
    """One line per uploaded file: id, size, name, when, backend and the submissions that used it."""
    if not known:
        click.echo("no uploaded files in the ledger")
    for f in known:
        uses = _file_uses(f)
        used = f"used by {_count(len(uses), 'submission')} ({', '.join(uses)})" if uses else "not used by any job"
        click.echo(f"{f['file_id']}  {f['bytes'] or 0:,} bytes  {f['filename'] or '-'}  {_when(f['created_at'])}  {f['backend']}  {used}")


def _files_to_delete(known: list[dict[str, Any]], delete_ids: tuple[str, ...], prune: bool) -> list[dict[str, Any]]:
    """The files named by --delete, then (with --prune) every file whose jobs have all ended."""
    from .finetune.backend import TERMINAL_STATUSES

    by_id = {f["file_id"]: f for f in known}
    targets = []
    for fid in delete_ids:
        if fid not in by_id:
            raise UsageError(f"{fid}: not a file in the ledger (`dsqa files` lists them)")
        targets.append(by_id[fid])
    if prune:
        for f in known:
            uses = _file_uses(f)
            if f not in targets and uses and all(u in TERMINAL_STATUSES or u == "rejected" for u in uses):
                targets.append(f)
    return targets


def _delete_files(ledger: Ledger, targets: list[dict[str, Any]], timeout: float, max_wait: float) -> None:
    """Delete each file on its backend (one already gone counts as deleted) and forget it in the ledger."""
    from .finetune.backend import make_backend

    apis: dict[str, Backend] = {}
    for f in targets:
        if f["backend"] not in apis:
            apis[f["backend"]] = make_backend(f["backend"], timeout, _retry(max_wait))
        api = apis[f["backend"]]
        try:
            api.delete_file(f["file_id"])
        except DsqaError as exc:
            if getattr(exc, "kind", None) != "not_found":
                raise
        ledger.forget_file_id(f["backend"], f["endpoint"], f["file_id"])
        click.echo(f"deleted {f['file_id']} ({f['filename'] or '-'}) on {f['backend']}")


@click.command()
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default=None, help="Only this provider's models (default: all).")
@click.option("--all", "show_all", is_flag=True, help="Also list models that are retired or can no longer be fine-tuned.")
def models(backend: str | None, show_all: bool) -> int:
    """List the models dsqa knows can be fine-tuned: name, methods, maximum tokens, price per 1M tokens, shutdown date."""
    import datetime as dt

    from .targets import catalogue, trainable

    today = dt.date.today()
    names = [backend] if backend else ["openai", "together"]
    for name in names:
        tab = catalogue(name)
        shown = [t for t in tab.models.values() if show_all or trainable(t, today)]
        label = "openai, azure" if name == "openai" and backend is None else name
        click.echo(f"{label}: {_count(len(shown), 'model')}" + ("" if show_all else " that can be fine-tuned today (--all adds retired ones)"))
        for t in shown:
            methods = "/".join(t.methods) + (f" ({'/'.join(t.training)})" if t.training else "")
            limit = f"{t.max_tokens:,} tokens" if t.max_tokens else "limit unknown"
            if t.max_tokens_dpo:
                limit += f" (DPO {t.max_tokens_dpo:,})"
            price = f"${t.training_price_per_1m:,.2f}/1M" if t.training_price_per_1m is not None else "price: ask the API"
            ends = t.shutdown.isoformat() if t.shutdown else "no shutdown announced"
            if t.shutdown and not t.shutdown_verified:
                ends += " (unverified)"
            retired = "  RETIRED" if not trainable(t, today) else ""
            click.echo(f"  {t.id}  {methods}  {limit}  {price}  {ends}{retired}")
    return EXIT_OK

