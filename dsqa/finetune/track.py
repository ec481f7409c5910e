"""Follow a job to its end (status, progress by step, losses, events) and read its results file."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..charts import loss_chart
from ..errors import DsqaError
from .backend import FAILED_STATUSES, Backend, BackendError, EventInfo, JobInfo
from .ledger import Ledger

Echo = Callable[[str], None]
BAR_WIDTH = 30
#: polls in a row that may fail (after the SDK's own retries) before `watch` gives up
MAX_FAILED_POLLS = 5
#: the results file's documented spellings; dsqa writes the second of each pair
COLUMN_ALIASES = {"train_accuracy": "train_mean_token_accuracy", "valid_accuracy": "valid_mean_token_accuracy"}
RESULT_COLUMNS = ("step", "train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy")


def progress_bar(step: int, total: int | None, width: int = BAR_WIDTH) -> str:
    if not total or total <= 0:
        return f"step {step}"
    done = max(0, min(width, round(width * step / total)))
    return f"step {step}/{total} [{'#' * done}{'.' * (width - done)}] {100 * step // total:3d}%"


@dataclass
class JobProgress:
    """The latest step and losses seen in metrics events."""

    step: int | None = None
    total: int | None = None
    train_loss: float | None = None
    valid_loss: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def update(self, data: dict[str, Any]) -> bool:
        """Take a metrics event's data; True when the step moved."""
        moved = False
        step = data.get("step")
        if isinstance(step, int) and step != self.step:
            self.step, moved = step, True
        total = data.get("total_steps")
        if isinstance(total, int):
            self.total = total
        for key, attr in (("train_loss", "train_loss"), ("valid_loss", "valid_loss"), ("full_valid_loss", "valid_loss")):
            value = data.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(self, attr, float(value))
        return moved

    def line(self) -> str:
        parts = [progress_bar(self.step or 0, self.total)]
        if self.train_loss is not None:
            parts.append(f"train loss {self.train_loss:.4f}")
        if self.valid_loss is not None:
            parts.append(f"valid loss {self.valid_loss:.4f}")
        return "  ".join(parts)


