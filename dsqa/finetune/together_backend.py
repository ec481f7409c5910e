"""The Together AI backend: the official `together` SDK behind the Backend interface."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .backend import BackendError, CheckpointInfo, Estimate, EventInfo, JobInfo, JobRequest, RemoteFile, mask_url, redact, url_secrets
from .transport import Retry, retry_after

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.together.ai"
#: a job listed with a creation time this much before the submission still counts (clock skew)
CLOCK_SKEW = 300.0
#: metric names Together uses, mapped to the columns of dsqa's metrics CSV
METRIC_NAMES = {
    "step": "step", "global_step": "step", "train/global_step": "step",
    "loss": "train_loss", "train_loss": "train_loss", "train/loss": "train_loss",
    "eval_loss": "valid_loss", "valid_loss": "valid_loss", "eval/loss": "valid_loss",
}



def _stamp(value: Any) -> int | None:
    """Unix seconds of an API timestamp (a datetime, an ISO string or a number)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp())
    return None


class TogetherBackend:
    """Files and fine-tuning jobs through a `together.Together` client (its own retries off; dsqa's Retry on)."""

    name = "together"
    #: jobs carry no metadata: a job the ledger does not know is never adopted (it may be someone else's)
    job_metadata = False
    #: Together keeps one file per content (sha256): a repeated upload answers 409 with the existing file
    dedupes_uploads = True

    def __init__(self, client: Any, endpoint: str, secrets: tuple[str, ...], retry: Retry | None = None) -> None:
        self.endpoint = endpoint
        self._client = client
        self._secrets = tuple(s for s in secrets if s)
        self.retry = retry or Retry()
        self._limits: dict[str, Any] = {}
        #: the result of Together's own file check for the last upload (shown by `dsqa submit`)
        self.file_checks: list[str] = []

    # -- error translation -------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _detail(self, exc: Any) -> str:
        body = getattr(exc, "body", None)
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict) and inner.get("message"):
                return self._redact(str(inner["message"]))
            if isinstance(inner, str):
                return self._redact(inner)
        elif isinstance(body, str) and body.strip():
            return self._redact(body)[:300]
        return self._redact(str(exc))[:300]

    def _error(self, exc: Exception, what: str) -> BackendError | None:
        import together

        if isinstance(exc, (json.JSONDecodeError, together.APIResponseValidationError)):
            # a 200 whose body is cut off or is not the object asked for: the request may have taken effect
            return BackendError(f"{what}: {self.endpoint} sent a malformed answer (not the JSON object expected)", "malformed",
                                short="malformed answer")
        if isinstance(exc, together.APIStatusError):
            status = exc.status_code
            detail = self._detail(exc)
            if status == 401:
                return BackendError(f"{what}: the API key was rejected or the account is out of credit (401): {detail}; check TOGETHER_API_KEY",
                                    "config", status=status)
            if status == 404:
                return BackendError(f"{what}: not found (404): {detail}", "not_found", status=status)
            if status == 429 or status >= 500:
                return BackendError(f"{what}: HTTP {status} from {self.endpoint}: {detail}", "transient",
                                    retry_after=retry_after(exc.response),
                                    short=f"HTTP {status}" + (" (rate limited)" if status == 429 else ""), status=status)
            return BackendError(f"{what}: HTTP {status}: {detail}", "rejected", status=status)
        if isinstance(exc, together.APITimeoutError):
            return BackendError(f"{what}: {self.endpoint} did not answer in time", "transient", short="no answer in time")
        if isinstance(exc, together.APIConnectionError):
            return BackendError(f"{what}: cannot reach {self.endpoint} (network unreachable or connection dropped)", "transient",
                                short="connection failed")
        if isinstance(exc, together.TogetherError):
            return BackendError(f"{what}: {self._redact(str(exc))}", "rejected")
        if isinstance(exc, ValueError):
            # the SDK checks options against the model's limits before sending anything
            return BackendError(f"{what}: {self._redact(str(exc))}", "rejected")
        return None

    def _call(self, what: str, fn: Callable[[], T], *, safe: bool = True) -> T:
        """One API call; repeated on transient failures only when ``safe`` (no effect when done twice)."""
        def translate(exc: Exception) -> BackendError | None:
            return self._error(exc, what)

        # a call that must not run twice is repeated only after a 429 (the request was refused)
        return self.retry.run(what, fn, translate, rate_limits_only=not safe)

    # -- files -------------------------------------------------------------------------------

    def upload_name(self, path: Path, sha256: str) -> str:
        """The SDK uploads under the file's own name (Together itself de-duplicates by content)."""
        return path.name

    def upload(self, path: Path, *, size: int, md5: str, single_limit: int, part_size: int, filename: str | None = None) -> RemoteFile:
        from together.lib import check_file

        report = check_file(path, purpose="fine-tune")
        samples = report.get("num_samples")
        if not report.get("is_check_passed"):
            raise BackendError(f"{path}: Together's file check failed: {self._redact(str(report.get('message')))}", "rejected")
        counted = f", {samples:,} examples" if isinstance(samples, int) else ""
        self.file_checks.append(f"{path}: Together's file check passed ({report.get('filetype') or 'jsonl'}{counted})")
        # Together de-duplicates by sha256: a repeated upload answers 409 and the SDK returns the existing file
        obj = self._call(f"uploading {path}", lambda: self._client.files.upload(path, purpose="fine-tune", check=False), safe=False)
        return _file(obj)

    def get_file(self, file_id: str) -> RemoteFile | None:
        try:
            obj = self._call(f"looking up file {file_id}", lambda: self._client.files.retrieve(file_id))
        except BackendError as exc:
            if exc.kind == "not_found":
                return None
            raise
        return _file(obj)

    def file_content(self, file_id: str) -> bytes:
        content: bytes = self._call(f"downloading file {file_id}", lambda: self._client.files.content(file_id).read())
        return content

    def list_files(self) -> list[RemoteFile]:
        listing = self._call("listing files", lambda: self._client.files.list())
        return [_file(f) for f in listing.data]

    def delete_file(self, file_id: str) -> None:
        self._call(f"deleting file {file_id}", lambda: self._client.files.delete(file_id))

    # -- jobs --------------------------------------------------------------------------------

    def model_limits(self, model: str) -> Any:
        if model not in self._limits:
            self._limits[model] = self._call(f"reading the fine-tuning limits of {model}",
                                             lambda: self._client.fine_tuning.model_limits(model_name=model))
        return self._limits[model]

    def _request(self, request: JobRequest) -> tuple[Any, Any, Any]:
        from together.lib.resources.fine_tuning import create_finetune_request

        limits = self.model_limits(request.model)
        params = dict(request.params)
        if params.get("training_method", "sft") == "sft":
            params.setdefault("train_on_inputs", "auto")  # the SDK would otherwise print a warning
        try:
            return create_finetune_request(
                model_limits=limits, training_file=request.training_file, model=request.model,
                validation_file=request.validation_file or "", suffix=request.suffix, random_seed=request.seed, **params,
            )
        except ValueError as exc:
            raise BackendError(f"{request.model}: {exc}", "rejected") from None

    def preflight(self, request: JobRequest) -> dict[str, Any]:
        body, _, _ = self._request(request)
        out: dict[str, Any] = body.model_dump(exclude_none=True)
        return out

    def estimate(self, request: JobRequest) -> Estimate | None:
        body, training_type, training_method = self._request(request)
        extra: dict[str, Any] = {}
        if request.validation_file:
            extra["validation_file"] = request.validation_file
        if training_type is not None:
            extra["training_type"] = training_type
        answer = self._call("estimating the price", lambda: self._client.fine_tuning.estimate_price(
            training_file=request.training_file, model=request.model, n_epochs=body.n_epochs, n_evals=body.n_evals or 0,
            training_method=training_method, **extra))
        if getattr(answer, "estimation_available", False) is False:
            return Estimate(None, None, None, None, note=str(getattr(answer, "unavailable_reason", None) or "not available"))
        return Estimate(answer.estimated_total_price, answer.estimated_train_token_count, answer.estimated_eval_token_count,
                        answer.allowed_to_proceed)

    def create_job(self, request: JobRequest) -> JobInfo:
        from together.lib.types.fine_tuning import FinetuneResponse

        body, _, _ = self._request(request)
        payload = body.model_dump(exclude_none=True)
        # exactly what client.fine_tuning.create posts, without its price call and never retried:
        # Together has no idempotency key, so a lost answer is resolved by find_jobs, not by a resend
        job = self._call("creating the fine-tuning job",
                         lambda: self._client.post("/v1/fine-tunes", body=payload, cast_to=FinetuneResponse), safe=False)
        return _job(job)

    def find_jobs(self, request: JobRequest, since: float | None = None) -> list[JobInfo]:
        """Jobs on the account with this training file, validation file, model and suffix, created since ``since``."""
        jobs = self._call("listing jobs to find the one this submission created", lambda: self._client.fine_tuning.list())
        found = []
        for raw in jobs.data:
            job = _job(raw)
            if job.training_file != request.training_file or (job.validation_file or None) != (request.validation_file or None):
                continue
            if (job.model or "").lower() != request.model.lower():
                continue
            if request.suffix and getattr(raw, "suffix", None) not in (None, request.suffix):
                continue
            if not _same_settings(raw, request.params):
                continue
            if since is not None and job.created_at is not None and job.created_at < since - CLOCK_SKEW:
                continue
            found.append(job)
        return sorted(found, key=lambda j: j.created_at or 0)

    def get_job(self, job_id: str) -> JobInfo:
        return _job(self._call(f"retrieving job {job_id}", lambda: self._client.fine_tuning.retrieve(job_id)))

    def list_jobs(self, limit: int) -> list[JobInfo]:
        jobs = self._call("listing jobs", lambda: self._client.fine_tuning.list())
        return sorted((_job(j) for j in jobs.data), key=lambda j: -(j.created_at or 0))[:limit]

    def new_events(self, job_id: str, seen: set[str]) -> list[EventInfo]:
        listing = self._call(f"reading events of job {job_id}", lambda: self._client.fine_tuning.list_events(job_id))
        fresh = []
        for raw in listing.data:
            event = _event(raw)
            if event.id not in seen:
                fresh.append(event)
        return sorted(fresh, key=lambda e: e.created_at)

    def cancel_job(self, job_id: str) -> JobInfo:
        return _job(self._call(f"cancelling job {job_id}", lambda: self._client.fine_tuning.cancel(job_id)))

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        listing = self._call(f"listing checkpoints of job {job_id}", lambda: self._client.fine_tuning.list_checkpoints(job_id))
        out = [CheckpointInfo(c.object_name or c.path, c.step) for c in listing.data]
        return sorted(out, key=lambda c: c.step)

    def metric_rows(self, job_id: str) -> list[dict[str, Any]]:
        """Per-step losses from Together's metrics endpoint (Together writes no results file)."""
        answer = self._call(f"reading metrics of job {job_id}", lambda: self._client.fine_tuning.list_metrics(job_id))
        rows: dict[int, dict[str, Any]] = {}
        for raw in answer.metrics or []:
            row: dict[str, Any] = {}
            for key, value in raw.items():
                name = METRIC_NAMES.get(key)
                if name is not None and value is not None:
                    row[name] = value
            if "step" not in row:
                continue
            step = int(row["step"])
            rows.setdefault(step, {"step": step}).update({k: v for k, v in row.items() if k != "step"})
        return [rows[k] for k in sorted(rows)]


