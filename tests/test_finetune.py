"""submit / jobs / status / watch / cancel / metrics with the real openai SDK over real HTTP to a local fake API."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_openai import WIND_DOWN, FakeOpenAI, Fault
from tests.helpers import ROOT, FakeAPIs, run_cli, run_in_process

KEY = "sk-test-SECRET-0123456789abcdef"
MODEL = "gpt-4.1-mini-2025-04-14"
CLEAN = ROOT / "sample_data" / "chat_clean.jsonl"
DEFECTS = ROOT / "sample_data" / "defects.jsonl"


@pytest.fixture
def fake(apis: FakeAPIs) -> FakeOpenAI:
    apis.resolve("2", "0.2")  # a lost answer is looked up for 2 s here, not the default 2 minutes
    return apis.openai(KEY)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    """A passing training file and a validation file with different examples."""
    lines = CLEAN.read_text("utf-8").splitlines(keepends=True)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(lines[5:]), "utf-8")
    val = tmp_path / "val.jsonl"
    val.write_text("".join(lines[:5]), "utf-8")
    return train, val


def _dsqa(*args: str, subprocess_: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real CLI entry point (in this process unless asked; starting Python costs seconds here)."""
    if not subprocess_:
        return run_in_process(*args, secret=KEY)
    proc = run_cli(*args)
    assert "Traceback" not in proc.stderr
    assert KEY not in proc.stdout + proc.stderr
    return proc


def _ledger_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite*"))


def _history(tmp_path: Path, job_id: str) -> list[str]:
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        return [r[0] for r in db.execute("SELECT status FROM job_status WHERE job_id=? ORDER BY id", (job_id,))]


def test_failing_dataset_is_refused_before_any_request(fake: FakeOpenAI, tmp_path: Path) -> None:
    proc = _dsqa("submit", str(DEFECTS), "--model", MODEL, subprocess_=True)
    assert proc.returncode == 1
    assert "FAILED:" in proc.stdout and "not submitted" in proc.stderr
    assert fake.state.requests == []
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        assert db.execute("SELECT passed FROM checks").fetchall() == [(0,)]
    assert _dsqa("jobs").stdout.strip() == "no submissions yet"


