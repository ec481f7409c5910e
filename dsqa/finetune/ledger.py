"""The local ledger: a SQLite file linking dataset, check report, uploaded files, jobs and models."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DsqaError
from .backend import JobInfo

SCHEMA_VERSION = 2
LEDGER_ENV = "DSQA_LEDGER"
DEFAULT_LEDGER = Path(".dsqa") / "ledger.sqlite"
#: the file id of a `files` row whose upload was sent but whose answer never came (its created_at is
#: when it was sent): the next submit looks for the file on the API before uploading it again
UPLOAD_PENDING = ""

_SCHEMA = """
CREATE TABLE checks (
    id INTEGER PRIMARY KEY,
    train_path TEXT NOT NULL,
    train_sha256 TEXT NOT NULL,
    validation_path TEXT,
    validation_sha256 TEXT,
    report_sha256 TEXT NOT NULL,
    passed INTEGER NOT NULL,
    summary TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE files (
    backend TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file_id TEXT NOT NULL,
    bytes INTEGER,
    filename TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (backend, endpoint, sha256)
);
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    check_id INTEGER NOT NULL REFERENCES checks(id),
    train_sha256 TEXT NOT NULL,
    validation_sha256 TEXT,
    report_sha256 TEXT NOT NULL,
    training_file TEXT NOT NULL,
    validation_file TEXT,
    request TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'created', 'rejected')),
    job_id TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    submission_id TEXT REFERENCES submissions(id),
    backend TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    fine_tuned_model TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE job_status (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs(job_id),
    status TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX submissions_by_data ON submissions (backend, endpoint, train_sha256, report_sha256);
"""

#: schema version -> the statements that bring the version before it up to it
_MIGRATIONS: dict[int, str] = {
    # `dsqa eval`: each model's reply to each request, so a rerun does not pay twice
    2: """
CREATE TABLE eval_replies (
    backend TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    reply TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (backend, endpoint, model, request_sha256)
);
""",
}


@dataclass(frozen=True)
class Submission:
    """One intent to create a job; ``pending`` means the API may or may not have created it."""

    id: str
    backend: str
    endpoint: str
    train_sha256: str
    report_sha256: str
    state: str
    job_id: str | None
    training_file: str
    validation_file: str | None
    request: dict[str, Any]
    error: str | None
    created_at: float | None = None
    #: when the job creation was last sent (None: never sent)
    attempted_at: float | None = None


def default_path(start: Path | None = None) -> Path:
    """Where the ledger is: DSQA_LEDGER, else ``.dsqa/ledger.sqlite`` at the project's root.

    The root is, looking upwards from ``start`` (the working directory): the directory of the
    project's dsqa config (.dsqa.yaml, or pyproject.toml with [tool.dsqa]); else the nearest one
    that already has a ledger; else the git work tree's root; else ``start`` itself. So every
    subdirectory of a project finds the same ledger.
    """
    env = os.environ.get(LEDGER_ENV)
    if env:
        return Path(env)
    from ..config import discover

    here = (start or Path.cwd()).resolve()
    found = discover(here)
    if found is not None:
        return found.parent / DEFAULT_LEDGER
    above = (here, *here.parents)
    for directory in above:
        if (directory / DEFAULT_LEDGER).is_file():
            return directory / DEFAULT_LEDGER
    for directory in above:
        if (directory / ".git").exists():
            return directory / DEFAULT_LEDGER
    return here / DEFAULT_LEDGER


class Ledger:
    """A SQLite ledger; every state change is one transaction, so a crash never leaves half of one."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not path.exists() and not create:
            raise DsqaError(f"{path}: no ledger yet (it is created by `dsqa submit`)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            try:
                self._migrate()
            except BaseException:
                self._db.close()
                raise
        except sqlite3.DatabaseError as exc:
            raise DsqaError(f"{path}: cannot open the ledger: {exc}") from None
        except OSError as exc:
            raise DsqaError(f"{path}: cannot create the ledger: {exc.strerror or exc}") from None

    def _migrate(self) -> None:
        with self._tx():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise DsqaError(f"{self.path}: ledger schema {version} is newer than this dsqa understands ({SCHEMA_VERSION})")
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                version = 1
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            if version < SCHEMA_VERSION:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- checks and files --------------------------------------------------------------------

    def record_check(
        self, train: tuple[str, str], validation: tuple[str, str] | None, report_sha256: str, passed: bool, summary: dict[str, int]
    ) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO checks (train_path, train_sha256, validation_path, validation_sha256, report_sha256, passed, summary, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (train[0], train[1], validation[0] if validation else None, validation[1] if validation else None,
                 report_sha256, int(passed), json.dumps(summary, sort_keys=True), time.time()),
            )
            return int(cur.lastrowid or 0)

    def file_id(self, backend: str, endpoint: str, sha256: str) -> str | None:
        row = self._db.execute(
            "SELECT file_id FROM files WHERE backend=? AND endpoint=? AND sha256=? AND file_id != ?", (backend, endpoint, sha256, UPLOAD_PENDING)
        ).fetchone()
        return row["file_id"] if row else None

    def remember_file(self, backend: str, endpoint: str, sha256: str, file_id: str, size: int | None, filename: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO files (backend, endpoint, sha256, file_id, bytes, filename, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (backend, endpoint, sha256, file_id, size, filename, time.time()),
            )

    def forget_file(self, backend: str, endpoint: str, sha256: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE backend=? AND endpoint=? AND sha256=?", (backend, endpoint, sha256))

    def upload_started(self, backend: str, endpoint: str, sha256: str, filename: str, size: int) -> None:
        """An upload is about to be sent: until its file is remembered, its answer may be lost."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO files (backend, endpoint, sha256, file_id, bytes, filename, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (backend, endpoint, sha256, UPLOAD_PENDING, size, filename, time.time()),
            )

    def upload_pending(self, backend: str, endpoint: str, sha256: str) -> float | None:
        """When an upload of this content was sent without its answer being recorded, else None."""
        row = self._db.execute(
            "SELECT created_at FROM files WHERE backend=? AND endpoint=? AND sha256=? AND file_id=?", (backend, endpoint, sha256, UPLOAD_PENDING)
        ).fetchone()
        return float(row["created_at"]) if row else None

    def upload_settled(self, backend: str, endpoint: str, sha256: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE backend=? AND endpoint=? AND sha256=? AND file_id=?", (backend, endpoint, sha256, UPLOAD_PENDING))

    @contextmanager
    def lock(self, key: str, on_wait: Callable[[Path], None] | None = None) -> Iterator[None]:
        """Hold an exclusive lock for ``key`` (one byte of a lock file beside the ledger) across processes.

        The operating system releases it when the process ends, even on SIGKILL, so a crash never leaves it held.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        offset = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) & 0x3FFFFFFF
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DsqaError(f"{lock_path}: cannot open the ledger's lock file: {exc.strerror or exc}") from None
        try:
            if not _try_lock(fd, offset, blocking=False):
                if on_wait is not None:
                    on_wait(lock_path)
                _try_lock(fd, offset, blocking=True)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    # -- submissions and jobs ----------------------------------------------------------------

    def submissions_for(
        self, backend: str, endpoint: str, train_sha256: str, validation_sha256: str | None, request: dict[str, Any]
    ) -> list[Submission]:
        """Earlier, not rejected submissions of the same data with the same settings, newest first."""
        rows = self._db.execute(
            "SELECT * FROM submissions WHERE backend=? AND endpoint=? AND train_sha256=? AND validation_sha256 IS ?"
            " AND request=? AND state != 'rejected' ORDER BY created_at DESC, rowid DESC",
            (backend, endpoint, train_sha256, validation_sha256, _canonical(request)),
        ).fetchall()
        return [_submission(r) for r in rows]

    def new_submission(
        self, backend: str, endpoint: str, check_id: int, train_sha256: str, validation_sha256: str | None,
        report_sha256: str, training_file: str, validation_file: str | None, request: dict[str, Any],
    ) -> Submission:
        sid = uuid.uuid4().hex
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO submissions (id, backend, endpoint, check_id, train_sha256, validation_sha256, report_sha256,"
                " training_file, validation_file, request, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (sid, backend, endpoint, check_id, train_sha256, validation_sha256, report_sha256, training_file,
                 validation_file, _canonical(request), now, now),
            )
        return Submission(sid, backend, endpoint, train_sha256, report_sha256, "pending", None, training_file, validation_file, request, None, now)

    def submission_attempt(self, submission_id: str) -> float:
        """The job creation is about to be sent; returns the time recorded (a pending submission's updated_at)."""
        now = time.time()
        with self._tx() as db:
            db.execute("UPDATE submissions SET updated_at=? WHERE id=?", (now, submission_id))
        return now

    def submission_created(self, submission_id: str, job: JobInfo) -> None:
        """The API has the job: link it to the submission and record its first status, atomically."""
        with self._tx() as db:
            db.execute(
                "UPDATE submissions SET state='created', job_id=?, error=NULL, updated_at=? WHERE id=?",
                (job.id, time.time(), submission_id),
            )
            row = db.execute("SELECT backend, endpoint FROM submissions WHERE id=?", (submission_id,)).fetchone()
            self._upsert_job(db, job, row["backend"], row["endpoint"], submission_id)

    def submission_rejected(self, submission_id: str, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE submissions SET state='rejected', error=?, updated_at=? WHERE id=?", (error, time.time(), submission_id))

    def record_job(self, job: JobInfo, backend: str, endpoint: str) -> str | None:
        """Store the job's current state; returns the status it had before (None if new)."""
        with self._tx() as db:
            return self._upsert_job(db, job, backend, endpoint, None)

    def _upsert_job(self, db: sqlite3.Connection, job: JobInfo, backend: str, endpoint: str, submission_id: str | None) -> str | None:
        now = time.time()
        row = db.execute("SELECT status, fine_tuned_model FROM jobs WHERE job_id=?", (job.id,)).fetchone()
        if row is None:
            if submission_id is None:
                found = db.execute("SELECT id FROM submissions WHERE job_id=?", (job.id,)).fetchone()
                submission_id = found["id"] if found else None
            db.execute(
                "INSERT INTO jobs (job_id, submission_id, backend, endpoint, model, status, fine_tuned_model, error, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.id, submission_id, backend, endpoint, job.model, job.status, job.fine_tuned_model, job.error_text, now, now),
            )
            db.execute("INSERT INTO job_status (job_id, status, at) VALUES (?, ?, ?)", (job.id, job.status, now))
            return None
        before = str(row["status"])
        db.execute(
            "UPDATE jobs SET status=?, fine_tuned_model=COALESCE(?, fine_tuned_model), error=?, updated_at=? WHERE job_id=?",
            (job.status, job.fine_tuned_model, job.error_text, now, job.id),
        )
        if before != job.status:
            db.execute("INSERT INTO job_status (job_id, status, at) VALUES (?, ?, ?)", (job.id, job.status, now))
        return before

    def linked_job_ids(self) -> set[str]:
        """Job ids already linked to a submission: a job found by listing must not be adopted twice."""
        return {r["job_id"] for r in self._db.execute("SELECT job_id FROM submissions WHERE job_id IS NOT NULL")}

    def submission_time(self, submission_id: str) -> float | None:
        row = self._db.execute("SELECT created_at FROM submissions WHERE id=?", (submission_id,)).fetchone()
        return float(row["created_at"]) if row else None

    def known_files(self) -> list[dict[str, Any]]:
        """Every uploaded file the ledger knows, with the jobs that used it and their statuses."""
        rows = self._db.execute(
            "SELECT f.backend, f.endpoint, f.sha256, f.file_id, f.bytes, f.filename, f.created_at,"
            " (SELECT group_concat(COALESCE(j.status, s.state), ',') FROM submissions s LEFT JOIN jobs j ON j.job_id = s.job_id"
            "  WHERE s.backend = f.backend AND s.endpoint = f.endpoint AND (s.training_file = f.file_id OR s.validation_file = f.file_id)) AS uses"
            " FROM files f WHERE f.file_id != '' ORDER BY f.created_at"
        ).fetchall()
        return [dict(r) for r in rows]

    def forget_file_id(self, backend: str, endpoint: str, file_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE backend=? AND endpoint=? AND file_id=?", (backend, endpoint, file_id))

    def job_backend(self, job_id: str) -> tuple[str, str] | None:
        row = self._db.execute("SELECT backend, endpoint FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        return (row["backend"], row["endpoint"]) if row else None

    def history(self, job_id: str) -> list[str]:
        return [r["status"] for r in self._db.execute("SELECT status FROM job_status WHERE job_id=? ORDER BY id", (job_id,))]

    def overview(self) -> list[dict[str, Any]]:
        """Every submission (with its check, files and job) and every job dsqa has seen, oldest first."""
        rows = self._db.execute(
            "SELECT s.id AS submission, s.state, s.error AS submit_error, s.training_file, s.validation_file, s.request,"
            " s.backend, s.endpoint, s.created_at, c.train_path, c.train_sha256, c.validation_path, c.report_sha256, c.passed,"
            " j.job_id, j.status, j.fine_tuned_model, j.error AS job_error, j.updated_at"
            " FROM submissions s JOIN checks c ON c.id = s.check_id LEFT JOIN jobs j ON j.job_id = s.job_id"
            " UNION ALL"
            " SELECT NULL, 'created', NULL, NULL, NULL, NULL, j.backend, j.endpoint, j.created_at, NULL, NULL, NULL, NULL, NULL,"
            " j.job_id, j.status, j.fine_tuned_model, j.error, j.updated_at FROM jobs j WHERE j.submission_id IS NULL"
            " ORDER BY created_at"
        ).fetchall()
        return [dict(r) for r in rows]

    # -- evaluation --------------------------------------------------------------------------

    def training_data(self, *, job_id: str | None = None, model: str | None = None) -> dict[str, Any] | None:
        """The job (by id, or by the model it produced) with its checked training file and request, if dsqa submitted it."""
        where, arg = ("j.job_id=?", job_id) if job_id is not None else ("j.fine_tuned_model=?", model)
        row = self._db.execute(
            "SELECT j.job_id, j.backend, j.endpoint, j.model, j.fine_tuned_model, s.request, c.train_path, c.train_sha256,"
            " c.validation_path, c.validation_sha256 FROM jobs j LEFT JOIN submissions s ON s.id = j.submission_id"
            f" LEFT JOIN checks c ON c.id = s.check_id WHERE {where} ORDER BY j.updated_at DESC LIMIT 1", (arg,),
        ).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["request"] = json.loads(row["request"]) if row["request"] else None
        return out

    def cached_reply(self, backend: str, endpoint: str, model: str, request_sha256: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT reply FROM eval_replies WHERE backend=? AND endpoint=? AND model=? AND request_sha256=?",
            (backend, endpoint, model, request_sha256),
        ).fetchone()
        return json.loads(row["reply"]) if row else None

    def store_reply(self, backend: str, endpoint: str, model: str, request_sha256: str, reply: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO eval_replies (backend, endpoint, model, request_sha256, reply, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (backend, endpoint, model, request_sha256, _canonical(reply), time.time()),
            )


def _canonical(request: dict[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, separators=(",", ":"))


def _submission(row: sqlite3.Row) -> Submission:
    return Submission(
        row["id"], row["backend"], row["endpoint"], row["train_sha256"], row["report_sha256"], row["state"], row["job_id"], row["training_file"],
        row["validation_file"], json.loads(row["request"]), row["error"], row["created_at"],
        # a pending submission changes only when its creation is sent, so its updated_at is that time
        row["updated_at"] if row["state"] == "pending" else None,
    )


def _try_lock(fd: int, offset: int, *, blocking: bool) -> bool:
    """Lock one byte at ``offset`` of ``fd``; False when another process holds it and ``blocking`` is off."""
    try:
        import fcntl
    except ImportError:  # Windows: msvcrt locks byte ranges from the current position
        import msvcrt

        os.lseek(fd, offset, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
                return True
            except OSError:
                if not blocking:
                    return False
                time.sleep(0.2)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB), 1, offset)
    except OSError:
        if blocking:
            raise
        return False
    return True
