"""The OpenAI and Azure OpenAI backends: the openai SDK behind the Backend interface."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .backend import BackendError, CheckpointInfo, Estimate, EventInfo, JobInfo, JobRequest, RemoteFile, mask_url, redact, url_secrets
from .transport import Retry, retry_after

T = TypeVar("T")

TRAINING_NOT_AVAILABLE = (
    "OpenAI no longer accepts fine-tuning jobs from this organisation (403 training_not_available: self-serve "
    "fine-tuning is winding down and no organisation can create jobs after 2027-01-06); use Azure OpenAI "
    "(--backend azure) or another provider's OpenAI-compatible fine-tuning API (OPENAI_BASE_URL)"
)
#: events are fetched newest first; this many pages at most per poll so a runaway job cannot hang dsqa
MAX_EVENT_PAGES = 20
#: a job listed without metadata and created this long before the submission still counts (clock skew)
CLOCK_SKEW = 300.0


def _body_field(exc: Any, key: str) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        value = body.get(key)
        return str(value) if value is not None else None
    return None



class OpenAIBackend:
    """Files, uploads and fine-tuning jobs through an `openai.OpenAI` or `openai.AzureOpenAI` client."""

    def __init__(self, name: str, client: Any, endpoint: str, key_env: str, secrets: tuple[str, ...], retry: Retry | None = None) -> None:
        self.name = name
        self.endpoint = endpoint
        # the SDK's own retries are off (max_retries=0): dsqa's Retry repeats the calls that are safe
        # to repeat, within --max-wait, and never a job creation (no idempotency key)
        self._client = client
        self._once = client
        self._key_env = key_env
        self._secrets = tuple(s for s in secrets if s)
        self.retry = retry or Retry()

    # -- error translation -------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _error(self, exc: Exception, what: str) -> BackendError:
        import openai

        if isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError)):
            # a 200 whose body is cut off or is not the object asked for: the request may have taken effect
            return BackendError(f"{what}: {self.endpoint} sent a malformed answer (not the JSON object expected)", "malformed",
                                short="malformed answer")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            code = _body_field(exc, "code")
            detail = self._redact(_body_field(exc, "message") or str(exc))
            if isinstance(exc, openai.AuthenticationError):
                return BackendError(f"{what}: the API key was rejected (401); check {self._key_env}", "config", code=code, status=status)
            if status == 403 and code == "training_not_available":
                return BackendError(TRAINING_NOT_AVAILABLE, "rejected", code=code)
            if status == 400 and (code == "model_not_available" or "not available for fine-tuning" in detail):
                return BackendError(f"{what}: {detail} (400 model_not_available; choose a base model that can be fine-tuned)", "rejected", code="model_not_available")
            if isinstance(exc, openai.NotFoundError):
                return BackendError(f"{what}: not found (404): {detail}", "not_found", code=code)
            if status == 429 or status >= 500:
                return BackendError(f"{what}: HTTP {status} from {self.endpoint}: {detail}", "transient", retry_after=retry_after(getattr(exc, "response", None)), code=code,
                                    short=f"HTTP {status}" + (" (rate limited)" if status == 429 else ""), status=status)
            return BackendError(f"{what}: HTTP {status}: {detail}", "rejected", code=code, status=status)
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(f"{what}: {self.endpoint} did not answer in time", "transient", short="no answer in time")
        if isinstance(exc, openai.APIConnectionError):
            return BackendError(f"{what}: cannot reach {self.endpoint} (network unreachable or connection dropped)", "transient",
                                short="connection failed")
        return BackendError(f"{what}: {self._redact(str(exc))}", "config")

    def _translate(self, what: str) -> Callable[[Exception], BackendError | None]:
        import openai

        def translate(exc: Exception) -> BackendError | None:
            return self._error(exc, what) if isinstance(exc, (openai.OpenAIError, json.JSONDecodeError)) else None

        return translate

    def _call(self, what: str, fn: Callable[[], T], *, safe: bool = True) -> T:
        """Run one API call; repeat it on transient failures when ``safe`` (it has no effect twice), else only after a 429."""
        return self.retry.run(what, fn, self._translate(what), rate_limits_only=not safe)

    # -- files -------------------------------------------------------------------------------

    def upload_name(self, path: Path, sha256: str) -> str:
        """The file name sent with the upload: it carries the content's sha256, so a file found by name and size is this content."""
        return f"{path.stem}.sha256-{sha256[:16]}{path.suffix}"

    def upload(self, path: Path, *, size: int, md5: str, single_limit: int, part_size: int, filename: str | None = None) -> RemoteFile:
        # never repeated after an answer that may have been lost (only after a 429): the Submitter
        # first looks for the file by name and size, so a lost answer does not cost a second upload
        name = filename or path.name
        if size <= single_limit:
            def single() -> Any:
                with path.open("rb") as fh:
                    return self._client.files.create(file=(name, fh), purpose="fine-tune")

            obj = self._call(f"uploading {path}", single, safe=False)
            return RemoteFile(obj.id, obj.bytes, obj.filename, obj.status, getattr(obj, "purpose", None))
        upload = self._call(
            f"uploading {path} in parts",
            lambda: self._client.uploads.upload_file_chunked(
                file=path, mime_type="application/jsonl", purpose="fine-tune", part_size=part_size, md5=md5, filename=name
            ),
            safe=False,
        )
        if upload.status != "completed" or upload.file is None:
            raise BackendError(f"uploading {path}: the upload ended {upload.status!r} without a file", "transient")
        return RemoteFile(upload.file.id, upload.file.bytes, upload.file.filename, upload.file.status)

    def get_file(self, file_id: str) -> RemoteFile | None:
        try:
            obj = self._call(f"looking up file {file_id}", lambda: self._client.files.retrieve(file_id))
        except BackendError as exc:
            if exc.kind == "not_found":
                return None
            raise
        return RemoteFile(obj.id, obj.bytes, obj.filename, obj.status)

    def file_content(self, file_id: str) -> bytes:
        content: bytes = self._call(f"downloading file {file_id}", lambda: self._client.files.content(file_id).read())
        return content

    # -- jobs --------------------------------------------------------------------------------

    def create_job(self, request: JobRequest) -> JobInfo:
        extra: dict[str, Any] = {}
        if request.validation_file:
            extra["validation_file"] = request.validation_file
        if request.suffix is not None:
            extra["suffix"] = request.suffix
        if request.seed is not None:
            extra["seed"] = request.seed
        job = self._call(
            "creating the fine-tuning job",
            lambda: self._once.fine_tuning.jobs.create(
                model=request.model,
                training_file=request.training_file,
                method=request.method,
                metadata=request.metadata,
                **extra,
            ),
            safe=False,
        )
        return _job(job)

    def preflight(self, request: JobRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "training_file": request.training_file, "method": request.method,
                                "metadata": request.metadata}
        for key, value in (("validation_file", request.validation_file), ("suffix", request.suffix), ("seed", request.seed)):
            if value is not None:
                body[key] = value
        return body

    def estimate(self, request: JobRequest) -> Estimate | None:
        return None  # OpenAI has no price endpoint; dsqa's own estimate comes from the token check

    def find_jobs(self, request: JobRequest, since: float | None = None) -> list[JobInfo]:
        metadata: Mapping[str, str] = request.metadata

        def find() -> list[JobInfo]:
            page = self._client.fine_tuning.jobs.list(metadata=dict(metadata), limit=100)
            found = [_job(j) for j in page.data]
            # a provider that ignores the filter must not make dsqa adopt someone else's job
            tagged = [j for j in found if all(j.metadata.get(k) == v for k, v in metadata.items())]
            if tagged:
                return tagged
            # a provider that drops metadata: the same training file, validation file and model, created since the submission
            return [j for j in found if not j.metadata and _same_job(j, request, since)]

        return self._call("looking up jobs by metadata", find)

    def get_job(self, job_id: str) -> JobInfo:
        return _job(self._call(f"retrieving job {job_id}", lambda: self._client.fine_tuning.jobs.retrieve(job_id)))

    def list_jobs(self, limit: int) -> list[JobInfo]:
        return [_job(j) for j in self._call("listing jobs", lambda: self._client.fine_tuning.jobs.list(limit=limit).data)]

    def new_events(self, job_id: str, seen: set[str]) -> list[EventInfo]:
        def fetch() -> list[EventInfo]:
            fresh: list[EventInfo] = []
            page = self._client.fine_tuning.jobs.list_events(job_id, limit=50)
            for _ in range(MAX_EVENT_PAGES):
                for event in page.data:
                    if event.id in seen:
                        return fresh[::-1]
                    fresh.append(_event(event))
                if not page.has_next_page():
                    break
                page = page.get_next_page()
            return fresh[::-1]

        return self._call(f"reading events of job {job_id}", fetch)

    def cancel_job(self, job_id: str) -> JobInfo:
        return _job(self._call(f"cancelling job {job_id}", lambda: self._client.fine_tuning.jobs.cancel(job_id)))

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        def fetch() -> list[CheckpointInfo]:
            out = []
            for c in self._client.fine_tuning.jobs.checkpoints.list(job_id, limit=100).data:
                m = c.metrics
                out.append(CheckpointInfo(c.fine_tuned_model_checkpoint, c.step_number, m.train_loss if m else None,
                                          (m.full_valid_loss if m and m.full_valid_loss is not None else m.valid_loss) if m else None))
            return sorted(out, key=lambda c: c.step)

        return self._call(f"listing checkpoints of job {job_id}", fetch)

    def list_files(self) -> list[RemoteFile]:
        page = self._call("listing files", lambda: self._client.files.list(purpose="fine-tune"))
        return [RemoteFile(f.id, f.bytes, f.filename, f.status, getattr(f, "purpose", None)) for f in page.data]

    def delete_file(self, file_id: str) -> None:
        self._call(f"deleting file {file_id}", lambda: self._client.files.delete(file_id))

    def metric_rows(self, job_id: str) -> list[dict[str, Any]]:
        """Per-step metrics from the job's metrics events (what the results file holds, before it exists)."""
        rows: dict[int, dict[str, Any]] = {}
        for event in self.new_events(job_id, set()):
            if event.type == "metrics" and event.data and isinstance(event.data.get("step"), int):
                rows[event.data["step"]] = dict(event.data)
        return [rows[k] for k in sorted(rows)]


