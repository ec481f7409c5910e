"""`--backend together`: the real together SDK over real HTTP to a local fake Together API, with injected faults."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_openai import Fault
from tests.fake_together import FakeTogether
from tests.helpers import ROOT, FakeAPIs, run_in_process

KEY = "tgp-test-SECRET-0123456789abcdef"
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
CLEAN = ROOT / "sample_data" / "chat_clean.jsonl"
PREFERENCE = ROOT / "sample_data" / "preference_clean.jsonl"

#: jobs created per injected fault, filled in by the tests below and printed at the end of the run
JOBS_PER_FAULT: dict[str, int] = {}


@pytest.fixture
def fake(apis: FakeAPIs) -> FakeTogether:
    apis.resolve("0")  # one lookup after a lost answer, as before issue 19 (tested there)
    return apis.together(KEY)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    lines = CLEAN.read_text("utf-8").splitlines(keepends=True)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(lines[5:]), "utf-8")
    val = tmp_path / "val.jsonl"
    val.write_text("".join(lines[:5]), "utf-8")
    return train, val


def _dsqa(*args: str) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, secret=KEY)


def _submit(train: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _dsqa("submit", str(train), "--backend", "together", "--model", MODEL, *extra)


def _ledger(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        return db.execute(sql).fetchall()


def _record(fault: str, fake: FakeTogether) -> None:
    JOBS_PER_FAULT[fault] = len(fake.state.jobs)


def test_submit_watch_status_and_metrics_to_the_output_model(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    train, val = data
    proc = _submit(train, "--validation", str(val), "--epochs", "2", "--learning-rate", "0.0002", "--lora-r", "8",
                   "--lora-alpha", "16", "--lora-dropout", "0.05", "--n-evals", "2", "--n-checkpoints", "2",
                   "--warmup-ratio", "0.1", "--batch-size", "16", "--suffix", "demo", "--seed", "7", "--watch", "--interval", "0")
    assert proc.returncode == 0, proc.stderr
    (job,) = fake.state.jobs.values()
    req = job["request"]
    assert req["model"] == MODEL and req["n_epochs"] == 2 and req["learning_rate"] == 0.0002 and req["batch_size"] == 16
    assert req["training_type"] == {"type": "Lora", "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "lora_trainable_modules": "all-linear"}
    assert req["training_method"] == {"method": "sft", "train_on_inputs": "auto"}
    assert (req["n_evals"], req["n_checkpoints"], req["warmup_ratio"], req["suffix"], req["random_seed"]) == (2, 2, 0.1, "demo", 7)
    assert req["validation_file"] != req["training_file"] and {req["validation_file"], req["training_file"]} <= set(fake.state.files)
    out = proc.stdout
    assert f"{train}: Together's file check passed (jsonl, 30 examples)" in out and f"{val}: Together's file check passed" in out
    assert "Together's price estimate: $0.00" in out
    assert "tokens (meta-llama/Meta-Llama-3.1-8B-Instruct-Reference, o200k_base (estimate: not" in out
    for message in ("Fine tune request created", "Training started", "Fine-tuning job completed"):
        assert out.count(message) == 1
    assert "step 3/3 [" + "#" * 30 + "] 100%" in out
    model = job["model_output_name"]
    assert model.startswith("user-test/Meta-Llama-3.1-8B-Instruct-Reference-demo-")
    assert out.splitlines()[-1] == f"fine-tuned model: {model}"
    jid = job["id"]
    assert [r[0] for r in _ledger(tmp_path, f"SELECT status FROM job_status WHERE job_id='{jid}' ORDER BY id")] == [
        "pending", "queued", "running", "completed"]
    assert _ledger(tmp_path, "SELECT backend, model, fine_tuned_model FROM jobs") == [("together", MODEL, model)]
    status = _dsqa("status", jid).stdout
    assert f"fine-tuned model: {model}" in status and "trained tokens: 4,321" in status
    assert [line.rsplit(":", 1)[-1].split(" ")[0] for line in status.splitlines() if line.startswith("checkpoint:")] == ["step-1", "step-2", "step-3"]
    csv_path = tmp_path / "m.csv"
    metrics = _dsqa("metrics", jid, "-o", str(csv_path), "--chart", str(tmp_path / "loss.svg"))
    assert metrics.returncode == 0, metrics.stderr
    assert "3 steps from the metric events (completed)" in metrics.stderr
    assert csv_path.read_text().splitlines() == [
        "step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy",
        "1,1.0000,,,", "2,0.6667,,0.7333,", "3,0.5000,,,"]
    # the same data and settings again: Together's checksum de-duplication and dsqa's ledger, no new job
    again = _submit(train, "--validation", str(val), "--epochs", "2", "--learning-rate", "0.0002", "--lora-r", "8",
                    "--lora-alpha", "16", "--lora-dropout", "0.05", "--n-evals", "2", "--n-checkpoints", "2",
                    "--warmup-ratio", "0.1", "--batch-size", "16", "--suffix", "demo", "--seed", "7")
    assert again.returncode == 0 and "already submitted" in again.stdout and len(fake.state.jobs) == 1
    assert KEY.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite*"))


def test_dpo_and_full_training_send_the_method_and_the_beta(fake: FakeTogether) -> None:
    proc = _dsqa("submit", str(PREFERENCE), "--backend", "together", "--model", "qwen/qwen3-8b", "--method", "dpo", "--beta", "0.2", "--full")
    assert proc.returncode == 0, proc.stderr
    (job,) = fake.state.jobs.values()
    assert job["request"]["model"] == "Qwen/Qwen3-8B"
    assert job["request"]["training_method"]["method"] == "dpo" and job["request"]["training_method"]["dpo_beta"] == 0.2
    assert job["request"]["training_type"] == {"type": "Full"}


def test_options_the_model_refuses_stop_before_any_upload(fake: FakeTogether, data: tuple[Path, Path]) -> None:
    proc = _dsqa("submit", str(data[0]), "--backend", "together", "--model", "openai/gpt-oss-20b", "--full")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "Full training is not supported for the selected model (openai/gpt-oss-20b)" in line
    assert fake.count("files.create") == 0 and fake.state.jobs == {}
    proc = _submit(data[0], "--learning-rate-multiplier", "2")
    assert proc.returncode == 2 and "Together takes an absolute --learning-rate" in proc.stderr
    proc = _dsqa("submit", str(data[0]), "--model", "gpt-4o-mini", "--lora-r", "8")
    assert proc.returncode == 2 and "--lora-r: only --backend together takes this option" in proc.stderr
    assert [r[1] for r in fake.state.requests] == ["limits"]


def test_unknown_model_and_missing_key_stop_before_the_check(fake: FakeTogether, data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    proc = _dsqa("submit", str(data[0]), "--backend", "together", "--model", "llama-3.1-8b")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line == ("dsqa: error: unknown target model 'llama-3.1-8b' for backend together; did you mean "
                    "'meta-llama/Meta-Llama-3.1-8B-Instruct-Reference'? (`dsqa models --backend together --all` lists them)")
    monkeypatch.delenv("TOGETHER_API_KEY")
    missing = tmp_path / "does-not-exist.jsonl"
    proc = _dsqa("submit", str(missing), "--backend", "together", "--model", MODEL)
    # the key is checked before the data: the missing file is not even looked at
    assert proc.returncode == 2 and proc.stderr.strip() == "dsqa: error: no API key: set TOGETHER_API_KEY (backend together)"
    assert fake.state.requests == [] and not (tmp_path / "ledger.sqlite").exists()


def test_a_rejected_key_is_one_line_without_the_key(fake: FakeTogether, data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", KEY + "-wrong")
    proc = _submit(data[0])
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "(401)" in line and "check TOGETHER_API_KEY" in line and "***" in line


def test_rate_limits_on_every_safe_call_are_waited_out_with_the_real_backoff(fake: FakeTogether, data: tuple[Path, Path], virtual_time: list[float]) -> None:
    fake.inject("files.create", *[Fault(status=429, headers={"retry-after": "7"})] * 3)
    fake.inject("limits", Fault(status=503))
    fake.inject("estimate", Fault(status=500))
    proc = _submit(data[0], "--watch", "--interval", "0")
    fake.inject("jobs.events", *[Fault(status=502)] * 2)
    assert proc.returncode == 0, proc.stderr
    # retry-after is honoured exactly; without one the delay is backoff with jitter in [50 %, 100 %] of 1 s, 2 s, ...
    waits = virtual_time
    assert waits.count(7.0) == 3
    backoff = [w for w in waits if w != 7.0]
    assert len(backoff) == 2 and all(0.5 <= w <= 1.0 for w in backoff)
    assert proc.stderr.count("dsqa: HTTP 429 (rate limited) while uploading") == 3
    assert "waiting 7.0 s as the server asked (retry-after), then attempt 2" in proc.stderr
    assert "HTTP 503 while reading the fine-tuning limits" in proc.stderr and "backing off" in proc.stderr
    assert fake.count("files.create") == 4
    _record("429 with retry-after on upload (x3), 503 on limits, 500 on estimate", fake)
    assert len(fake.state.jobs) == 1
    (jid,) = fake.state.jobs
    virtual_time.clear()
    proc = _dsqa("events", jid)
    assert proc.returncode == 0 and virtual_time and 0.5 <= virtual_time[0] <= 1.0 and 1.0 <= virtual_time[1] <= 2.0


def test_the_budget_ends_the_retries_with_one_line(fake: FakeTogether, data: tuple[Path, Path], virtual_time: list[float]) -> None:
    fake.inject("files.create", *[Fault(status=429, headers={"retry-after": "7"})] * 10)
    proc = _submit(data[0], "--max-wait", "20")
    assert proc.returncode == 2
    (line,) = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("dsqa: error:")]
    assert "HTTP 429" in line and "gave up after 3 attempts in 14 s (--max-wait 20 s; the server asked to wait 7.0 s)" in line
    assert virtual_time == [7.0, 7.0] and fake.count("files.create") == 3 and fake.state.jobs == {}


@pytest.mark.parametrize("fault, label", [
    (Fault(drop=True), "connection dropped after the job was created"),
    (Fault(drop=True, before=True), "connection dropped before the job was created"),
    (Fault(status=429, headers={"retry-after": "0"}), "429 on create"),
    (Fault(status=500), "500 on create"),
])
def test_a_failed_create_is_looked_up_before_any_resend_and_makes_exactly_one_job(
    fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path, fault: Fault, label: str, virtual_time: list[float],
) -> None:
    fake.inject("jobs.create", fault)
    proc = _submit(data[0])
    assert proc.returncode == 0, proc.stderr
    _record(label, fake)
    assert len(fake.state.jobs) == 1
    created_by_first = fault.drop and not fault.before
    assert fake.count("jobs.create") == (1 if created_by_first else 2)
    # a 429 means the create was refused: it is sent again after the server's retry-after, with nothing to look up
    rate_limited = fault.status == 429
    assert fake.count("jobs.list") == (0 if rate_limited else 1)
    assert ("looking the job up by listing jobs (same training file, model and creation time" in proc.stdout) != rate_limited
    (jid,) = fake.state.jobs
    assert f"job: {jid} (pending) on together" in proc.stdout
    assert _ledger(tmp_path, "SELECT state, job_id FROM submissions") == [("created", jid)]


def test_a_create_whose_answer_timed_out_is_found_not_repeated(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    from dsqa.finetune.ledger import Ledger
    from dsqa.finetune.submit import JobSpec, Submitter, digest
    from dsqa.finetune.together_backend import make_together

    fake.inject("jobs.create", Fault(hang=True))
    backend = make_together(timeout=0.5)
    lines: list[str] = []
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        check_id = ledger.record_check(("train.jsonl", digest(data[0]).sha256), None, "r" * 64, True, {})
        job, created = Submitter(ledger, backend, lines.append, sleep=lambda s: None).submit(
            check_id, "r" * 64, digest(data[0]), None, JobSpec(MODEL, backend="together"))
    fake.release.set()
    _record("create answered after the client timed out", fake)
    assert created and list(fake.state.jobs) == [job.id]
    assert fake.count("jobs.create") == 1
    assert any("did not answer in time" in line for line in lines)


def test_an_older_job_with_the_same_file_and_model_is_not_adopted(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    # a job made long ago from the same file, model and epochs, which the ledger does not know (say, from Together's web UI)
    assert _submit(data[0], "--epochs", "3").returncode == 0
    (old_id,) = fake.state.jobs
    fake.state.jobs[old_id]["created_at"] = "2026-01-01T00:00:00Z"
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        db.execute("DELETE FROM job_status")
        db.execute("DELETE FROM jobs")
        db.execute("DELETE FROM submissions")
    fake.inject("jobs.create", Fault(drop=True, before=True))
    proc = _submit(data[0], "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    assert len(fake.state.jobs) == 2 and old_id in fake.state.jobs
    (new_id,) = set(fake.state.jobs) - {old_id}
    assert f"job: {new_id} " in proc.stdout


def test_a_job_linked_to_another_submission_is_not_adopted(fake: FakeTogether, data: tuple[Path, Path]) -> None:
    assert _submit(data[0], "--epochs", "2").returncode == 0
    (first,) = fake.state.jobs
    # another submission of the same file and model, whose create is dropped before the server sees it
    fake.inject("jobs.create", Fault(drop=True, before=True))
    proc = _submit(data[0], "--epochs", "2", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert len(fake.state.jobs) == 2 and f"job: {first} " not in proc.stdout


def _interrupted_submit(fake: FakeTogether, train: Path, env: dict[str, str]) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "dsqa", "submit", str(train), "--backend", "together", "--model", MODEL],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert fake.arrived["jobs.create"].wait(120)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_crash_during_create_is_resolved_by_listing_on_the_next_submit(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    fake.inject("jobs.create", Fault(hang=True))
    _interrupted_submit(fake, data[0], dict(os.environ))
    assert _ledger(tmp_path, "SELECT state FROM submissions") == [("pending",)]
    assert len(fake.state.jobs) == 1
    proc = _submit(data[0])
    assert proc.returncode == 0, proc.stderr
    _record("submit killed (kill -9) while the create was in flight, then run again", fake)
    assert len(fake.state.jobs) == 1 and fake.count("jobs.create") == 1
    assert "found the job the interrupted submit created" in proc.stdout


def test_events_follow_cancel_and_the_remote_job_list(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    assert _submit(data[0]).returncode == 0
    (jid,) = fake.state.jobs
    events = _dsqa("events", jid)
    assert events.returncode == 0 and events.stdout.count("\n") == 1 and "job_pending: Fine tune request created" in events.stdout
    cancelled = _dsqa("cancel", jid)
    assert cancelled.returncode == 0 and cancelled.stdout.strip() == f"{jid}: cancelled"
    follow = _dsqa("events", jid, "--follow", "--interval", "0")
    assert follow.returncode == 1 and "cancel_requested: Cancel requested" in follow.stdout and f"{jid} cancelled" in follow.stderr
    # a job created outside dsqa shows in --remote only
    other = fake.add_job({"model": "Qwen/Qwen3-8B", "training_file": "file-elsewhere"})
    remote = _dsqa("jobs", "--remote", "--backend", "together")
    assert remote.returncode == 0
    lines = remote.stdout.splitlines()
    assert len(lines) == 2 and any(f"{other['id']}  pending  Qwen/Qwen3-8B" in ln and "(not in the ledger)" in ln for ln in lines)
    assert any(f"{jid}  cancelled  {MODEL}" in ln and "(ledger)" in ln for ln in lines)
    local = _dsqa("jobs", "--offline").stdout
    assert f"job {jid} cancelled" in local and " UTC  " in local and "updated " in local


def test_metrics_while_the_job_runs_come_from_its_events(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    assert _submit(data[0]).returncode == 0
    (jid,) = fake.state.jobs
    for _ in range(3):  # queued, running, step 1; the retrieve of `dsqa metrics` adds step 2
        fake.advance(fake.state.jobs[jid])
    out = tmp_path / "running.csv"
    proc = _dsqa("metrics", jid, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "from the metric events (running)" in proc.stderr
    assert out.read_text().splitlines()[1:] == ["1,1.0000,,,", "2,0.6667,,0.7333,"]


def test_files_list_delete_and_prune(fake: FakeTogether, data: tuple[Path, Path]) -> None:
    train, val = data
    assert _submit(train, "--validation", str(val)).returncode == 0
    (jid,) = fake.state.jobs
    listing = _dsqa("files").stdout.splitlines()
    assert len(listing) == 2 and all("used by 1 submission (pending)" in ln and "together" in ln for ln in listing)
    nothing = _dsqa("files", "--prune")
    assert nothing.stdout.strip() == "nothing to delete: every file still has a job that has not ended" and len(fake.state.files) == 2
    assert _dsqa("cancel", jid).returncode == 0
    pruned = _dsqa("files", "--prune")
    assert pruned.returncode == 0 and pruned.stdout.count("deleted file-") == 2 and fake.state.files == {}
    assert _dsqa("files").stdout.strip() == "no uploaded files in the ledger"
    unknown = _dsqa("files", "--delete", "file-nope")
    assert unknown.returncode == 2 and "file-nope: not a file in the ledger" in unknown.stderr


def test_dry_run_sends_nothing_and_masks_the_key(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    proc = _submit(data[0], "--dry-run", "--epochs", "3", "--lora-r", "8", "--suffix", "demo")
    assert proc.returncode == 0, proc.stderr
    assert fake.state.requests == [] and not (tmp_path / "ledger.sqlite").exists()
    out = proc.stdout
    assert "dry run: nothing uploaded or created; estimated cost unknown" in out
    assert f"POST {fake.base_url}/v1/fine-tunes" in out and "Authorization: Bearer ***" in out
    body = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert body == {"model": MODEL, "training_file": "<file id of train.jsonl after upload>", "training_method": "sft", "n_epochs": 3,
                    "lora": True, "lora_r": 8, "suffix": "demo"}
    refused = _submit(data[0], "--dry-run", "--max-cost", "5")
    assert refused.returncode == 2 and "no cost estimate for this model to compare with --max-cost $5.00" in refused.stderr
    assert fake.state.requests == []


def test_max_cost_refuses_an_estimate_over_it_unless_yes(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    proc = _submit(data[0], "--max-cost", "0.000001")
    assert proc.returncode == 2
    assert "Together's estimate $0.00" in proc.stderr and "is over --max-cost $0.000001; not submitted (add --yes to submit anyway)" in proc.stderr
    assert fake.state.jobs == {} and _ledger(tmp_path, "SELECT state FROM submissions") == [("rejected",)]
    proc = _submit(data[0], "--max-cost", "0.000001", "--yes")
    assert proc.returncode == 0 and len(fake.state.jobs) == 1


def test_check_with_the_together_catalogue_and_a_local_tokenizer(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(["What", "is", "plus", "?"])}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    tok.save(str(model_dir / "tokenizer.json"))
    report = tmp_path / "r.json"
    proc = _dsqa("check", str(CLEAN), "--backend", "together", "--model", "META-LLAMA/meta-llama-3.1-8b-instruct-reference",
                 "-f", "json", "-o", str(report), "-q")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(report.read_text())["datasets"][0]["stats"]["tokens"]
    assert stats["model"] == MODEL and stats["max_tokens_per_example"] == 131072 and stats["tokens_estimated"] is True
    assert stats["encoding"].startswith("o200k_base (estimate: not meta-llama/Meta-Llama-3.1-8B-Instruct-Reference's tokenizer")
    estimated = stats["total_tokens"]
    proc = _dsqa("check", str(CLEAN), "--backend", "together", "--model", MODEL, "--tokenizer", str(model_dir), "-f", "json", "-o", str(report), "-q")
    assert proc.returncode == 0, proc.stderr
    exact = json.loads(report.read_text())["datasets"][0]["stats"]["tokens"]
    assert exact["tokens_estimated"] is False and exact["encoding"] == f"tokenizer {model_dir}"
    assert exact["total_tokens"] != estimated
    text = _dsqa("check", str(CLEAN), "--backend", "together", "--model", MODEL).stdout
    assert "(estimate: not meta-llama/Meta-Llama-3.1-8B-Instruct-Reference's tokenizer; give --tokenizer)" in text
    bad = _dsqa("check", str(CLEAN), "--backend", "together", "--model", MODEL, "--tokenizer", str(tmp_path / "nope"))
    assert bad.returncode == 2 and "no tokenizer.json there" in bad.stderr
    elsewhere = _dsqa("check", str(CLEAN), "--model", "qwen/qwen3-8b")
    assert elsewhere.returncode == 2 and "Qwen/Qwen3-8B is a together model: add --backend together" in elsewhere.stderr
    unknown = _dsqa("check", str(CLEAN), "--backend", "together", "--model", "qwen")
    assert unknown.returncode == 2 and "did you mean 'Qwen/Qwen2.5-7B-Instruct' or 'Qwen/Qwen3-8B'?" in unknown.stderr and unknown.stdout == ""


def test_a_long_example_is_judged_against_the_together_models_limit(tmp_path: Path) -> None:
    from tests.helpers import chat, write_jsonl

    records = [chat(i) for i in range(12)]
    records[3]["messages"][2]["content"] = "word " * 20000
    path = write_jsonl(tmp_path / "long.jsonl", records)
    proc = _dsqa("check", str(path), "--backend", "together", "--model", "openai/gpt-oss-20b", "-f", "json")
    found = [f for f in json.loads(proc.stdout)["findings"] if f["code"] == "TOK001"]
    assert len(found) == 1 and found[0]["line"] == 4 and "16,384-token limit of openai/gpt-oss-20b" in found[0]["message"]
    proc = _dsqa("check", str(path), "--model", "gpt-4o-mini", "-f", "json")
    assert not [f for f in json.loads(proc.stdout)["findings"] if f["code"] == "TOK001"]


def test_models_lists_each_catalogue() -> None:
    proc = _dsqa("models", "--backend", "together")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("together: ") and "model that can be fine-tuned today" in lines[0] or "models that can" in lines[0]
    assert any(ln.startswith(f"  {MODEL}  sft/dpo (lora/full)  131,072 tokens  price: ask the API") for ln in lines)
    openai = _dsqa("models", "--backend", "openai").stdout
    everything = _dsqa("models", "--backend", "openai", "--all").stdout
    assert "gpt-4o-mini-2024-07-18  sft/dpo  65,536 tokens  $3.00/1M" in openai and "babbage-002" not in openai
    assert "babbage-002  completion" in everything and "RETIRED" in everything


def test_the_faults_each_made_exactly_one_job() -> None:
    """Runs after the fault tests above: the measured jobs per injected fault (the issue's closing figure)."""
    if not JOBS_PER_FAULT:
        pytest.skip("the fault tests were not selected in this run")
    width = max(len(k) for k in JOBS_PER_FAULT)
    sys.stderr.write("\njobs created per injected fault (Together):\n")
    for label, jobs in JOBS_PER_FAULT.items():
        sys.stderr.write(f"  {label:<{width}}  {jobs}\n")
    assert set(JOBS_PER_FAULT.values()) == {1}


def test_an_upload_of_bytes_together_already_has_reuses_its_file(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    assert _submit(data[0]).returncode == 0
    (file_id,) = fake.state.files
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        db.execute("DELETE FROM files")  # the ledger forgot the upload (say, a new checkout)
    proc = _submit(data[0], "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    # the second POST /v1/files answers 409 with the existing id; the SDK returns that file
    assert fake.count("files.create") == 2 and list(fake.state.files) == [file_id]
    assert f"uploaded as {file_id}" in proc.stdout and len(fake.state.jobs) == 2


def test_a_job_that_ends_in_error_exits_1_with_its_error_event(apis: FakeAPIs, data: tuple[Path, Path], tmp_path: Path) -> None:
    server = apis.together(KEY, outcome="error")
    proc = _submit(data[0], "--watch", "--interval", "0")
    (jid,) = server.state.jobs
    assert proc.returncode == 1
    assert "  [error] Training failed: the training file has a line the tokenizer rejects" in proc.stdout
    assert proc.stderr.strip().endswith(f"{jid} error")
    assert _ledger(tmp_path, "SELECT status FROM jobs") == [("error",)]


def test_a_recent_job_with_other_settings_is_not_adopted(fake: FakeTogether, data: tuple[Path, Path], tmp_path: Path) -> None:
    # made a moment ago from the same file and model but with other epochs and full training, then unknown to the ledger
    assert _submit(data[0], "--epochs", "5", "--full").returncode == 0
    (theirs,) = fake.state.jobs
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        db.execute("DELETE FROM job_status")
        db.execute("DELETE FROM jobs")
        db.execute("DELETE FROM submissions")
    fake.inject("jobs.create", Fault(drop=True, before=True))
    proc = _submit(data[0], "--epochs", "2")
    assert proc.returncode == 0, proc.stderr
    assert len(fake.state.jobs) == 2 and fake.count("jobs.list") == 1
    (ours,) = set(fake.state.jobs) - {theirs}
    assert fake.state.jobs[ours]["n_epochs"] == 2 and f"job: {ours} " in proc.stdout


def test_preference_data_is_judged_against_the_dpo_limit_and_together_defaults_to_one_epoch(tmp_path: Path) -> None:
    from tests.helpers import write_jsonl

    def pair(i: int, words: int) -> dict[str, object]:
        return {"input": {"messages": [{"role": "user", "content": f"Question {i}?"}]},
                "preferred_output": [{"role": "assistant", "content": "good " * words}],
                "non_preferred_output": [{"role": "assistant", "content": "bad"}]}

    # about 12,000 tokens: under gpt-oss-20b's SFT limit (16,384), over its DPO limit (8,192)
    path = write_jsonl(tmp_path / "prefs.jsonl", [pair(i, 12000 if i == 2 else 5) for i in range(12)])
    report = tmp_path / "r.json"
    proc = _dsqa("check", str(path), "--backend", "together", "--model", "openai/gpt-oss-20b", "-f", "json", "-o", str(report), "-q")
    data = json.loads(report.read_text())
    found = [f for f in data["findings"] if f["code"] == "TOK001"]
    assert len(found) == 1 and found[0]["line"] == 3 and "8,192-token limit of openai/gpt-oss-20b" in found[0]["message"]
    stats = data["datasets"][0]["stats"]["tokens"]
    assert stats["max_tokens_per_example"] == 8192 and stats["epochs"] == 1 and stats["epochs_auto"] is True
    assert proc.returncode == 0, proc.stderr  # TOK001 is a warning: truncation is not a rejection


def test_diagnose_reads_a_together_job_from_its_metric_events(fake: FakeTogether, data: tuple[Path, Path]) -> None:
    # Together writes no results file: `dsqa diagnose JOB` builds the curves from the job's metric events
    assert _submit(data[0]).returncode == 0
    (jid,) = fake.state.jobs
    for _ in range(12):
        fake.advance(fake.state.jobs[jid])
    assert fake.state.jobs[jid]["status"] == "completed"
    proc = _dsqa("diagnose", jid, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    steps = len(fake.state.metrics[jid])
    assert report["datasets"][0]["stats"]["training"]["steps"] == steps
    # a short run on a small file: the diagnosis says so
    assert [f["code"] for f in report["findings"]] == ["TRN006"]