def _same_settings(raw: Any, params: dict[str, Any]) -> bool:
    """Whether a listed job's reported settings agree with the ones this request sets (unreported ones agree)."""
    for key in ("n_epochs", "n_evals", "n_checkpoints", "learning_rate", "warmup_ratio"):
        wanted, got = params.get(key), getattr(raw, key, None)
        if wanted is not None and got is not None and got != wanted:
            return False
    method = getattr(getattr(raw, "training_method", None), "method", None)
    if method is not None and method != params.get("training_method", "sft"):
        return False
    kind = getattr(getattr(raw, "training_type", None), "type", None)
    if kind is not None and params.get("lora") is not None and kind != ("Lora" if params["lora"] else "Full"):
        return False
    return True


def _file(obj: Any) -> RemoteFile:
    status = getattr(obj, "processing_status", None)
    purpose = getattr(obj, "purpose", None)
    return RemoteFile(obj.id, obj.bytes, obj.filename, str(status).lower() if status else None,
                      str(getattr(purpose, "value", purpose)) if purpose is not None else None)


def _job(job: Any) -> JobInfo:
    output = getattr(job, "output_name", None) or getattr(job, "x_model_output_name", None)
    status = str(job.status or "pending")
    error = None
    if status == "error":
        errors = [e for e in (getattr(job, "events", None) or []) if getattr(e, "type", None) == "job_error"]
        error = errors[-1].message if errors else None
    return JobInfo(
        id=job.id,
        status=status,
        model=job.model or "",
        fine_tuned_model=output if status == "completed" else None,
        error_code="job_error" if error else None,
        error_message=error,
        training_file=job.training_file,
        validation_file=job.validation_file or None,
        created_at=_stamp(job.created_at),
        finished_at=_stamp(job.updated_at) if status in ("completed", "error", "cancelled") else None,
        trained_tokens=getattr(job, "token_count", None),
    )


