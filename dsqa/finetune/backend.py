"""The small interface a fine-tuning provider implements, and the errors every backend raises."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import DsqaError

#: statuses after which a job never changes again; anything else (even unknown) is still running.
#: OpenAI says succeeded/failed/cancelled, Together completed/error/cancelled; dsqa records each as sent
SUCCEEDED_STATUSES = frozenset({"succeeded", "completed"})
FAILED_STATUSES = frozenset({"failed", "error"})
TERMINAL_STATUSES = SUCCEEDED_STATUSES | FAILED_STATUSES | {"cancelled"}


@dataclass(frozen=True)
class RemoteFile:
    """An uploaded file as the API describes it."""

    id: str
    bytes: int | None
    filename: str | None
    status: str | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class JobInfo:
    """The fields of a fine-tuning job that dsqa shows and records."""

    id: str
    status: str
    model: str
    fine_tuned_model: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    training_file: str | None = None
    validation_file: str | None = None
    created_at: int | None = None
    finished_at: int | None = None
    trained_tokens: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    result_files: tuple[str, ...] = ()

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED_STATUSES

    @property
    def failed_or_cancelled(self) -> bool:
        return self.status in FAILED_STATUSES or self.status == "cancelled"

    @property
    def error_text(self) -> str | None:
        """The job's error as one line, or None; the API sends `"error": {}` on healthy jobs."""
        if not (self.error_code or self.error_message):
            return None
        return f"{self.error_code or 'error'}: {self.error_message or '(no message)'}"


@dataclass(frozen=True)
class EventInfo:
    """One job event (status message or training metrics)."""

    id: str
    created_at: int
    level: str
    message: str
    type: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckpointInfo:
    """A saved model at one training step (the API keeps those of the last epochs)."""

    model: str
    step: int
    train_loss: float | None = None
    valid_loss: float | None = None


@dataclass(frozen=True)
class JobRequest:
    """Everything needed to create a job; ``metadata`` is how a lost response is found again."""

    model: str
    training_file: str
    validation_file: str | None
    method: dict[str, Any]
    metadata: dict[str, str]
    suffix: str | None = None
    seed: int | None = None
    #: provider-specific create parameters (Together: n_epochs, learning_rate, lora, training_method, ...)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    """The provider's own price estimate for a job, when it offers one."""

    price_usd: float | None
    train_tokens: float | None
    eval_tokens: float | None
    allowed: bool | None
    note: str | None = None


class BackendError(DsqaError):
    """A call to the fine-tuning API failed; the message is one line without secrets (exit 2).

    ``kind`` says what the caller may do: ``transient`` (rate limit, 5xx, network: the request may
    or may not have taken effect), ``rejected`` (the API refused it; it did not take effect),
    ``not_found``, or ``config`` (credentials or endpoint).
    """

    def __init__(self, message: str, kind: str, *, retry_after: float | None = None, code: str | None = None,
                 short: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.code = code
        #: the HTTP status of the answer (None: no answer, or not an HTTP error); 429 means nothing was done
        self.status = status
        #: a few words for the wait message of a retry (e.g. "HTTP 429 from ...")
        self.short = short


class Backend(Protocol):
    """A fine-tuning provider: files, jobs and events. Methods raise BackendError only."""

    name: str
    endpoint: str

    def upload(self, path: Path, *, size: int, md5: str, single_limit: int, part_size: int) -> RemoteFile: ...

    def get_file(self, file_id: str) -> RemoteFile | None: ...

    def file_content(self, file_id: str) -> bytes: ...

    def create_job(self, request: JobRequest) -> JobInfo: ...

    def find_jobs(self, request: JobRequest, since: float | None = None) -> list[JobInfo]:
        """Jobs this request may already have created: by metadata (OpenAI), else by file, model and time."""
        ...

    def get_job(self, job_id: str) -> JobInfo: ...

    def list_jobs(self, limit: int) -> list[JobInfo]: ...

    def new_events(self, job_id: str, seen: set[str]) -> list[EventInfo]: ...

    def cancel_job(self, job_id: str) -> JobInfo: ...

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]: ...

    def list_files(self) -> list[RemoteFile]: ...

    def delete_file(self, file_id: str) -> None: ...

    def metric_rows(self, job_id: str) -> list[dict[str, Any]]: ...

    def preflight(self, request: JobRequest) -> dict[str, Any]:
        """Check the options against the provider before any upload; returns the create request body."""
        ...

    def estimate(self, request: JobRequest) -> Estimate | None: ...


#: query parameters whose value is a credential when an endpoint URL carries one
_SECRET_PARAMS = frozenset({"key", "api-key", "api_key", "apikey", "access_token", "token", "sig", "code", "password", "secret"})


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials inside an endpoint URL: its user-info and the values of key-like query parameters."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        found += [v for v in (password, unquote(password), user, unquote(user)) if v]
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if name.lower() in _SECRET_PARAMS and value:
            found.append(value)
    raw = parts.query
    for piece in raw.split("&"):  # the encoded spelling too, as it appears in the URL itself
        name, _, value = piece.partition("=")
        if unquote(name).lower() in _SECRET_PARAMS and value:
            found.append(value)
    # longest first, so that a secret containing another is replaced whole
    return tuple(sorted(set(found), key=len, reverse=True))


def mask_url(url: str) -> str:
    """``url`` with its user-info and key-like query values replaced by ``***`` (what dsqa prints and records)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an endpoint URL dsqa cannot parse>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{name}=***" if _is_secret_param(name) and value else (f"{name}={value}" if sep else name)
        for name, sep, value in (piece.partition("=") for piece in parts.query.split("&") if piece)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _is_secret_param(name: str) -> bool:
    from urllib.parse import unquote

    return unquote(name).lower() in _SECRET_PARAMS


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` as one line with every secret (longest first) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return " ".join(text.split())


BackendFactory = Callable[[float, Any], Backend]


def _openai(timeout: float, retry: Any) -> Backend:
    from .openai_backend import make_openai

    return make_openai(timeout, retry)


def _azure(timeout: float, retry: Any) -> Backend:
    from .openai_backend import make_azure

    return make_azure(timeout, retry)


def _together(timeout: float, retry: Any) -> Backend:
    from .together_backend import make_together

    return make_together(timeout, retry)


#: backend name -> factory(request timeout in seconds, Retry); another provider is one more entry
BACKENDS: dict[str, BackendFactory] = {"openai": _openai, "azure": _azure, "together": _together}

#: the environment each backend reads; the key is checked before any data is read
BACKEND_ENV: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name: (required variables, optional variables)
    "openai": (("OPENAI_API_KEY",), ("OPENAI_BASE_URL",)),
    "azure": (("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"), ()),
    "together": (("TOGETHER_API_KEY",), ("TOGETHER_BASE_URL",)),
}


def require_env(name: str) -> None:
    """Stop (exit 2) when the backend's credentials are missing: before any check or upload."""
    import os

    required, _ = BACKEND_ENV.get(name, ((), ()))
    missing = [v for v in required if not os.environ.get(v, "").strip()]
    if not missing:
        return
    if len(missing) == 1 and missing[0].endswith("_API_KEY"):
        raise BackendError(f"no API key: set {missing[0]} (backend {name})", "config")
    raise BackendError(f"backend {name} needs {', '.join(missing)} in the environment", "config")


def make_backend(name: str, timeout: float = 600.0, retry: Any = None) -> Backend:
    """Build the named backend from the environment; a BackendError names what is missing."""
    from .transport import Retry

    try:
        factory = BACKENDS[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})", "config") from None
    return factory(timeout, retry if retry is not None else Retry())
