"""Check, upload once, and create the job exactly once: the steps behind `dsqa submit`."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model import Report
from .backend import Backend, BackendError, JobInfo, JobRequest
from .ledger import Ledger

Echo = Callable[[str], None]

#: the Files API takes one request up to 512 MB; above that the Uploads API takes 64 MB parts
SINGLE_UPLOAD_LIMIT = 512 * 1024 * 1024
PART_SIZE = 64 * 1024 * 1024
#: job creations per submit; before each retry dsqa looks the job up by its metadata
CREATE_ATTEMPTS = 3
METHODS = {"sft": "supervised", "dpo": "dpo"}
METHOD_FORMATS = {"sft": "openai-chat", "dpo": "openai-preference"}


@dataclass(frozen=True)
class Digest:
    """A dataset file's identity: its sha256 (the ledger key), md5 (for the Uploads API) and size."""

    path: Path
    sha256: str
    md5: str
    size: int


#: options that only Together takes, with their flag names (for usage errors on other backends)
TOGETHER_ONLY = {
    "learning_rate": "--learning-rate", "lora": "--lora/--full", "lora_r": "--lora-r", "lora_alpha": "--lora-alpha",
    "lora_dropout": "--lora-dropout", "lora_trainable_modules": "--lora-trainable-modules", "n_evals": "--n-evals",
    "n_checkpoints": "--n-checkpoints", "warmup_ratio": "--warmup-ratio",
}


@dataclass(frozen=True)
class JobSpec:
    """What the user asked for on the command line."""

    model: str
    method: str = "sft"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None
    beta: float | None = None
    suffix: str | None = None
    seed: int | None = None
    backend: str = "openai"
    #: Together's own options (keys of TOGETHER_ONLY); None values are left to the API's defaults
    extra: tuple[tuple[str, Any], ...] = ()

    def validate(self) -> None:
        """Usage errors (exit 2) for options this backend or method does not take, before any work."""
        if self.beta is not None and self.method != "dpo":
            raise UsageError("--beta applies only to --method dpo")
        given = {k for k, v in self.extra if v is not None}
        if self.backend == "together":
            if self.learning_rate_multiplier is not None:
                raise UsageError("--learning-rate-multiplier is OpenAI's; Together takes an absolute --learning-rate")
            lora = dict(self.extra).get("lora")
            if lora is False and given & {"lora_r", "lora_alpha", "lora_dropout", "lora_trainable_modules"}:
                raise UsageError("--lora-r, --lora-alpha, --lora-dropout and --lora-trainable-modules apply only to LoRA, not --full")
        elif given:
            flags = ", ".join(sorted(TOGETHER_ONLY[k] for k in given))
            raise UsageError(f"{flags}: only --backend together takes {'this option' if len(given) == 1 else 'these options'}")

    def params(self) -> dict[str, Any]:
        """Together's create parameters (the SDK's names)."""
        out: dict[str, Any] = {"training_method": self.method}
        if self.epochs is not None:
            out["n_epochs"] = self.epochs
        if self.batch_size is not None:
            out["batch_size"] = self.batch_size
        if self.beta is not None:
            out["dpo_beta"] = self.beta
        for key, value in self.extra:
            if value is not None:
                out[key] = value
        if "lora" not in out and out.keys() & {"lora_r", "lora_alpha", "lora_dropout", "lora_trainable_modules"}:
            out["lora"] = True  # the SDK ignores LoRA settings unless LoRA is asked for explicitly
        return out

    def method_body(self) -> dict[str, Any]:
        self.validate()
        hyper: dict[str, Any] = {}
        for key, value in (("n_epochs", self.epochs), ("batch_size", self.batch_size),
                           ("learning_rate_multiplier", self.learning_rate_multiplier), ("beta", self.beta)):
            if value is not None:
                hyper[key] = value
        kind = METHODS[self.method]
        body: dict[str, Any] = {"type": kind}
        if hyper:
            body[kind] = {"hyperparameters": hyper}
        return body

    def request(self) -> dict[str, Any]:
        """The canonical job request kept in the ledger (identical requests are one submission)."""
        if self.backend == "together":
            self.validate()
            return {"model": self.model, "params": self.params(), "suffix": self.suffix, "seed": self.seed}
        return {"model": self.model, "method": self.method_body(), "suffix": self.suffix, "seed": self.seed}

    def job_request(self, training_file: str, validation_file: str | None, metadata: dict[str, str]) -> JobRequest:
        method = self.method_body() if self.backend != "together" else {}
        params = self.params() if self.backend == "together" else {}
        return JobRequest(self.model, training_file, validation_file, method, metadata, self.suffix, self.seed, params)