def _event(event: Any) -> EventInfo:
    # Together's events carry no id: their time, type and message identify them
    created = _stamp(event.created_at) or 0
    data: dict[str, Any] = {}
    for key in ("step", "total_steps", "checkpoint_path", "token_count"):
        value = getattr(event, key, None)
        if value is not None:
            data[key] = value
    level = str(event.level or "info").removeprefix("legacy_")
    level = {"iwarning": "warning", "ierror": "error", "warning": "warn"}.get(level, level)
    key = f"{event.created_at}|{event.type}|{event.message}|{data.get('step')}"
    return EventInfo(key, created, level, event.message, str(event.type), data or None)


def make_together(timeout: float, retry: Retry | None = None) -> TogetherBackend:
    """TOGETHER_API_KEY and, optionally, TOGETHER_BASE_URL."""
    key = os.environ.get("TOGETHER_API_KEY", "").strip()
    if not key:
        raise BackendError("no API key: set TOGETHER_API_KEY (backend together)", "config")
    try:
        import together
    except ImportError:
        raise BackendError("the together package is not installed: pip install 'dsqa[together]'", "config") from None
    base_url = os.environ.get("TOGETHER_BASE_URL", "").strip() or DEFAULT_BASE_URL
    secrets = (key, *url_secrets(base_url))
    try:
        client = together.Together(api_key=key, base_url=base_url, timeout=timeout, max_retries=0)
    except Exception as exc:  # noqa: BLE001 - an unusable URL, reported without the key it may hold
        raise BackendError(f"TOGETHER_BASE_URL {mask_url(base_url)}: {redact(str(exc), secrets)}", "config") from None
    # the endpoint is printed and recorded in the ledger: never with a key that is part of the URL
    return TogetherBackend(client, mask_url(str(client.base_url).rstrip("/")), secrets, retry)
