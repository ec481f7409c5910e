"""Check, upload once, and create the job exactly once: the steps behind `dsqa submit`."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UsageError
from ..model import Report
from .backend import Backend, BackendError, JobInfo, JobRequest, RemoteFile
from .ledger import Ledger, Submission

Echo = Callable[[str], None]
T = TypeVar("T")

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


#: how long after a job creation or upload whose answer was lost dsqa keeps looking for what it
#: made before it counts as not made (a job list can lag behind creation); env overrides it (tests)
RESOLVE_WINDOW_ENV = "DSQA_RESOLVE_WINDOW"
RESOLVE_INTERVAL_ENV = "DSQA_RESOLVE_INTERVAL"
DEFAULT_RESOLVE_WINDOW = 120.0
DEFAULT_RESOLVE_INTERVAL = 5.0


def resolve_settings() -> tuple[float, float]:
    """The lookup window and the pause between lookups, in seconds (DSQA_RESOLVE_WINDOW, DSQA_RESOLVE_INTERVAL)."""
    import os

    out = []
    for name, default in ((RESOLVE_WINDOW_ENV, DEFAULT_RESOLVE_WINDOW), (RESOLVE_INTERVAL_ENV, DEFAULT_RESOLVE_INTERVAL)):
        raw = os.environ.get(name, "").strip()
        if not raw:
            out.append(default)
            continue
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 <= value < float("inf"):
            raise UsageError(f"{name} must be a number of seconds, not {raw[:40]!r}")
        out.append(value)
    return out[0], out[1]


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:,.0f} s"


class Submitter:
    """Uploads each distinct file once and creates each job once, recording every step in the ledger."""

    def __init__(self, ledger: Ledger, backend: Backend, echo: Echo, *, single_limit: int = SINGLE_UPLOAD_LIMIT,
                 part_size: int = PART_SIZE, sleep: Callable[[float], None] = time.sleep,
                 before_create: Callable[[JobRequest], None] | None = None, say: Echo | None = None,
                 window: float = DEFAULT_RESOLVE_WINDOW, interval: float = DEFAULT_RESOLVE_INTERVAL,
                 clock: Callable[[], float] = time.time, new: bool = False) -> None:
        self.ledger = ledger
        self.backend = backend
        self.echo = echo
        #: one-line progress messages (the CLI prints them on stderr)
        self.say = say or echo
        self.single_limit = single_limit
        self.part_size = part_size
        self.sleep = sleep
        #: called once with the final request before the first creation attempt (the price check)
        self.before_create = before_create
        self.window = window
        self.interval = interval
        self.clock = clock
        #: `--new`: create a job even when an earlier one for the same data may exist
        self.new = new

    def _find(self, request: JobRequest, since: float | None) -> list[JobInfo]:
        """Jobs the API already has for this request, minus those the ledger links to other submissions."""
        found = self.backend.find_jobs(request, since)
        taken = self.ledger.linked_job_ids()
        return [j for j in found if j.id not in taken]

    def _poll(self, what: str, look: Callable[[], T | None], base: float) -> T | None:
        """Call ``look`` until it finds something or ``self.window`` seconds after ``base`` have passed (at least once)."""
        deadline = base + self.window
        most = int(self.window / max(self.interval, 0.01)) + 2  # bounded even when sleep is not real
        for _ in range(most):
            found = look()
            if found is not None:
                return found
            left = deadline - self.clock()
            if left <= 0:
                return None
            wait = min(self.interval, left) if self.interval > 0 else left
            self.say(f"dsqa: {what} is not there yet; looking again in {_seconds(wait)} ({_seconds(left)} left of the "
                     f"{_seconds(self.window)} allowed for it to appear)")
            self.sleep(wait)
        return None

    def _resolve(self, request: JobRequest, since: float | None, base: float) -> JobInfo | None:
        """The job an unanswered creation made, looked up until the window after ``base`` has passed."""
        def look() -> JobInfo | None:
            found = self._find(request, since)
            return found[0] if found else None

        return self._poll("the job", look, base)

    # -- files -------------------------------------------------------------------------------

    def _remote_name(self, d: Digest) -> str:
        name_of = getattr(self.backend, "upload_name", None)
        return str(name_of(d.path, d.sha256)) if name_of is not None else d.path.name

    def _listed_file(self, d: Digest, name: str) -> RemoteFile | None:
        """A usable file on the API with this upload's name, size and purpose (the name carries the sha256 where the API allows)."""
        for f in self.backend.list_files():
            if f.filename == name and f.bytes == d.size and f.purpose in (None, "fine-tune") and f.status not in ("error", "deleted"):
                return f
        return None

    def _adopt_file(self, d: Digest, remote: RemoteFile, how: str) -> str:
        b = self.backend
        self.ledger.remember_file(b.name, b.endpoint, d.sha256, remote.id, d.size, d.path.name)
        self.echo(f"{d.path}: {how} as {remote.id} ({remote.filename}, {d.size:,} bytes); not uploading it again")
        return remote.id

    def ensure_file(self, d: Digest) -> str:
        b, led = self.backend, self.ledger
        known = led.file_id(b.name, b.endpoint, d.sha256)
        if known is not None:
            remote = b.get_file(known)
            if remote is not None and remote.status not in ("error", "deleted") and remote.bytes in (None, d.size):
                self.echo(f"{d.path}: already uploaded as {known} (sha256 {d.sha256[:12]})")
                return known
            led.forget_file(b.name, b.endpoint, d.sha256)
            self.echo(f"{d.path}: {known} is no longer usable on {b.endpoint}; uploading again")
        name = self._remote_name(d)
        if getattr(b, "dedupes_uploads", False):
            # the API keeps one file per content, so sending it again returns the file it has (no name-and-size guess)
            return self._record_upload(d, self._upload(d, name))
        # the ledger may have been lost, or an earlier upload's answer: the API is asked before uploading
        # (quietly: only what it finds is reported, so a plain first submit prints nothing more)
        started = led.upload_pending(b.name, b.endpoint, d.sha256)
        if started is not None:
            self.say(f"dsqa: {d.path}: an earlier upload of this file got no answer; waiting up to {_seconds(self.window)} "
                     "after it for the file to appear")
            found = self._poll(f"the file {name}", lambda: self._listed_file(d, name), started)
        else:
            found = self._listed_file(d, name)
        if found is not None:
            return self._adopt_file(d, found, "found on the API")
        return self._record_upload(d, self._upload(d, name))

    def _record_upload(self, d: Digest, remote: RemoteFile) -> str:
        b = self.backend
        checks: list[str] = getattr(b, "file_checks", [])
        while checks:  # the provider's own file check (Together's), shown as the upload happens
            self.echo(checks.pop(0))
        self.ledger.remember_file(b.name, b.endpoint, d.sha256, remote.id, d.size, d.path.name)
        self.echo(f"{d.path}: uploaded as {remote.id}")
        return remote.id

    def _upload(self, d: Digest, name: str) -> RemoteFile:
        """Send the file once; after a lost answer look for it by name and size, and send it again only if it never appeared."""
        b, led = self.backend, self.ledger
        how = "in parts" if d.size > self.single_limit else "in one request"
        for attempt in range(2):
            self.echo(f"{d.path}: uploading {d.size:,} bytes {how}")
            led.upload_started(b.name, b.endpoint, d.sha256, name, d.size)
            try:
                return b.upload(d.path, size=d.size, md5=d.md5, single_limit=self.single_limit, part_size=self.part_size, filename=name)
            except BackendError as exc:
                if exc.kind == "malformed":
                    raise BackendError(f"{exc}; the file may have been stored: run `dsqa submit` again, which looks for it "
                                       "before uploading", "malformed") from None
                if exc.kind != "transient" or exc.status == 429:
                    led.upload_settled(b.name, b.endpoint, d.sha256)  # refused: nothing was stored
                    raise
                if getattr(b, "dedupes_uploads", False):
                    if attempt == 1:
                        raise
                    self.say(f"dsqa: {d.path}: the upload got no usable answer ({exc}); sending it again ({b.name} keeps one file per content)")
                    continue
                self.say(f"dsqa: {d.path}: the upload got no usable answer ({exc}); looking for the file by name and size")
                found = self._poll(f"the file {name}", lambda: self._listed_file(d, name), self.clock())
                if found is not None:
                    self.say(f"dsqa: {d.path}: the upload had arrived: {found.id}")
                    return found
                if attempt == 1:
                    raise
                self.say(f"dsqa: {d.path}: the file did not appear within {_seconds(self.window)}; uploading it again")
        raise AssertionError("unreachable")

    # -- jobs --------------------------------------------------------------------------------

    def submit(self, check_id: int, report_hash: str, train: Digest, validation: Digest | None, spec: JobSpec) -> tuple[JobInfo, bool]:
        """Return the job and whether this call created it (False: an earlier submit already did)."""
        b = self.backend

        def waiting(lock_path: Path) -> None:
            self.say(f"dsqa: another dsqa submit of {train.path} is running (it holds {lock_path}); waiting for it to finish")

        # concurrent submits of the same data take turns: the second finds what the first uploaded and created
        with self.ledger.lock(f"{b.name} {b.endpoint} {train.sha256}", on_wait=waiting):
            return self._submit(check_id, report_hash, train, validation, spec)

    def _submit(self, check_id: int, report_hash: str, train: Digest, validation: Digest | None, spec: JobSpec) -> tuple[JobInfo, bool]:
        b, led = self.backend, self.ledger
        request = spec.request()
        training_file = self.ensure_file(train)
        validation_file = self.ensure_file(validation) if validation is not None else None
        val_sha = validation.sha256 if validation is not None else None
        earlier = led.submissions_for(b.name, b.endpoint, train.sha256, val_sha, request)
        if self.new:
            for previous in (s for s in earlier if s.state == "pending"):
                led.submission_rejected(previous.id, "abandoned by `dsqa submit --new` while unresolved")
                self.say(f"dsqa: --new: not waiting for the interrupted submit of {previous.created_at and _when(previous.created_at)}; "
                         "if it created a job, there will be two")
            sub = led.new_submission(b.name, b.endpoint, check_id, train.sha256, val_sha, report_hash, training_file, validation_file, request)
            self.say("dsqa: --new: creating a new job without looking for an earlier one")
            return self._create(sub.id, training_file, validation_file, train.sha256, report_hash, spec), True
        # an earlier submit that stopped without learning whether its job was created is resolved
        # first, even if the rules (and so the report) changed since: a duplicate job is billed twice
        for previous in (s for s in earlier if s.state == "pending"):
            settled = self._settle(previous, training_file, validation_file, train.sha256, report_hash, spec)
            if settled is not None:
                return settled
        # the first earlier submit that created a job decides; only without one is the API searched
        created = next((s for s in earlier if s.state == "created" and s.job_id), None)
        if created is not None:
            job = self._earlier_job(created)
            if job is not None:
                return job, False
        else:
            adopted = self._adopt_job(check_id, report_hash, train, val_sha, training_file, validation_file, spec)
            if adopted is not None:
                return adopted, False
        sub = led.new_submission(b.name, b.endpoint, check_id, train.sha256, val_sha, report_hash, training_file, validation_file, request)
        return self._create(sub.id, training_file, validation_file, train.sha256, report_hash, spec), True

    def _settle(self, previous: Submission, training_file: str, validation_file: str | None, train_sha: str, report_hash: str,
                spec: JobSpec) -> tuple[JobInfo, bool] | None:
        """An interrupted earlier submit resolved: the job it created, or one created now in its place (None: superseded)."""
        led = self.ledger
        self.echo(f"an earlier submit was interrupted while creating a job; looking it up {_how(self.backend)}")
        lookup = spec.job_request(previous.training_file, previous.validation_file, {"dsqa_submission": previous.id})
        base = previous.attempted_at or previous.created_at or self.clock()
        found = self._resolve(lookup, previous.created_at, base)
        if found is not None:
            led.submission_created(previous.id, found)
            self.echo(f"found the job the interrupted submit created: {found.id}")
            return found, False
        self.say(f"dsqa: the interrupted submit created no job (none appeared within {_seconds(self.window)} of its request)")
        if previous.training_file == training_file and previous.validation_file == validation_file and previous.report_sha256 == report_hash:
            return self._create(previous.id, training_file, validation_file, train_sha, report_hash, spec), True
        led.submission_rejected(previous.id, "superseded: the API has no job for it")
        return None

    def _earlier_job(self, previous: Submission) -> JobInfo | None:
        """The job an earlier submit created, if the API still has it and it neither failed nor was cancelled."""
        b = self.backend
        try:
            job = b.get_job(previous.job_id or "")
        except BackendError as exc:
            if exc.kind != "not_found":
                raise
            self.echo(f"the earlier job {previous.job_id} is unknown to {b.endpoint}; creating a new one")
            return None
        self.ledger.record_job(job, b.name, b.endpoint)
        if not job.failed_or_cancelled:
            self.echo(f"this dataset was already submitted with the same settings: {job.id} ({job.status})")
            return job
        self.echo(f"the earlier job {job.id} ended {job.status}; creating a new one")
        return None

    def _adopt_job(self, check_id: int, report_hash: str, train: Digest, val_sha: str | None, training_file: str,
                   validation_file: str | None, spec: JobSpec) -> JobInfo | None:
        """A job the API has for this dataset, report and settings that the ledger does not know (the ledger was lost)."""
        b, led = self.backend, self.ledger
        if not getattr(b, "job_metadata", True):
            return None  # without metadata a job the ledger does not know cannot be told from someone else's
        # the ledger has no submission of this data with these settings: it may have been lost (looked up quietly)
        wanted = {"dsqa_dataset_sha256": train.sha256, "dsqa_report_sha256": report_hash, "dsqa_request_sha256": _request_sha(spec)}
        found = [j for j in self._find(spec.job_request(training_file, validation_file, wanted), None) if not j.failed_or_cancelled]
        if not found:
            return None
        job = max(found, key=lambda j: j.created_at or 0)
        sub = led.new_submission(b.name, b.endpoint, check_id, train.sha256, val_sha, report_hash, training_file, validation_file, spec.request())
        led.submission_created(sub.id, job)
        self.echo(f"this dataset was already submitted with the same settings: {job.id} ({job.status}); found on {b.endpoint} "
                  "(the dataset, report and settings hashes in its metadata), not in the ledger")
        return job

    def _create(self, submission_id: str, training_file: str, validation_file: str | None, train_sha: str, report_hash: str, spec: JobSpec) -> JobInfo:
        led = self.ledger
        metadata = _metadata(train_sha, report_hash, submission_id, _request_sha(spec))
        req = spec.job_request(training_file, validation_file, metadata)
        lookup = spec.job_request(training_file, validation_file, {"dsqa_submission": submission_id})
        since = led.submission_time(submission_id)
        if self.before_create is not None:
            try:
                self.before_create(req)
            except BaseException as exc:
                led.submission_rejected(submission_id, f"not created: {exc}")
                raise
        for attempt in range(CREATE_ATTEMPTS):
            # recorded before the request: a submit killed now leaves the time the next one waits from
            led.submission_attempt(submission_id)
            try:
                job = self.backend.create_job(req)
            except BackendError as exc:
                if exc.kind == "malformed":
                    # the answer says nothing reliable; the submission stays unresolved for the next submit
                    raise BackendError(f"{exc}; the job may exist: run `dsqa submit` again to look it up (it is not created twice)",
                                       "malformed") from None
                if exc.kind != "transient" or exc.status == 429:
                    # refused (a 429 only after --max-wait was spent on it): no job was made
                    led.submission_rejected(submission_id, str(exc))
                    raise
                # the request may have created the job before the answer was lost: never create blindly
                self.echo(f"job creation failed ({exc}); looking the job up {_how(self.backend)}")
                if exc.status is not None:
                    # the server answered (5xx): what it did is listed now
                    listed = self._find(lookup, since)
                    found = listed[0] if listed else None
                else:
                    # no answer: the job may still be landing, and the job list may lag behind it
                    found = self._resolve(lookup, since, self.clock())
                if found is not None:
                    led.submission_created(submission_id, found)
                    self.echo(f"the job exists: {found.id}")
                    return found
                if attempt == CREATE_ATTEMPTS - 1:
                    raise BackendError(f"{exc}; no job exists for this submission (checked {_how(self.backend)}); run `dsqa submit` again later", "transient") from None
                if exc.status is not None:
                    delay = exc.retry_after if exc.retry_after is not None and 0 < exc.retry_after <= 60 else min(0.5 * 2**attempt, 8.0)
                    self.say(f"dsqa: no job was created; creating it again in {_seconds(delay)} (attempt {attempt + 2} of {CREATE_ATTEMPTS})")
                    self.sleep(delay)
                else:
                    self.say(f"dsqa: no job appeared within {_seconds(self.window)} of the lost answer, so the request made none; "
                             f"creating it again (attempt {attempt + 2} of {CREATE_ATTEMPTS})")
                continue
            led.submission_created(submission_id, job)
            return job
        raise AssertionError("unreachable")


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _how(backend: Backend) -> str:
    """How this backend finds a job whose creation answer was lost."""
    if backend.name == "together":
        return "by listing jobs (same training file, model and creation time; Together has no job metadata)"
    return "by its metadata"


def _request_sha(spec: JobSpec) -> str:
    payload = json.dumps(spec.request(), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def _metadata(train_sha: str, report_hash: str, submission_id: str, request_sha: str) -> dict[str, str]:
    return {"dsqa_dataset_sha256": train_sha, "dsqa_report_sha256": report_hash, "dsqa_submission": submission_id,
            "dsqa_request_sha256": request_sha}