def _same_job(job: JobInfo, request: JobRequest, since: float | None) -> bool:
    """A job listed without metadata that this request may have created."""
    if job.training_file != request.training_file or (job.validation_file or None) != (request.validation_file or None):
        return False
    if (job.model or "").lower() != request.model.lower():
        return False
    return since is None or job.created_at is None or job.created_at >= since - CLOCK_SKEW


def _job(job: Any) -> JobInfo:
    error = getattr(job, "error", None)
    return JobInfo(
        id=job.id,
        status=str(job.status),
        model=job.model,
        fine_tuned_model=job.fine_tuned_model,
        error_code=getattr(error, "code", None) if error is not None else None,
        error_message=getattr(error, "message", None) if error is not None else None,
        training_file=job.training_file,
        validation_file=job.validation_file,
        created_at=job.created_at,
        finished_at=job.finished_at,
        trained_tokens=job.trained_tokens,
        metadata={str(k): str(v) for k, v in (job.metadata or {}).items()},
        result_files=tuple(job.result_files or ()),
    )


def _event(event: Any) -> EventInfo:
    data = event.data if isinstance(event.data, dict) else None
    return EventInfo(event.id, event.created_at, str(event.level), event.message, event.type, data)


def _sdk() -> Any:
    try:
        import openai
    except ImportError:
        raise BackendError("the openai package is not installed: pip install 'dsqa[finetune]'", "config") from None
    return openai


