"""`dsqa diagnose` (what a run's loss curves say) and `dsqa eval` (the fine-tuned model against its base on held-out data)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli_finetune import _backend_option, _ledger_option
from .cli_finetune import _timeout_option
from .errors import DsqaError, UsageError

if TYPE_CHECKING:
    from .finetune.backend import Backend, JobInfo
    from .finetune.diagnose import RunFacts, Series
    from .finetune.ledger import Ledger
    from .model import Finding

EXIT_OK = 0
EXIT_FINDINGS = 1
DIAGNOSE_FORMATS = ("text", "json", "markdown", "html")


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


def _write(output: Path | None, text: str) -> None:
    from .outputs import write_atomic

    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(output, text)
    except OSError as exc:
        raise DsqaError(f"{output}: cannot write the report: {exc.strerror or exc}") from None


# -- diagnosis ---------------------------------------------------------------------------------


def _count_records(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def run_facts(ledger: Ledger | None, job_id: str | None, epochs: int | None, *, duplicates: bool = False) -> RunFacts:
    """Epochs, training file, its size and (when asked) its duplicate figures, from flags and the ledger."""
    from .finetune.diagnose import RunFacts
    from .finetune.evaluate import _sha256

    info = ledger.training_data(job_id=job_id) if ledger is not None and job_id else None
    if info is None:
        return RunFacts(epochs=epochs)
    request = info.get("request") or {}
    method = request.get("method") or {}
    hyper = (method.get(method.get("type", ""), {}) or {}).get("hyperparameters", {}) if isinstance(method, dict) else {}
    epochs = epochs or (hyper.get("n_epochs") if isinstance(hyper.get("n_epochs"), int) else None)
    path = Path(info["train_path"]) if info.get("train_path") else None
    if path is None or not path.is_file() or _sha256(path) != info.get("train_sha256"):
        return RunFacts(epochs=epochs, train_path=info.get("train_path"))
    examples = _count_records(path)
    if epochs is None and info.get("backend") in ("openai", "azure"):
        from .targets import auto_epochs

        epochs = auto_epochs(examples)  # the job asked for "auto": OpenAI's documented heuristic
    elif epochs is None and info.get("backend") == "together":
        epochs = 1  # Together's default n_epochs
    dups = None
    if duplicates:
        from .config import load_config
        from .engine import check, default_jobs

        report = check([path], load_config().with_overrides(select=("DUP",)), jobs=default_jobs())
        dups = report.datasets[0].stats.get("duplicates") if report.datasets else None
    return RunFacts(epochs=epochs, train_path=str(path), examples=examples, duplicates=dups)


def job_series(api: Backend, job: JobInfo) -> Series:
    """A job's metrics: its results file, else the backend's metrics by step (``metric_rows``) when it has them."""
    from .finetune.diagnose import Series
    from .finetune.track import parse_results

    if job.result_files:
        rows = parse_results(api.file_content(job.result_files[0]), job.result_files[0])
        return Series.from_rows(rows, job.result_files[0])
    # a provider without a results file (Together) reports its metrics by step instead
    metric_rows = getattr(api, "metric_rows", None)
    found = metric_rows(job.id) if callable(metric_rows) else []
    if not found:
        raise DsqaError(f"{job.id}: no results file yet (status {job.status})")
    return Series.from_rows(found, f"the metrics of job {job.id}")


def diagnosis(ledger: Ledger | None, job_id: str | None, series: Series, subject: str, epochs: int | None = None) -> tuple[list[Finding], RunFacts]:
    """The findings, with the training file's duplicate figures fetched only when memorisation is found."""
    from .finetune.diagnose import diagnose

    facts = run_facts(ledger, job_id, epochs)
    found = diagnose(series, facts, subject=subject)
    if any(f.code == "TRN005" for f in found) and facts.examples is not None:
        facts = run_facts(ledger, job_id, epochs, duplicates=True)
        found = diagnose(series, facts, subject=subject)
    return found, facts


