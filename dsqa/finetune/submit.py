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

    def method_body(self) -> dict[str, Any]:
        if self.beta is not None and self.method != "dpo":
            raise UsageError("--beta applies only to --method dpo")
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
        return {"model": self.model, "method": self.method_body(), "suffix": self.suffix, "seed": self.seed}


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
                 part_size: int = PART_SIZE, sleep: Callable[[float], None] = time.sleep) -> None:
        self.ledger = ledger
        self.backend = backend
        self.echo = echo
        self.single_limit = single_limit
        self.part_size = part_size
        self.sleep = sleep

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
            self.echo("an earlier submit was interrupted while creating a job; looking it up by metadata")
            found = b.find_jobs(_metadata(previous.train_sha256, previous.report_sha256, previous.id))
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
            if job.status not in ("failed", "cancelled"):
                self.echo(f"this dataset was already submitted with the same settings: {job.id} ({job.status})")
                return job, False
            self.echo(f"the earlier job {job.id} ended {job.status}; creating a new one")
            break
        sub = led.new_submission(b.name, b.endpoint, check_id, train.sha256, val_sha, report_hash, training_file, validation_file, request)
        return self._create(sub.id, training_file, validation_file, train.sha256, report_hash, spec), True

    def _create(self, submission_id: str, training_file: str, validation_file: str | None, train_sha: str, report_hash: str, spec: JobSpec) -> JobInfo:
        metadata = _metadata(train_sha, report_hash, submission_id)
        req = JobRequest(spec.model, training_file, validation_file, spec.method_body(), metadata, spec.suffix, spec.seed)
        for attempt in range(CREATE_ATTEMPTS):
            try:
                job = self.backend.create_job(req)
            except BackendError as exc:
                if exc.kind != "transient":
                    self.ledger.submission_rejected(submission_id, str(exc))
                    raise
                # the request may have created the job before the answer was lost: never create blindly
                self.echo(f"job creation failed ({exc}); looking the job up by its metadata")
                found = self.backend.find_jobs(metadata)
                if found:
                    self.ledger.submission_created(submission_id, found[0])
                    self.echo(f"the job exists: {found[0].id}")
                    return found[0]
                if attempt == CREATE_ATTEMPTS - 1:
                    raise BackendError(f"{exc}; no job exists for this submission (checked by metadata); run `dsqa submit` again later", "transient") from None
                delay = exc.retry_after if exc.retry_after is not None and 0 < exc.retry_after <= 60 else min(0.5 * 2**attempt, 8.0)
                self.sleep(delay)
                continue
            self.ledger.submission_created(submission_id, job)
            return job
        raise AssertionError("unreachable")


def _metadata(train_sha: str, report_hash: str, submission_id: str) -> dict[str, str]:
    return {"dsqa_dataset_sha256": train_sha, "dsqa_report_sha256": report_hash, "dsqa_submission": submission_id}