def make_openai(timeout: float, retry: Retry | None = None) -> OpenAIBackend:
    """OPENAI_API_KEY and, for compatible endpoints, OPENAI_BASE_URL."""
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    if not key:
        raise BackendError("no API key: set OPENAI_API_KEY (backend openai)", "config")
    openai = _sdk()

    base_url = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    secrets = (key, *url_secrets(base_url))
    try:
        client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=0)
    except Exception as exc:  # noqa: BLE001 - an unusable URL, reported without the key it may hold
        raise BackendError(f"OPENAI_BASE_URL {mask_url(base_url)}: {redact(str(exc), secrets)}", "config") from None
    # the endpoint is printed and recorded in the ledger: never with a key that is part of the URL
    return OpenAIBackend("openai", client, mask_url(str(client.base_url).rstrip("/")), "OPENAI_API_KEY", secrets, retry)


def make_azure(timeout: float, retry: Retry | None = None) -> OpenAIBackend:
    """AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION."""
    missing = [n for n in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION") if not os.environ.get(n, "").strip()]
    if missing:
        raise BackendError(f"backend azure needs {', '.join(missing)} in the environment", "config")
    openai = _sdk()

    key = os.environ["AZURE_OPENAI_API_KEY"].strip()
    endpoint = os.environ["AZURE_OPENAI_ENDPOINT"].strip()
    secrets = (key, *url_secrets(endpoint))
    try:
        client = openai.AzureOpenAI(
            api_key=key,
            azure_endpoint=endpoint,
            api_version=os.environ["OPENAI_API_VERSION"].strip(),
            timeout=timeout,
            max_retries=0,
        )
    except Exception as exc:  # noqa: BLE001 - an unusable URL, reported without the key it may hold
        raise BackendError(f"AZURE_OPENAI_ENDPOINT {mask_url(endpoint)}: {redact(str(exc), secrets)}", "config") from None
    return OpenAIBackend("azure", client, mask_url(endpoint.rstrip("/")), "AZURE_OPENAI_API_KEY", secrets, retry)