def print_diagnosis(ledger: Ledger, api: Backend, job: JobInfo) -> None:
    """The end of `watch` and `metrics`: the diagnosis in a few lines, or one line saying why there is none."""
    from .finetune.diagnose import brief

    try:
        series = job_series(api, job)
        found, _ = diagnosis(ledger, job.id, series, job.id)
    except DsqaError as exc:
        click.echo(f"diagnosis: not available ({exc})")
        return
    for line in brief(found):
        click.echo(line)


@click.command()
@click.argument("target", metavar="JOB|RESULTS.csv", required=False)
@click.option("-f", "--format", "output_format", type=click.Choice(DIAGNOSE_FORMATS), default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here (atomically) instead of stdout.")
@click.option("--epochs", type=click.IntRange(1, 50), help="The run's epoch count, to name the epoch of a step (default: from the ledger).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error", show_default=True,
              help="Exit 1 when a finding is at or above this severity.")
@click.option("--explain", metavar="CODE", help="Document one TRN code (what it looks for, why, failing and passing curves) and exit.")
@_backend_option
@_ledger_option
@_timeout_option
def diagnose(target: str | None, output_format: str, output: Path | None, epochs: int | None, fail_on: str, explain: str | None,
             backend: str | None, ledger_path: Path | None, timeout: float) -> int:
    """Read a run's loss and accuracy curves and say what they show (TRN codes), with a hint for each.

    JOB is a fine-tuning job id (its results file is downloaded); a path to a results CSV (as written
    by `dsqa metrics` or downloaded from the API) is read directly. Exit status: 0 when no finding
    is at or above --fail-on, 1 when one is, 2 for a usage, input or API error.
    """
    from .finetune.diagnose import Series, build_report, explain as explain_code, render
    from .finetune.track import parse_results

    if explain:
        click.echo(explain_code(explain), nl=False)
        return EXIT_OK
    if not target:
        raise UsageError("name a job id or a results CSV (or use --explain CODE)")
    path = Path(target)
    if path.is_file():
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise DsqaError(f"{path}: cannot read: {exc.strerror or exc}") from None
        series = Series.from_rows(parse_results(content, str(path)), str(path))
        found, _ = diagnosis(None, None, series, str(path), epochs)
    else:
        from .cli_finetune import _backend_for, _open_ledger

        with _open_ledger(ledger_path) as ledger:
            api = _backend_for(ledger, target, backend, timeout)
            job = api.get_job(target)
            ledger.record_job(job, api.name, api.endpoint)
            series = job_series(api, job)
            found, _ = diagnosis(ledger, target, series, target, epochs)
    report = build_report(series, found, target, fail_on)
    _write(output, render(output_format, report, series, f"{target} loss"))
    if output is not None:
        s = report.summary()
        click.echo(f"dsqa: {s['error']} error(s), {s['warning']} warning(s), {s['info']} info; report written to {output}", err=True)
    return EXIT_OK if report.passed else EXIT_FINDINGS


# -- evaluation ----------------------------------------------------------------------------------


def _price(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        a, b = (float(x) for x in value.split(","))
    except ValueError:
        raise UsageError(f"--price {value!r}: expected IN,OUT in USD per 1M tokens, e.g. 0.80,3.20") from None
    if a < 0 or b < 0:
        raise UsageError(f"--price {value!r}: prices cannot be negative")
    return a, b


@click.command(name="eval")
@click.option("--model", required=True, help="The fine-tuned model (on Azure: its deployment name).")
@click.option("--against", metavar="BASE", help="The model to compare with, usually the base it was trained from.")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Held-out chat JSONL: each record's last assistant reply is the reference.")
@click.option("--backend", type=click.Choice(["openai", "azure", "together"]), default=None,
              help="openai (OPENAI_API_KEY, OPENAI_BASE_URL), azure (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, OPENAI_API_VERSION) "
              "or together (TOGETHER_API_KEY, TOGETHER_BASE_URL; default https://api.together.xyz/v1). "
              "Default: the backend of the job that made --model, else openai.")
@click.option("--judge", metavar="MODEL", help="Also have MODEL grade each reply against the reference (1-5), reported as that model's judgement.")
@click.option("--job", metavar="JOB", help="The job that made --model (default: found in the ledger by the model id).")
@click.option("--max-cost", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Refuse when the estimate (USD) is above this.")
@click.option("--yes", is_flag=True, help="Send even above --max-cost or without a price.")
@click.option("--price", metavar="IN,OUT", help="USD per 1M input and output tokens, for models dsqa has no price for.")
@click.option("--allow-train", is_flag=True, help="Run even when --data is the job's training file.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Requests in flight at once.")
@click.option("--max-tokens", type=click.IntRange(1, 65536), help="max_tokens per reply (default: twice the reference's tokens plus 64).")
@click.option("-f", "--format", "output_format", type=click.Choice(DIAGNOSE_FORMATS), default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here (atomically) instead of stdout.")
@click.option("-r", "--rules", metavar="PACK", help="Rule pack for the held-out check (default: the project's configuration).")
@click.option("--ledger", "ledger_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ledger file (default: DSQA_LEDGER, else .dsqa/ledger.sqlite in the project).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True, help="Seconds to wait for each reply.")
def eval_command(model: str, against: str | None, data: Path, backend: str | None, judge: str | None, job: str | None, max_cost: float,
                 yes: bool, price: str | None, allow_train: bool, concurrency: int, max_tokens: int | None, output_format: str,
                 output: Path | None, rules: str | None, ledger_path: Path | None, timeout: float) -> int:
    """Show what the fine-tuned --model does on held-out examples, against --against BASE.

    Each example's messages before its last assistant reply go to each model (temperature 0); the
    replies are scored against that reply: normalised exact match, similarity, and for JSON or
    tool-call references validity and field-by-field match. The held-out file is checked first and
    compared with the job's training file. Nothing is sent before the cost estimate passes
    --max-cost; replies are kept in the ledger, so a rerun sends only what is missing.
    Exit status: 0 done, 1 refused by a guard (failed check, training file, cost), 2 usage or API error.
    """
    from dataclasses import replace

    from .cli_finetune import _open_ledger
    from .finetune.evaluate import EVAL_BACKENDS, RENDERERS, EvalOptions, evaluate, make_client

    if not data.is_file():
        raise DsqaError(f"{data}: cannot read: No such file or directory")
    opts = EvalOptions(model=model, data=data, against=against, judge=judge, job=job, max_cost=max_cost, yes=yes,
                       allow_train=allow_train, concurrency=concurrency, max_tokens=max_tokens, price=_price(price), rules=rules)
    with _open_ledger(ledger_path) as ledger:
        if backend is None:
            info = ledger.training_data(job_id=job) if job else ledger.training_data(model=model)
            backend = info["backend"] if info and info["backend"] in EVAL_BACKENDS else "openai"
        opts = replace(opts, **_check_models(backend, model, against))
        client = make_client(backend, timeout)
        result = evaluate(ledger, client, opts, _echo_err)
    payload: dict[str, Any] = result.to_dict()
    _write(output, RENDERERS[output_format](payload))
    if output is not None:
        click.echo(f"dsqa: eval report written to {output}", err=True)
    return EXIT_OK


def _check_models(backend: str, model: str, against: str | None) -> dict[str, str]:
    """Stop (exit 2) before any request when a model is not one the backend's catalogue knows;
    return the canonical ids to use instead of the names given (any letter case resolves).

    The base (--against) must be in the catalogue; so must the base of an OpenAI ``ft:`` model.
    Azure names deployments and Together names fine-tuned models freely: those are not checked.
    """
    from .targets import canonical, resolve_for

    out: dict[str, str] = {}
    if backend in ("openai", "together") and against is not None:
        out["against"] = canonical(backend, against) if backend == "openai" else resolve_for(backend, against).name
    if backend == "openai" and model.startswith("ft:"):
        resolve_for(backend, model)
    return out


__all__ = ["diagnosis", "print_diagnosis"]
