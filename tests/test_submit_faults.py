"""Issue 19: exactly one job and one upload under faults, counted on a local fault-injecting server driven by the real openai SDK."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, Fault
from tests.fake_together import FakeTogether
from tests.helpers import ROOT, FakeAPIs
from tests.test_finetune import KEY, MODEL, _dsqa, data  # noqa: F401 - the `data` fixture

#: the lookup window of these tests: longer than every injected delay, short enough for the suite
WINDOW = "8"


@pytest.fixture
def fake(apis: FakeAPIs) -> FakeOpenAI:
    apis.resolve(WINDOW, "0.25")
    return apis.openai(KEY)


def _counts(fake: FakeOpenAI) -> tuple[int, int]:
    """(jobs, uploads) as the server holds them."""
    return len(fake.state.jobs), fake.uploads


def _states(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        return [r[0] for r in db.execute("SELECT state FROM submissions ORDER BY created_at")]


def _popen(train: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dsqa", "submit", str(train), "--model", MODEL, *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()


def _rerun_makes_nothing_new(fake: FakeOpenAI, train: Path) -> None:
    again = _dsqa("submit", str(train), "--model", MODEL)
    assert again.returncode == 0, again.stderr
    assert "already submitted" in again.stdout
    assert _counts(fake) == (1, 1)


# -- job creation --------------------------------------------------------------------------


def test_a_create_slower_than_the_timeout_is_waited_for_not_repeated(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    # the lookup that used to run once, before the job existed, now runs until the window after the lost answer
    fake.inject("jobs.create", Fault(delay=3))
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--timeout", "1")
    assert proc.returncode == 0, proc.stderr
    assert "did not answer in time); looking the job up by its metadata" in proc.stdout
    assert "dsqa: the job is not there yet; looking again in 0.2 s" in proc.stderr
    assert f"the job exists: {next(iter(fake.state.jobs))}" in proc.stdout
    assert _counts(fake) == (1, 1) and fake.count("jobs.create") == 1
    _rerun_makes_nothing_new(fake, data[0])


def test_sigkill_while_the_create_is_stalled_then_an_immediate_rerun_finds_the_late_job(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    fake.inject("jobs.create", Fault(hold=True))  # the server creates the job only when released
    proc = _popen(data[0])
    assert fake.arrived["jobs.create"].wait(120)
    _kill(proc)
    assert _states(tmp_path) == ["pending"] and fake.state.jobs == {}
    lookups = fake.count("jobs.list")

    def land_after_the_first_lookup() -> None:
        # the killed request lands only after the rerun has looked once and found nothing
        for _ in range(2400):
            if fake.count("jobs.list") > lookups:
                break
            threading.Event().wait(0.05)
        fake.release.set()

    lander = threading.Thread(target=land_after_the_first_lookup, daemon=True)
    lander.start()
    again = _dsqa("submit", str(data[0]), "--model", MODEL)
    lander.join(10)
    assert again.returncode == 0, again.stderr
    assert "the job is not there yet" in again.stderr and "found the job the interrupted submit created" in again.stdout
    assert _counts(fake) == (1, 1) and fake.count("jobs.create") == 1
    assert _states(tmp_path) == ["created"]


def test_after_sigkill_a_create_that_never_landed_is_sent_again_only_after_the_window(
    fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSQA_RESOLVE_WINDOW", "2")
    fake.inject("jobs.create", Fault(hang=True, before=True))  # the server never creates it
    proc = _popen(data[0])
    assert fake.arrived["jobs.create"].wait(120)
    _kill(proc)
    again = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert again.returncode == 0, again.stderr
    assert "the interrupted submit created no job (none appeared within 2.0 s of its request)" in again.stderr
    assert _counts(fake) == (1, 1) and fake.count("jobs.create") == 2


@pytest.mark.parametrize("lag", ["list", "metadata"])
def test_a_lagging_job_list_or_one_without_metadata_still_finds_the_job(fake: FakeOpenAI, data: tuple[Path, Path], lag: str) -> None:
    if lag == "list":
        fake.list_lag = 3.0  # the job shows in the list 3 s after creation
    else:
        fake.omit_metadata = True  # listed jobs carry no metadata and the filter is ignored
    fake.inject("jobs.create", Fault(drop=True))
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    assert f"the job exists: {next(iter(fake.state.jobs))}" in proc.stdout
    assert _counts(fake) == (1, 1) and fake.count("jobs.create") == 1
    if lag == "list":
        assert "the job is not there yet" in proc.stderr
    _rerun_makes_nothing_new(fake, data[0])


def test_two_concurrent_submits_of_the_same_data_take_turns_and_report_one_job(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    fake.inject("jobs.create", Fault(hold=True))  # the first submit's create waits until the second is queued
    first = _popen(data[0])
    try:
        assert fake.arrived["jobs.create"].wait(120)
        second = _popen(data[0])
        waiting = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert second.stderr is not None
            for line in second.stderr:
                lines.append(line)
                if "another dsqa submit of" in line:
                    waiting.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert waiting.wait(120), "".join(lines)
        fake.release.set()
        out1, err1 = first.communicate(timeout=120)
        out2 = second.stdout.read() if second.stdout else ""
        second.wait(120)
        reader.join(10)
    finally:
        for p in (first, second):
            if p.poll() is None:
                _kill(p)
    assert first.returncode == 0 and second.returncode == 0, err1 + "".join(lines)
    (job_id,) = fake.state.jobs
    assert f"job: {job_id} " in out1 and f"job: {job_id} " in out2
    assert "already uploaded" in out2 and "already submitted with the same settings" in out2
    assert "is running (it holds " in "".join(lines) and "ledger.sqlite.lock); waiting for it to finish" in "".join(lines)
    assert _counts(fake) == (1, 1) and fake.count("jobs.create") == 1 and fake.count("files.create") == 1


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_ledger_still_finds_the_file_and_the_job(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path, how: str) -> None:
    first = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert first.returncode == 0, first.stderr
    (job_id,) = fake.state.jobs
    for p in tmp_path.glob("ledger.sqlite*"):
        if how == "deleted" or p.name != "ledger.sqlite":
            p.unlink()
        else:
            p.write_bytes(b"")
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    assert "train.jsonl: found on the API as file-" in proc.stdout and "not uploading it again" in proc.stdout
    assert f"already submitted with the same settings: {job_id}" in proc.stdout and "not in the ledger" in proc.stdout
    assert _counts(fake) == (1, 1)
    # the uploaded name carries the content's sha256, so name and size identify this content
    (stored,) = [f for f in fake.state.files.values() if f["purpose"] == "fine-tune"]
    assert stored["filename"].startswith("train.sha256-") and stored["filename"].endswith(".jsonl")
    # different settings are a different job, on the same file
    other = _dsqa("submit", str(data[0]), "--model", MODEL, "--epochs", "2")
    assert other.returncode == 0, other.stderr
    assert _counts(fake) == (2, 1)


# -- uploads -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["dropped", "500 after storing", "slower than --timeout"])
def test_a_lost_upload_answer_costs_no_second_upload(fake: FakeOpenAI, data: tuple[Path, Path], fault: str) -> None:
    extra: tuple[str, ...] = ()
    if fault == "dropped":
        fake.inject("files.create", Fault(drop=True))
    elif fault == "500 after storing":
        fake.inject("files.create", Fault(fail_after=500))
    else:
        fake.inject("files.create", Fault(delay=2))
        extra = ("--timeout", "1")
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, *extra)
    assert proc.returncode == 0, proc.stderr
    assert "the upload got no usable answer" in proc.stderr and "looking for the file by name and size" in proc.stderr
    assert fake.count("files.create") == 1
    assert _counts(fake) == (1, 1)
    _rerun_makes_nothing_new(fake, data[0])


def test_sigkill_during_the_upload_then_a_rerun_waits_for_the_file_instead_of_uploading_again(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    fake.inject("files.create", Fault(hold=True))
    proc = _popen(data[0])
    assert fake.arrived["files.create"].wait(120)
    _kill(proc)
    fake.release.set()  # the server stores the file after the client is gone
    again = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert again.returncode == 0, again.stderr
    assert "an earlier upload of this file got no answer" in again.stderr
    assert "found on the API as file-" in again.stdout
    assert fake.count("files.create") == 1 and _counts(fake) == (1, 1)


# -- rate limits and malformed answers -----------------------------------------------------


def test_a_429_storm_is_waited_out_as_the_server_asks(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    fake.storm, fake.storm_headers = 12, {"retry-after-ms": "20"}
    # then four more on the job creation itself (it used to give up after three attempts)
    fake.inject("jobs.create", *[Fault(status=429, code="rate_limit_exceeded", headers={"retry-after-ms": "20"})] * 4)
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 0, proc.stderr
    waits = [line for line in proc.stderr.splitlines() if "HTTP 429 (rate limited) while" in line]
    assert len(waits) == 16 and all("as the server asked (retry-after)" in line for line in waits)
    assert sum("while creating the fine-tuning job" in line for line in waits) == 4
    assert fake.count("jobs.create") == 5
    assert _counts(fake) == (1, 1)
    # a server that asks for more than --max-wait allows: one clear line, nothing created
    other = data[0].with_name("other.jsonl")
    other.write_text(data[0].read_text("utf-8") + data[1].read_text("utf-8"), "utf-8")
    fake.storm, fake.storm_headers = 1, {"retry-after": "30"}
    proc = _dsqa("submit", str(other), "--model", MODEL, "--max-wait", "5")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "HTTP 429" in line and "--max-wait 5 s; the server asked to wait 30 s" in line
    assert _counts(fake) == (1, 1)


def test_a_truncated_answer_to_the_create_is_an_api_error_then_resolved_by_the_next_submit(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    fake.inject("jobs.create", Fault(truncate=True))
    proc = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "internal error" not in line and "creating the fine-tuning job:" in line and "sent a malformed answer" in line
    assert "run `dsqa submit` again to look it up" in line
    assert _states(tmp_path) == ["pending"] and _counts(fake) == (1, 1)
    again = _dsqa("submit", str(data[0]), "--model", MODEL)
    assert again.returncode == 0, again.stderr
    assert "found the job the interrupted submit created" in again.stdout
    assert _counts(fake) == (1, 1) and fake.count("jobs.create") == 1


def test_a_truncated_answer_to_a_read_is_one_line_and_exit_2(fake: FakeOpenAI, data: tuple[Path, Path]) -> None:
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 0
    (job_id,) = fake.state.jobs
    fake.inject("jobs.retrieve", Fault(truncate=True))
    proc = _dsqa("status", job_id)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert f"retrieving job {job_id}: {fake.base_url} sent a malformed answer" in line


def test_new_creates_another_job_even_with_an_unresolved_earlier_one(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path) -> None:
    fake.inject("jobs.create", Fault(truncate=True))
    assert _dsqa("submit", str(data[0]), "--model", MODEL).returncode == 2
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--new")
    assert proc.returncode == 0, proc.stderr
    assert "--new: not waiting for the interrupted submit" in proc.stderr and "there will be two" in proc.stderr
    assert _counts(fake) == (2, 1)
    assert sorted(_states(tmp_path)) == ["created", "rejected"]


# -- key in the endpoint -------------------------------------------------------------------


def test_a_key_inside_the_endpoint_url_is_masked_in_every_message(fake: FakeOpenAI, data: tuple[Path, Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    user_secret, query_secret = "pw-SECRET-in-userinfo-42", "qk-SECRET-in-query-77"
    outputs = []
    # a password in the user-info, and a server error that repeats the key: the endpoint is named masked
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://dsqa:{user_secret}@127.0.0.1:{fake.port}/v1")
    fake.accept_basic = True  # a proxy that takes the URL's credentials
    fake.inject("files.list", Fault(status=500, message=f"upstream rejected {user_secret}"))
    proc = _dsqa("submit", str(data[0]), "--model", MODEL, "--max-wait", "0")
    outputs.append(proc.stdout + proc.stderr)
    assert proc.returncode == 2 and f"HTTP 500 from http://***@127.0.0.1:{fake.port}/v1: upstream rejected ***" in proc.stderr
    fake.accept_basic = False
    # a password in the user-info: the SDK sends it as basic auth, which the API refuses
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://dsqa:{user_secret}@127.0.0.1:{fake.port}/v1")
    refused = _dsqa("submit", str(data[0]), "--model", MODEL, "--max-wait", "0")
    outputs.append(refused.stdout + refused.stderr)
    assert refused.returncode == 2
    dry = _dsqa("submit", str(data[0]), "--model", MODEL, "--dry-run")
    outputs.append(dry.stdout + dry.stderr)
    assert f"POST http://***@127.0.0.1:{fake.port}/v1/fine_tuning/jobs" in dry.stdout
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1?key={query_secret}")
    down = _dsqa("submit", str(data[0]), "--model", MODEL, "--max-wait", "0")
    outputs.append(down.stdout + down.stderr)
    assert down.returncode == 2 and f"cannot reach http://127.0.0.1:{port}/v1/?key=***" in down.stderr
    for text in outputs:
        assert user_secret not in text and query_secret not in text
    ledger = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite*"))
    assert user_secret.encode() not in ledger and query_secret.encode() not in ledger


@pytest.mark.parametrize(("url", "masked"), [
    ("https://user:pa%40ss@host.example/v1", "https://***@host.example/v1"),
    ("https://host.example/openai?api-version=2025-01-01&api-key=abc123", "https://host.example/openai?api-version=2025-01-01&api-key=***"),
    ("https://host.example/v1?key=k1&Token=t2&x=1", "https://host.example/v1?key=***&Token=***&x=1"),
    ("https://host.example/v1", "https://host.example/v1"),
])
def test_mask_url(url: str, masked: str) -> None:
    from dsqa.finetune.backend import mask_url, redact, url_secrets

    assert mask_url(url) == masked
    assert all(s not in redact(f"failed: {url}", url_secrets(url)) for s in ("pa%40ss", "pa@ss", "abc123", "k1", "t2"))


# -- the same logic on Together (the together SDK; jobs found by listing, no metadata) ------


@pytest.fixture
def together(apis: FakeAPIs) -> FakeTogether:
    pytest.importorskip("together")
    from tests.test_together import KEY as TKEY

    apis.resolve(WINDOW, "0.25")
    return apis.together(TKEY)


TOGETHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def _together_counts(server: FakeTogether) -> tuple[int, int]:
    state = server.state
    return len(state.jobs), sum(1 for f in state.files.values() if f.get("purpose") == "fine-tune")


def test_together_a_create_slower_than_the_timeout_is_found_by_listing_not_repeated(together: FakeTogether, data: tuple[Path, Path]) -> None:
    together.inject("jobs.create", Fault(delay=3))
    proc = _dsqa("submit", str(data[0]), "--backend", "together", "--model", TOGETHER_MODEL, "--timeout", "1")
    assert proc.returncode == 0, proc.stderr
    assert "looking the job up by listing jobs" in proc.stdout and "the job is not there yet" in proc.stderr
    assert _together_counts(together) == (1, 1) and together.count("jobs.create") == 1


def test_together_two_concurrent_submits_make_one_job(together: FakeTogether, data: tuple[Path, Path]) -> None:
    together.inject("jobs.create", Fault(delay=4))
    procs = [subprocess.Popen([sys.executable, "-m", "dsqa", "submit", str(data[0]), "--backend", "together", "--model", TOGETHER_MODEL],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    (job_id,) = together.state.jobs
    assert all(f"job: {job_id} " in out for out, _ in outs)
    assert _together_counts(together) == (1, 1) and together.count("jobs.create") == 1