class Watcher:
    """Polls a job until it ends, printing each status change and each new event once."""

    def __init__(self, ledger: Ledger, backend: Backend, echo: Echo, *, interval: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.ledger = ledger
        self.backend = backend
        self.echo = echo
        self.interval = interval
        self.sleep = sleep

    def refresh(self, job_id: str) -> tuple[JobInfo, str | None]:
        job = self.backend.get_job(job_id)
        before = self.ledger.record_job(job, self.backend.name, self.backend.endpoint)
        return job, before

    def watch(self, job_id: str) -> JobInfo:
        seen: set[str] = set()
        progress = JobProgress()
        status: str | None = None
        failed = 0
        while True:
            try:
                job, _ = self.refresh(job_id)
                events = self.backend.new_events(job_id, seen)
            except BackendError as exc:
                # a job runs for hours; one network blip or 5xx must not end the watch
                failed += 1
                if exc.kind != "transient" or failed >= MAX_FAILED_POLLS:
                    raise
                self.echo(f"  poll failed ({exc}); trying again")
                self.sleep(self.interval)
                continue
            failed = 0
            if job.status != status:
                status = job.status
                self.echo(f"{job.id}: {status}")
            for event in events:
                seen.add(event.id)
                self._show(event, progress)
            if job.terminal:
                return job
            self.sleep(self.interval)

    def _show(self, event: EventInfo, progress: JobProgress) -> None:
        data = event.data or {}
        if event.type != "metrics" and isinstance(data.get("step"), int) and isinstance(data.get("total_steps"), int):
            # Together's progress events carry step and total_steps beside their message
            if progress.update(data):
                self.echo(f"  {progress.line()}")
            return
        if event.type == "metrics" and event.data:
            if progress.update(event.data):
                self.echo(f"  {progress.line()}")
            return
        level = "" if event.level == "info" else f"[{event.level}] "
        self.echo(f"  {level}{event.message}")


def event_line(event: EventInfo) -> str:
    """One event for `dsqa events`: UTC time, level when not info, type, message."""
    import datetime as dt

    when = dt.datetime.fromtimestamp(event.created_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    level = "" if event.level == "info" else f"[{event.level}] "
    kind = f"{event.type}: " if event.type and event.type not in ("message", "metrics") else ""
    return f"{when}  {level}{kind}{event.message}"


def describe(job: JobInfo) -> list[str]:
    """A job's state as `key: value` lines for `dsqa status`."""
    lines = [f"job: {job.id}", f"status: {job.status}", f"model: {job.model}"]
    if job.training_file:
        lines.append(f"training file: {job.training_file}")
    if job.validation_file:
        lines.append(f"validation file: {job.validation_file}")
    if job.fine_tuned_model:
        lines.append(f"fine-tuned model: {job.fine_tuned_model}")
    if job.trained_tokens is not None:
        lines.append(f"trained tokens: {job.trained_tokens:,}")
    if job.status in FAILED_STATUSES and job.error_text:
        lines.append(f"error: {job.error_text}")
    for key in ("dsqa_dataset_sha256", "dsqa_report_sha256"):
        if key in job.metadata:
            lines.append(f"{key.removeprefix('dsqa_').replace('_', ' ')}: {job.metadata[key]}")
    return lines


def parse_results(content: bytes, where: str) -> list[dict[str, str]]:
    """Rows of a results CSV by header name, accepting both documented column spellings."""
    text = content.decode("utf-8-sig", errors="replace")
    if not text.lstrip().startswith("step"):
        try:
            # some results files come base64-encoded
            text = base64.b64decode(text, validate=False).decode("utf-8-sig")
        except (binascii.Error, UnicodeDecodeError):
            pass
    if not text.lstrip().startswith("step"):
        raise DsqaError(f"{where}: not a results CSV (expected a header starting with 'step')")
    reader = csv.DictReader(io.StringIO(text.strip()))
    rows = []
    for raw in reader:
        rows.append({COLUMN_ALIASES.get(k.strip(), k.strip()): (v or "").strip() for k, v in raw.items() if k})
    return rows


def rows_from_metrics(metrics: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Results-file rows built from per-step metric events, for a job that has no results file yet."""
    rows = []
    for m in metrics:
        row = {"step": str(int(m["step"]))}
        for column, keys in (("train_loss", ("train_loss",)), ("train_mean_token_accuracy", ("train_mean_token_accuracy", "train_accuracy")),
                             ("valid_loss", ("full_valid_loss", "valid_loss")),
                             ("valid_mean_token_accuracy", ("full_valid_mean_token_accuracy", "valid_mean_token_accuracy"))):
            value = next((m[k] for k in keys if isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool)), None)
            row[column] = f"{value:.4f}" if value is not None else ""
        rows.append(row)
    return rows


def results_csv(rows: list[dict[str, str]]) -> str:
    extra = sorted({k for r in rows for k in r} - set(RESULT_COLUMNS))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*RESULT_COLUMNS, *extra], lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _loss_series(rows: list[dict[str, str]], title: str) -> dict[str, list[tuple[float, float]]]:
    series: dict[str, list[tuple[float, float]]] = {"training loss": [], "validation loss": []}
    for row in rows:
        try:
            step = float(row["step"])
        except (KeyError, ValueError):
            continue
        for key, points in zip(("train_loss", "valid_loss"), series.values()):
            try:
                points.append((step, float(row.get(key) or "")))
            except ValueError:
                pass  # validation cells are blank on steps without validation
    if not any(series.values()):
        raise DsqaError(f"{title}: the results file has no loss values to chart")
    return series


def loss_svg(rows: list[dict[str, str]], title: str) -> str:
    """Training (and validation) loss by step as a standalone SVG document."""
    return loss_chart(_loss_series(rows, title), title)


def loss_png(rows: list[dict[str, str]], title: str) -> bytes:
    """The same chart as a PNG (needs Pillow, the ``dsqa[charts]`` extra)."""
    return loss_chart(_loss_series(rows, title), title, "png")