def test_submit_and_watch_to_success_under_retried_faults(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    train, val = data
    fake.inject("files.create", Fault(status=429, code="rate_limit_exceeded", headers={"retry-after-ms": "1"}))
    fake.inject("jobs.retrieve", Fault(status=500, headers={"retry-after-ms": "1"}))
    proc = _dsqa("submit", str(train), "--validation", str(val), "--model", MODEL, "--epochs", "2", "--suffix", "demo", "--watch", "--interval", "0", subprocess_=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    (job_id,) = fake.state.jobs
    job = fake.state.jobs[job_id]
    assert job["method"] == {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}}
    assert job["user_provided_suffix"] == "demo"
    assert job["metadata"]["dsqa_dataset_sha256"] and job["metadata"]["dsqa_report_sha256"]
    assert len([f for f in fake.state.files.values() if f["purpose"] == "fine-tune"]) == 2
    assert job["validation_file"] != job["training_file"]
    # every event once, oldest first; progress by step with the latest losses
    for message in ("Created fine-tuning job", "Job entered queued", "Job started", "The job has successfully completed"):
        assert out.count(message) == 1
    assert out.index("Created fine-tuning job") < out.index("Job started") < out.index("step 1/3")
    assert "step 3/3 [" + "#" * 30 + "] 100%  train loss 0.5000  valid loss 0.5500" in out
    assert f"fine-tuned model: ft:{MODEL}:dsqa-test::" in out.splitlines()[-1]
    assert _history(tmp_path, job_id) == ["validating_files", "queued", "running", "succeeded"]
    # a re-run neither uploads nor creates anything
    uploads = fake.count("files.create")
    again = _dsqa("submit", str(train), "--validation", str(val), "--model", MODEL, "--epochs", "2", "--suffix", "demo")
    assert again.returncode == 0
    assert "already uploaded" in again.stdout and "already submitted" in again.stdout
    assert fake.count("files.create") == uploads and fake.count("jobs.create") == 1
    listing = _dsqa("jobs").stdout
    assert f"train.jsonl (sha256 " in listing and "passed -> file file-" in listing
    assert f"-> job {job_id} succeeded -> model ft:{MODEL}:dsqa-test::" in listing
    assert KEY.encode() not in _ledger_bytes(tmp_path)


def test_connection_dropped_after_the_job_was_created_makes_no_second_job(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    fake.inject("jobs.create", Fault(drop=True))
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    assert len(fake.state.jobs) == 1 and fake.count("jobs.create") == 1
    assert "looking the job up by its metadata" in proc.stdout
    assert f"job: {next(iter(fake.state.jobs))}" in proc.stdout


def test_timeout_after_the_job_was_created_makes_no_second_job(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    from dsqa.finetune.ledger import Ledger
    from dsqa.finetune.openai_backend import make_openai
    from dsqa.finetune.submit import JobSpec, Submitter, digest

    fake.inject("jobs.create", Fault(hang=True))
    backend = make_openai(timeout=0.5)
    lines: list[str] = []
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        check_id = ledger.record_check(("train.jsonl", digest(data[0]).sha256), None, "r" * 64, True, {})
        job, created = Submitter(ledger, backend, lines.append, sleep=lambda s: None).submit(
            check_id, "r" * 64, digest(data[0]), None, JobSpec(MODEL))
    fake.release.set()
    assert created and list(fake.state.jobs) == [job.id]
    assert fake.count("jobs.create") == 1
    assert any("did not answer in time" in line for line in lines)


def test_server_error_on_create_is_looked_up_then_retried_once(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    fake.inject("jobs.create", Fault(status=500, headers={"retry-after-ms": "1"}))
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    # one listing because the ledger had no submission of this data (is the job there already?), one after the 500
    assert fake.count("jobs.create") == 2 and fake.count("jobs.list") == 2
    assert len(fake.state.jobs) == 1


def test_training_not_available_is_one_clear_line(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    fake.inject("jobs.create", Fault(status=403, code="training_not_available", message=WIND_DOWN))
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "no longer accepts fine-tuning jobs from this organisation" in line and "2027-01-06" in line and "azure" in line
    assert fake.count("jobs.create") == 1 and fake.state.jobs == {}
    assert "rejected: " in _dsqa("jobs", "--offline").stdout


def test_model_not_available_is_one_clear_line(fake: FakeOpenAI, data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # a model in dsqa's catalogue that this account's API refuses
    monkeypatch.setattr("tests.fake_openai.TRAINABLE", {"gpt-4.1-2025-04-14"})
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert f"{MODEL} is not available for fine-tuning" in line and "model_not_available" in line
    assert fake.state.jobs == {}


@pytest.mark.parametrize("model", ["gpt-5-mini", "gpt-5-2026-08-07"])
def test_an_unknown_model_stops_before_the_check_and_any_request(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path, model: str) -> None:
    proc = _dsqa("submit", str(data[0]), "--model", model)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert f"unknown target model '{model}' for backend openai; did you mean 'gpt-4" in line
    assert fake.state.requests == [] and not (tmp_path / "ledger.sqlite").exists()
    check = _dsqa("check", str(data[0]), "--model", model)
    assert check.returncode == 2 and "did you mean" in check.stderr and check.stdout == ""


def test_a_model_name_in_any_case_is_recorded_and_sent_as_the_canonical_id(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    proc = _dsqa("submit", str(data[0]), "--model", "GPT-4o-mini")
    assert proc.returncode == 0, proc.stderr
    assert "default target" not in proc.stdout and "gpt-4o-mini-2024-07-18, o200k_base, limit 65,536" in proc.stdout
    (job,) = fake.state.jobs.values()
    assert job["model"] == "gpt-4o-mini-2024-07-18"
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        assert db.execute("SELECT model FROM jobs").fetchall() == [("gpt-4o-mini-2024-07-18",)]
        assert '"model":"gpt-4o-mini-2024-07-18"' in db.execute("SELECT request FROM submissions").fetchone()[0]


def test_bad_and_missing_keys_never_print_the_key(fake: FakeOpenAI, data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "-wrong")
    proc = run_cli("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 2
    assert KEY not in proc.stdout + proc.stderr
    assert "API key was rejected (401); check OPENAI_API_KEY" in proc.stderr
    monkeypatch.delenv("OPENAI_API_KEY")
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 2 and "no API key: set OPENAI_API_KEY" in proc.stderr
    assert KEY.encode() not in _ledger_bytes(tmp_path)


def _interrupted_submit(fake: FakeOpenAI, train: Path) -> None:
    """Start `dsqa submit`, wait until its job-creation request reaches the server, then kill -9 it."""
    proc = subprocess.Popen([sys.executable, "-m", "dsqa", "submit", str(train), "--model", MODEL], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert fake.arrived["jobs.create"].wait(120)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("server_created_it", [False, True])
def test_crash_during_job_creation_leaves_a_consistent_ledger_and_a_rerun_resumes(
    fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path, server_created_it: bool
) -> None:
    fake.inject("jobs.create", Fault(hang=True, before=not server_created_it))
    _interrupted_submit(fake, data[0])
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT state FROM submissions").fetchall() == [("pending",)]
    listing = _dsqa("jobs", "--offline")
    assert listing.returncode == 0 and "job unknown (submit was interrupted" in listing.stdout
    assert len(fake.state.jobs) == (1 if server_created_it else 0)
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    assert "already uploaded" in proc.stdout and fake.count("files.create") == 1
    assert len(fake.state.jobs) == 1
    assert fake.count("jobs.create") == (1 if server_created_it else 2)
    if server_created_it:
        assert "found the job the interrupted submit created" in proc.stdout
    assert f"-> job {next(iter(fake.state.jobs))} " in _dsqa("jobs", "--offline").stdout


def test_a_failure_inside_a_ledger_transaction_leaves_the_submission_pending(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dsqa.finetune.ledger import Ledger
    from dsqa.finetune.openai_backend import make_openai
    from dsqa.finetune.submit import JobSpec, Submitter, digest

    def boom(*args: object) -> None:
        raise RuntimeError("crash between two steps")

    d = digest(data[0])
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        check_id = ledger.record_check(("train.jsonl", d.sha256), None, "r" * 64, True, {})
        monkeypatch.setattr(Ledger, "_upsert_job", boom)
        with pytest.raises(RuntimeError):
            Submitter(ledger, make_openai(30), lambda s: None).submit(check_id, "r" * 64, d, None, JobSpec(MODEL))
        monkeypatch.undo()
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        (row,) = ledger.overview()
        assert row["state"] == "pending" and row["job_id"] is None
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        job, created = Submitter(ledger, make_openai(30), lambda s: None).submit(check_id, "r" * 64, d, None, JobSpec(MODEL))
    assert not created and list(fake.state.jobs) == [job.id]


def test_large_files_go_through_the_uploads_api_in_parts(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    size = data[0].stat().st_size
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--upload-limit", "1000", "--part-size", "4096")
    assert proc.returncode == 0, proc.stderr
    assert fake.count("files.create") == 0 and fake.count("uploads.create") == 1
    assert fake.count("parts.create") == -(-size // 4096) and fake.count("uploads.complete") == 1
    (job,) = fake.state.jobs.values()
    assert fake.state.files[job["training_file"]]["content"] == data[0].read_bytes()


def test_a_file_gone_from_the_api_is_uploaded_again(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    fake.state.files.clear()
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--seed", "7")
    assert proc.returncode == 0, proc.stderr
    assert "no longer usable" in proc.stdout and fake.count("files.create") == 2 and len(fake.state.jobs) == 2


def test_watch_reports_failure_and_treats_unknown_statuses_as_running(apis: FakeAPIs, data: tuple[Path, Path], tmp_path: Path) -> None:
    server = apis.openai(KEY, outcome="failed", statuses=("validating_files", "paused", "running"))
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = server.state.jobs
    proc = _dsqa("watch", job_id, "--interval", "0")
    assert proc.returncode == 1
    assert f"{job_id}: paused" in proc.stdout and f"{job_id}: running" in proc.stdout
    assert "invalid_training_file: Example 3, message 2" in proc.stderr
    assert _history(tmp_path, job_id)[-1] == "failed"


def test_cancel_then_watch_exits_1(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = fake.state.jobs
    proc = _dsqa("cancel", job_id)
    assert proc.returncode == 0 and proc.stdout.strip() == f"{job_id}: cancelled"
    assert _dsqa("watch", job_id, "--interval", "0").returncode == 1
    assert f"job {job_id} cancelled" in _dsqa("jobs").stdout
    again = _dsqa("cancel", job_id)
    assert again.returncode == 0 and again.stdout.strip() == f"{job_id} had already finished (cancelled); nothing to cancel"
    metrics = _dsqa("metrics", job_id, "-o", str(data[0].parent / "m.csv"))
    assert metrics.returncode == 2
    assert metrics.stderr.strip() == f"dsqa: error: {job_id} cancelled: there will be no results file, and it left no metric events"


def test_status_and_metrics_after_success(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL, "--watch", "--interval", "0").returncode == 0
    (job_id,) = fake.state.jobs
    status = _dsqa("status", job_id).stdout
    assert "status: succeeded" in status and "fine-tuned model: ft:" in status and "trained tokens: 1,234" in status
    assert [line.split(" (")[0].rsplit(":", 1)[-1] for line in status.splitlines() if line.startswith("checkpoint:")] == [
        "ckpt-step-1", "ckpt-step-2", "ckpt-step-3"]
    assert "(step 3, train loss 0.5000, valid loss 0.5500)" in status
    out, chart = tmp_path / "metrics.csv", tmp_path / "loss.svg"
    proc = _dsqa("metrics", job_id, "-o", str(out), "--chart", str(chart))
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy"
    assert lines[1:] == ["1,1.0000,0.60,,", "2,0.6667,0.70,0.7333,0.55", "3,0.5000,0.80,,"]
    svg = chart.read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 2


def test_azure_backend_uses_azure_paths_and_the_ledger_remembers_it(apis: FakeAPIs, monkeypatch: pytest.MonkeyPatch, data: tuple[Path, Path], tmp_path: Path) -> None:
    azure_key = "azure-SECRET-key-42"
    server = apis.azure(azure_key, "2025-04-01-preview")
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--backend", "azure")
    assert proc.returncode == 0, proc.stderr
    (job_id,) = server.state.jobs
    watched = _dsqa("watch", job_id, "--interval", "0")  # no --backend: taken from the ledger
    assert watched.returncode == 0 and "fine-tuned model: ft:" in watched.stdout
    assert all("api-version=2025-04-01-preview" in q for _, _, q in server.state.requests)
    assert azure_key not in proc.stdout + watched.stdout + proc.stderr + watched.stderr
    assert azure_key.encode() not in _ledger_bytes(tmp_path)
    monkeypatch.delenv("OPENAI_API_VERSION")
    missing = _dsqa("status", job_id)
    assert missing.returncode == 2 and "needs OPENAI_API_VERSION" in missing.stderr


def test_dpo_options_are_checked_before_anything_is_sent(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--beta", "0.5")
    assert proc.returncode == 2 and "--beta applies only to --method dpo" in proc.stderr
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--method", "dpo")
    assert proc.returncode == 2 and "needs openai-preference records" in proc.stderr
    assert fake.state.requests == []


def test_the_cli_does_not_import_openai_until_a_finetune_command_runs() -> None:
    code = "import sys, dsqa.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'openai'))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert proc.stdout.strip() == "[]"


def test_watch_survives_a_poll_that_fails_after_the_retries(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = fake.state.jobs
    # within --max-wait every 500 is retried where it happened, each with a visible wait message
    fake.inject("jobs.retrieve", *[Fault(status=500, headers={"retry-after-ms": "1"})] * 4)
    proc = _dsqa("watch", job_id, "--interval", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(f"dsqa: HTTP 500 while retrieving job {job_id}; waiting 0.0 s as the server asked (retry-after)") == 4
    assert "poll failed" not in proc.stdout and "fine-tuned model: ft:" in proc.stdout
    # with no budget left a failed poll is reported and the next poll carries on
    fake.inject("jobs.retrieve", Fault(status=500, headers={"retry-after-ms": "1"}))
    proc = _dsqa("watch", job_id, "--interval", "0", "--max-wait", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("poll failed (retrieving job") == 1


def test_results_file_in_either_spelling_or_base64() -> None:
    import base64

    from dsqa.finetune.track import parse_results, results_csv

    documented = b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,0.9,0.5,,\n2,0.7,0.6,0.8,0.55\n"
    real = documented.replace(b"train_accuracy", b"train_mean_token_accuracy")
    expected = "step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy\n1,0.9,0.5,,\n2,0.7,0.6,0.8,0.55\n"
    for content in (documented, real, base64.b64encode(real)):
        assert results_csv(parse_results(content, "file-x")) == expected


def test_watch_pages_through_many_new_events_and_prints_each_once_in_order(apis: FakeAPIs, data: tuple[Path, Path]) -> None:
    server = apis.openai(KEY, total_steps=120, steps_per_tick=120)
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = server.state.jobs
    proc = _dsqa("watch", job_id, "--interval", "0")
    assert any("after=" in q for _, route, q in server.state.requests if route == "jobs.events")
    assert proc.returncode == 0
    steps = [int(line.split("step ")[1].split("/")[0]) for line in proc.stdout.splitlines() if line.startswith("  step ")]
    assert steps == list(range(1, 121))


def test_png_chart_is_a_real_png_with_both_curves(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    Image = pytest.importorskip("PIL.Image", reason="PNG charts need the charts extra (Pillow)")

    assert _dsqa("submit", str(data[0]), "--model", MODEL, "--watch", "--interval", "0").returncode == 0
    (job_id,) = fake.state.jobs
    png = tmp_path / "loss.png"
    assert _dsqa("metrics", job_id, "-o", str(tmp_path / "m.csv"), "--chart", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (640, 360)
        colours = {colour for _, colour in image.convert("RGB").getcolors(640 * 360)}
    assert (0x1F, 0x77, 0xB4) in colours and (0xFF, 0x7F, 0x0E) in colours  # training and validation curves
    assert _dsqa("metrics", job_id, "-o", str(tmp_path / "m.csv"), "--chart", str(tmp_path / "loss.jpg")).returncode == 2


def test_jobs_refreshes_running_jobs_from_the_api(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = fake.state.jobs
    assert f"job {job_id} validating_files" in _dsqa("jobs", "--offline").stdout
    assert f"job {job_id} queued" in _dsqa("jobs").stdout


def test_an_unreadable_or_newer_ledger_is_one_line_and_exit_2(fake: FakeOpenAI, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(b"this is not a database" * 100)
    proc = _dsqa("jobs")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "cannot open the ledger" in proc.stderr
    ledger.unlink()
    with sqlite3.connect(ledger) as db:
        db.execute("PRAGMA user_version=99")
    proc = _dsqa("jobs")
    assert proc.returncode == 2 and "ledger schema 99 is newer" in proc.stderr


def test_rate_limits_are_waited_out_within_max_wait_and_an_unreachable_endpoint_is_one_line(
    fake: FakeOpenAI, data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # three 429s in a row used to end the upload after about 3 seconds; now they are waited out
    fake.inject("files.create", *[Fault(status=429, code="rate_limit_exceeded", headers={"retry-after-ms": "1"})] * 3)
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    assert fake.count("files.create") == 4 and len(fake.state.jobs) == 1
    assert proc.stderr.count("dsqa: HTTP 429 (rate limited) while uploading") == 3
    # a server that asks for more than the budget allows: one line, the budget and the server's wish named
    fake.inject("files.create", Fault(status=429, code="rate_limit_exceeded", headers={"retry-after": "30"}))
    other = data[0].with_name("other.jsonl")
    other.write_text(data[0].read_text("utf-8") + data[1].read_text("utf-8"), "utf-8")
    proc = _dsqa("submit", str(other), "--model", MODEL, "--max-wait", "5")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "HTTP 429" in line and "gave up after 1 attempt in" in line and "--max-wait 5 s; the server asked to wait 30 s" in line
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--max-wait", "0")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert f"cannot reach http://127.0.0.1:{port}/v1" in line and "gave up after 1 attempt" in line


def test_dpo_submission_sends_the_dpo_method_with_beta(fake: FakeOpenAI) -> None:
    proc = _dsqa("submit", str(ROOT / "sample_data" / "preference_clean.jsonl"), "--model", MODEL, "--method", "dpo", "--beta", "0.1", "--batch-size", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (job,) = fake.state.jobs.values()
    assert job["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"batch_size": 4, "beta": 0.1}}}
    assert f"follow it with: dsqa watch {job['id']}" in proc.stdout


def test_a_job_the_api_no_longer_knows_does_not_block_a_new_submit(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (old,) = fake.state.jobs
    fake.state.jobs.clear()
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    assert f"the earlier job {old} is unknown" in proc.stdout and len(fake.state.jobs) == 1 and old not in fake.state.jobs


def test_events_and_follow_print_each_event_once_with_its_time(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = fake.state.jobs
    once = _dsqa("events", job_id)
    assert once.returncode == 0 and once.stdout.count("\n") == 1 and once.stdout.endswith("  Created fine-tuning job\n")
    follow = _dsqa("events", job_id, "--follow", "--interval", "0")
    assert follow.returncode == 0
    lines = follow.stdout.splitlines()
    assert lines[0].endswith("Created fine-tuning job") and lines[-2].endswith("The job has successfully completed")
    assert lines[-1].startswith("fine-tuned model: ft:")
    assert len(lines) == len(set(lines)) and any("Step 3/3: training loss=0.50" in ln for ln in lines)


def test_metrics_while_running_come_from_the_metric_events(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = fake.state.jobs
    for _ in range(3):  # queued, running, step 1; the retrieve of `dsqa metrics` adds step 2
        fake.advance(fake.state.jobs[job_id])
    out = tmp_path / "running.csv"
    proc = _dsqa("metrics", job_id, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "2 steps from the metric events (running)" in proc.stderr
    assert out.read_text().splitlines()[1:] == ["1,1.0000,0.6000,1.1000,", "2,0.6667,0.7000,0.7333,"]


def test_jobs_remote_lists_the_account_and_files_prune_deletes_finished_jobs_files(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    train, val = data
    assert _dsqa("submit", str(train), "--validation", str(val), "--model", MODEL).returncode == 0
    (job_id,) = fake.state.jobs
    remote = _dsqa("jobs", "--remote").stdout.splitlines()
    assert len(remote) == 1 and f"{job_id}  validating_files  {MODEL}" in remote[0] and remote[0].endswith("(ledger)")
    assert len(_dsqa("files").stdout.splitlines()) == 2
    assert "nothing to delete" in _dsqa("files", "--prune").stdout
    assert _dsqa("cancel", job_id).returncode == 0
    pruned = _dsqa("files", "--prune")
    assert pruned.stdout.count("deleted file-") == 2
    assert [f for f in fake.state.files.values() if f["purpose"] == "fine-tune"] == []


def test_dry_run_and_max_cost_use_dsqas_token_estimate(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--epochs", "2", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert fake.state.requests == [] and not (tmp_path / "ledger.sqlite").exists()
    out = proc.stdout
    assert "dry run: nothing uploaded or created; estimated cost $0.0" in out and "(dsqa's token estimate)" in out
    assert f"POST {fake.base_url}/fine_tuning/jobs" in out and "Authorization: Bearer ***" in out
    body = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert body["model"] == MODEL and body["method"] == {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}}
    refused = _dsqa("submit", str(data[0]), "--model", MODEL, "--max-cost", "0.000001")
    assert refused.returncode == 2 and "dsqa's token estimate $0.0" in refused.stderr and "is over --max-cost $0.000001" in refused.stderr
    assert fake.state.requests == []
    allowed = _dsqa("submit", str(data[0]), "--model", MODEL, "--max-cost", "0.000001", "--yes")
    assert allowed.returncode == 0 and "submitting because of --yes" in allowed.stderr and len(fake.state.jobs) == 1


def test_the_ledger_is_found_from_any_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dsqa.finetune.ledger import default_path

    monkeypatch.delenv("DSQA_LEDGER", raising=False)
    repo = tmp_path / "repo"
    deep = repo / "data" / "sft" / "v2"
    deep.mkdir(parents=True)
    (repo / ".git").mkdir()
    # no config: the git root
    assert default_path(deep) == repo / ".dsqa" / "ledger.sqlite"
    # an existing ledger nearer than the git root wins (a project inside a monorepo)
    (repo / "data" / ".dsqa").mkdir()
    (repo / "data" / ".dsqa" / "ledger.sqlite").write_bytes(b"")
    assert default_path(deep) == repo / "data" / ".dsqa" / "ledger.sqlite"
    # a dsqa config marks the project root before both
    (repo / "data" / "sft" / ".dsqa.yaml").write_text("extends: default\n")
    assert default_path(deep) == repo / "data" / "sft" / ".dsqa" / "ledger.sqlite"
    # outside any project: here
    alone = tmp_path / "alone"
    alone.mkdir()
    assert default_path(alone) == alone / ".dsqa" / "ledger.sqlite"