def digest(path: Path) -> Digest:
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return Digest(path, sha.hexdigest(), md5.hexdigest(), size)


def report_sha256(report: Report) -> str:
    payload = json.dumps(report.to_dict(), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def check_method_format(report: Report, method: str) -> None:
    """A DPO job on chat records (or SFT on preference pairs) would only fail on the server."""
    wanted = METHOD_FORMATS[method]
    for ds in report.datasets:
        if ds.format is not None and ds.format != wanted:
            raise UsageError(f"{ds.path}: --method {method} needs {wanted} records, this file is {ds.format}")


def token_lines(report: Report) -> list[str]:
    """Token and cost figures of the training files, when the token check ran."""
    from ..reporters.text import STAT_BLOCKS

    block = STAT_BLOCKS.get("tokens")
    lines: list[str] = []
    for ds in report.datasets:
        tokens = ds.stats.get("tokens")
        if tokens is None or block is None:
            continue
        try:
            lines.extend(f"{ds.path}: {line}" if i == 0 else line for i, line in enumerate(block(tokens)))
        except (KeyError, TypeError, ValueError):
            continue  # a stats shape this build's renderer does not know; the figures are optional
    return lines


class Submitter:
    """Uploads each distinct file once and creates each job once, recording every step in the ledger."""

    def __init__(self, ledger: Ledger, backend: Backend, echo: Echo, *, single_limit: int = SINGLE_UPLOAD_LIMIT,
                 part_size: int = PART_SIZE, sleep: Callable[[float], None] = time.sleep,
                 before_create: Callable[[JobRequest], None] | None = None) -> None:
        self.ledger = ledger
        self.backend = backend
        self.echo = echo
        self.single_limit = single_limit
        self.part_size = part_size
        self.sleep = sleep
        #: called once with the final request before the first creation attempt (the price check)
        self.before_create = before_create

    def _find(self, request: JobRequest, since: float | None) -> list[JobInfo]:
        """Jobs the API already has for this request, minus those the ledger links to other submissions."""
        found = self.backend.find_jobs(request, since)
        taken = self.ledger.linked_job_ids()
        return [j for j in found if j.id not in taken]

    def ensure_file(self, d: Digest) -> str:
        b = self.backend
        known = self.ledger.file_id(b.name, b.endpoint, d.sha256)
        if known is not None:
            remote = b.get_file(known)
            if remote is not None and remote.status not in ("error", "deleted") and remote.bytes in (None, d.size):
                self.echo(f"{d.path}: already uploaded as {known} (sha256 {d.sha256[:12]})")
                return known
            self.ledger.forget_file(b.name, b.endpoint, d.sha256)
            self.echo(f"{d.path}: {known} is no longer usable on {b.endpoint}; uploading again")
        how = "in parts" if d.size > self.single_limit else "in one request"
        self.echo(f"{d.path}: uploading {d.size:,} bytes {how}")
        remote = b.upload(d.path, size=d.size, md5=d.md5, single_limit=self.single_limit, part_size=self.part_size)
        checks: list[str] = getattr(b, "file_checks", [])
        while checks:  # the provider's own file check (Together's), shown as the upload happens
            self.echo(checks.pop(0))
        self.ledger.remember_file(b.name, b.endpoint, d.sha256, remote.id, d.size, d.path.name)
        self.echo(f"{d.path}: uploaded as {remote.id}")
        return remote.id

    def submit(self, check_id: int, report_hash: str, train: Digest, validation: Digest | None, spec: JobSpec) -> tuple[JobInfo, bool]:
        """Return the job and whether this call created it (False: an earlier submit already did)."""
        b, led = self.backend, self.ledger
        request = spec.request()
        training_file = self.ensure_file(train)
        validation_file = self.ensure_file(validation) if validation is not None else None
        val_sha = validation.sha256 if validation is not None else None
        earlier = led.submissions_for(b.name, b.endpoint, train.sha256, val_sha, request)
        # an earlier submit that stopped without learning whether its job was created is resolved
        # first, even if the rules (and so the report) changed since: a duplicate job is billed twice
        for previous in (s for s in earlier if s.state == "pending"):
            self.echo(f"an earlier submit was interrupted while creating a job; looking it up {_how(b)}")
            found = self._find(spec.job_request(previous.training_file, previous.validation_file,
                                                _metadata(previous.train_sha256, previous.report_sha256, previous.id)),
                               previous.created_at)
            if found:
                led.submission_created(previous.id, found[0])
                self.echo(f"found the job the interrupted submit created: {found[0].id}")
                return found[0], False
            if previous.training_file == training_file and previous.validation_file == validation_file and previous.report_sha256 == report_hash:
                return self._create(previous.id, training_file, validation_file, train.sha256, report_hash, spec), True
            led.submission_rejected(previous.id, "superseded: the API has no job for it")
        for previous in (s for s in earlier if s.state == "created" and s.job_id):
            try:
                job = b.get_job(previous.job_id or "")
            except BackendError as exc:
                if exc.kind != "not_found":
                    raise
                self.echo(f"the earlier job {previous.job_id} is unknown to {b.endpoint}; creating a new one")
                break
            led.record_job(job, b.name, b.endpoint)
            if not job.failed_or_cancelled:
                self.echo(f"this dataset was already submitted with the same settings: {job.id} ({job.status})")
                return job, False
            self.echo(f"the earlier job {job.id} ended {job.status}; creating a new one")
            break
        sub = led.new_submission(b.name, b.endpoint, check_id, train.sha256, val_sha, report_hash, training_file, validation_file, request)
        return self._create(sub.id, training_file, validation_file, train.sha256, report_hash, spec), True

    def _create(self, submission_id: str, training_file: str, validation_file: str | None, train_sha: str, report_hash: str, spec: JobSpec) -> JobInfo:
        metadata = _metadata(train_sha, report_hash, submission_id)
        req = spec.job_request(training_file, validation_file, metadata)
        since = self.ledger.submission_time(submission_id)
        if self.before_create is not None:
            try:
                self.before_create(req)
            except BaseException as exc:
                self.ledger.submission_rejected(submission_id, f"not created: {exc}")
                raise
        for attempt in range(CREATE_ATTEMPTS):
            try:
                job = self.backend.create_job(req)
            except BackendError as exc:
                if exc.kind != "transient":
                    self.ledger.submission_rejected(submission_id, str(exc))
                    raise
                # the request may have created the job before the answer was lost: never create blindly
                self.echo(f"job creation failed ({exc}); looking the job up {_how(self.backend)}")
                found = self._find(req, since)
                if found:
                    self.ledger.submission_created(submission_id, found[0])
                    self.echo(f"the job exists: {found[0].id}")
                    return found[0]
                if attempt == CREATE_ATTEMPTS - 1:
                    raise BackendError(f"{exc}; no job exists for this submission (checked {_how(self.backend)}); run `dsqa submit` again later", "transient") from None
                delay = exc.retry_after if exc.retry_after is not None and 0 < exc.retry_after <= 60 else min(0.5 * 2**attempt, 8.0)
                self.sleep(delay)
                continue
            self.ledger.submission_created(submission_id, job)
            return job
        raise AssertionError("unreachable")


def _how(backend: Backend) -> str:
    """How this backend finds a job whose creation answer was lost."""
    if backend.name == "together":
        return "by listing jobs (same training file, model and creation time; Together has no job metadata)"
    return "by its metadata"


def _metadata(train_sha: str, report_hash: str, submission_id: str) -> dict[str, str]:
    return {"dsqa_dataset_sha256": train_sha, "dsqa_report_sha256": report_hash, "dsqa_submission": submission_id}
