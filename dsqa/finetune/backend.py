"""The small interface a fine-tuning provider implements, and the errors every backend raises."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import DsqaError

#: statuses after which a job never changes again; anything else (even unknown) is still running
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class RemoteFile:
    """An uploaded file as the API describes it."""

    id: str
    bytes: int | None
    filename: str | None
    status: str | None = None


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


class BackendError(DsqaError):
    """A call to the fine-tuning API failed; the message is one line without secrets (exit 2).

    ``kind`` says what the caller may do: ``transient`` (rate limit, 5xx, network: the request may
    or may not have taken effect), ``rejected`` (the API refused it; it did not take effect),
    ``not_found``, or ``config`` (credentials or endpoint).
    """

    def __init__(self, message: str, kind: str, *, retry_after: float | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.code = code


class Backend(Protocol):
    """A fine-tuning provider: files, jobs and events. Methods raise BackendError only."""

    name: str
    endpoint: str

    def upload(self, path: Path, *, size: int, md5: str, single_limit: int, part_size: int) -> RemoteFile: ...

    def get_file(self, file_id: str) -> RemoteFile | None: ...

    def file_content(self, file_id: str) -> bytes: ...

    def create_job(self, request: JobRequest) -> JobInfo: ...

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]: ...

    def get_job(self, job_id: str) -> JobInfo: ...

    def list_jobs(self, limit: int) -> list[JobInfo]: ...

    def new_events(self, job_id: str, seen: set[str]) -> list[EventInfo]: ...

    def cancel_job(self, job_id: str) -> JobInfo: ...

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]: ...


BackendFactory = Callable[[float], Backend]


def _openai(timeout: float) -> Backend:
    from .openai_backend import make_openai

    return make_openai(timeout)


def _azure(timeout: float) -> Backend:
    from .openai_backend import make_azure

    return make_azure(timeout)


#: backend name -> factory(request timeout in seconds); another provider is one more entry
BACKENDS: dict[str, BackendFactory] = {"openai": _openai, "azure": _azure}


def make_backend(name: str, timeout: float = 600.0) -> Backend:
    """Build the named backend from the environment; a BackendError names what is missing."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})", "config") from None
    return factory(timeout)
