"""`dsqa diagnose`: crafted loss curves (one per TRN code, plus a healthy one), the report formats, and the ends of watch and metrics."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI
from tests.helpers import ROOT, FakeAPIs, run_in_process

CURVES = ROOT / "tests" / "data" / "curves"
KEY = "sk-test-DIAG-SECRET-42"
MODEL = "gpt-4.1-mini-2025-04-14"

#: curve file -> (the codes it must give, exactly, and the exit status at the default --fail-on error)
EXPECTED = {
    "healthy": ([], 0),
    "flat": (["TRN001"], 0),
    "overfit": (["TRN002"], 0),
    "spikes": (["TRN003"], 0),
    "diverge": (["TRN004"], 1),
    "memorise": (["TRN005"], 0),
    "short": (["TRN006"], 0),
}


def _dsqa(*args: str) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, secret=KEY)


def test_the_committed_curves_are_what_the_generator_writes(tmp_path: Path) -> None:
    import shutil
    import sys

    shutil.copy(CURVES / "make_curves.py", tmp_path)
    subprocess.run([sys.executable, str(tmp_path / "make_curves.py")], check=True)
    for name in EXPECTED:
        assert (tmp_path / f"{name}.csv").read_bytes() == (CURVES / f"{name}.csv").read_bytes(), name


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_crafted_curve_gives_exactly_its_diagnosis(name: str) -> None:
    codes, status = EXPECTED[name]
    proc = _dsqa("diagnose", str(CURVES / f"{name}.csv"), "-f", "json")
    assert proc.returncode == status
    report = json.loads(proc.stdout)
    assert [f["code"] for f in report["findings"]] == codes
    assert report["passed"] is (status == 0)
    for f in report["findings"]:
        assert f["hint"] and f["validator"] == "training" and f["path"].endswith(f"{name}.csv") and f["line"] is None
    assert report["datasets"][0]["records"] == report["datasets"][0]["stats"]["training"]["steps"]


def test_the_messages_name_steps_epochs_and_suggest_a_fix() -> None:
    def only(name: str) -> dict[str, object]:
        (finding,) = json.loads(_dsqa("diagnose", str(CURVES / f"{name}.csv"), "-f", "json").stdout)["findings"]
        return finding

    overfit = only("overfit")
    assert "lowest at step 60 (epoch 2 of 5): 0.450, and rose to 0.720 by step 150" in overfit["message"]
    assert overfit["hint"].startswith("train 2 epochs (--epochs 2)") and overfit["data"]["suggested_epochs"] == 2
    assert "learning-rate multiplier" in only("spikes")["hint"] and "largest at step 75" in only("spikes")["message"]
    assert "learning-rate multiplier" in only("diverge")["hint"]
    assert "by step 8 of 90" in only("memorise")["message"] and "memorising" in only("memorise")["message"]
    assert only("short")["message"].startswith("the run took 10 steps")
    flat = only("flat")
    assert "over steps 51–100" in flat["message"] and "over steps 1–50" in flat["message"]


def test_overfitting_names_the_epoch_from_the_epoch_count_without_epoch_end_validation(tmp_path: Path) -> None:
    rows = ["step,train_loss,valid_loss"]
    for s in range(1, 121):
        rows.append(f"{s},{0.05 + 2 * 0.97 ** s:.4f},{0.4 + 0.004 * abs(s - 45):.4f}")
    csv = tmp_path / "results.csv"
    csv.write_text("\n".join(rows) + "\n")
    (finding,) = json.loads(_dsqa("diagnose", str(csv), "-f", "json", "--epochs", "4").stdout)["findings"]
    assert finding["code"] == "TRN002" and "(epoch 2 of 4)" in finding["message"] and "--epochs 2" in finding["hint"]
    (unknown,) = json.loads(_dsqa("diagnose", str(csv), "-f", "json").stdout)["findings"]
    assert "epoch" not in unknown["message"] and "pass --epochs N to name the epoch" in unknown["hint"]


def test_text_markdown_and_html_reports(tmp_path: Path) -> None:
    text = _dsqa("diagnose", str(CURVES / "overfit.csv")).stdout
    assert "overfit.csv: TRN002 warning overfitting:" in text and "    hint: train 2 epochs" in text
    assert "  training: 150 steps; training loss 1.898 -> 0.058; lowest validation loss 0.450 at step 60" in text
    md = _dsqa("diagnose", str(CURVES / "diverge.csv"), "-f", "markdown").stdout
    assert md.startswith("## dsqa: ❌ failed") and "`TRN004`" in md
    out = tmp_path / "diag.html"
    proc = _dsqa("diagnose", str(CURVES / "spikes.csv"), "-f", "html", "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == "" and f"report written to {out}" in proc.stderr
    page = out.read_text("utf-8")
    assert page.index("<h2>Loss curves</h2>") < page.index("<figure class=\"loss\"><svg") < page.index("<h2>Findings</h2>")
    figure = page.split('<figure class="loss">', 1)[1].split("</figure>", 1)[0]
    assert figure.count("<polyline") >= 2 and "TRN003" in page  # the training and validation curves
    healthy = _dsqa("diagnose", str(CURVES / "healthy.csv"), "-f", "html").stdout
    assert "<h2>Loss curves</h2>" in healthy and "No findings." in healthy


def test_fail_on_warning_and_never() -> None:
    assert _dsqa("diagnose", str(CURVES / "flat.csv"), "--fail-on", "warning").returncode == 1
    assert _dsqa("diagnose", str(CURVES / "diverge.csv"), "--fail-on", "never").returncode == 0
    assert _dsqa("diagnose", str(CURVES / "healthy.csv"), "--fail-on", "info").returncode == 0


def test_every_code_is_documented_and_explained() -> None:
    from dsqa.finetune.diagnose import CODES

    assert list(CODES) == [f"TRN00{i}" for i in range(1, 7)]
    for code, info in CODES.items():
        assert info.summary and info.why and info.failing and info.passing, code
        doc = _dsqa("diagnose", "--explain", code.lower()).stdout
        assert doc.startswith(f"{code}: {info.summary}\n") and "Why:" in doc and "Failing:" in doc and "Passing:" in doc
    bad = _dsqa("diagnose", "--explain", "TRN999")
    assert bad.returncode == 2 and "unknown training code 'TRN999'" in bad.stderr


def test_bad_results_files_are_one_line_errors(tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text("step,train_loss\n1,0.9\n2,abc\n")
    proc = _dsqa("diagnose", str(csv))
    assert proc.returncode == 2 and proc.stderr.strip() == f"dsqa: error: {csv}: line 3: train_loss 'abc' is not a number"
    csv.write_text("not,a,results,file\n")
    proc = _dsqa("diagnose", str(csv))
    assert proc.returncode == 2 and "not a results CSV" in proc.stderr and proc.stderr.count("\n") == 1
    csv.write_text("step,valid_loss\n1,0.9\n")
    assert "no training loss in the results" in _dsqa("diagnose", str(csv)).stderr
    assert _dsqa("diagnose").returncode == 2


def test_a_series_from_any_backend() -> None:
    from dsqa.finetune.diagnose import RunFacts, Series, diagnose

    points = [(s, 2.0 - 1.5 * s / 30 if s <= 30 else 0.5 + 2.0 * (s - 30) / 70) for s in range(1, 101)]
    assert [f.code for f in diagnose(Series(train_loss=points), subject="together-job")] == ["TRN004"]
    nan = [(s, float("nan") if s == 50 else 1.0 / s) for s in range(1, 101)]
    (finding,) = [f for f in diagnose(Series(train_loss=nan)) if f.code == "TRN004"]
    assert "not a number at 1 step, first at step 50" in finding.message
    # per-batch noise of -50%..+60% around a healthy curve is neither a spike nor a divergence
    import math
    import random

    rng = random.Random(0)
    noisy = [(s, (0.4 + 1.6 * math.exp(-s / 40)) * rng.uniform(0.5, 1.6)) for s in range(1, 301)]
    assert diagnose(Series(train_loss=noisy)) == []
    # 20 examples for 2 epochs: 40 examples seen, too few whatever the step count
    steady = [(s, 0.5 + 1.5 * 0.95 ** s) for s in range(1, 41)]
    (few,) = diagnose(Series(train_loss=steady), RunFacts(epochs=2, examples=20))
    assert few.code == "TRN006" and "on 20 training examples; the model saw 40 examples in all" in few.message


@pytest.fixture
def api(apis: FakeAPIs) -> FakeOpenAI:
    return apis.openai(KEY)


def _train(tmp_path: Path, duplicates: int = 0) -> Path:
    lines = (ROOT / "sample_data" / "chat_clean.jsonl").read_text("utf-8").splitlines(keepends=True)
    path = tmp_path / "train.jsonl"
    path.write_text("".join(lines[5:]) + "".join(lines[5:5 + duplicates]), "utf-8")
    return path


def test_watch_and_metrics_end_with_the_diagnosis(api: FakeOpenAI, tmp_path: Path) -> None:
    train = _train(tmp_path)
    proc = _dsqa("submit", str(train), "--model", MODEL, "--epochs", "1", "--watch", "--interval", "0")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("fine-tuned model: ft:")  # still the last line
    at = lines.index("diagnosis:")
    assert lines[at + 1] == "  TRN006 warning the run took 3 steps on 30 training examples; the model saw 30 examples in all: too few to learn much or to judge the curves"
    assert lines[at + 2].startswith("    hint: add examples")
    (job_id,) = api.state.jobs
    metrics = _dsqa("metrics", job_id, "-o", str(tmp_path / "m.csv"))
    assert metrics.returncode == 0 and "diagnosis:\n  TRN006 warning the run took 3 steps" in metrics.stdout
    report = json.loads(_dsqa("diagnose", job_id, "-f", "json").stdout)
    assert [f["code"] for f in report["findings"]] == ["TRN006"] and report["datasets"][0]["path"] == job_id


def test_memorisation_links_to_the_training_files_duplicates_from_the_ledger(api: FakeOpenAI, tmp_path: Path) -> None:
    from dsqa.cli_eval import diagnosis
    from dsqa.finetune.diagnose import Series
    from dsqa.finetune.ledger import Ledger
    from dsqa.finetune.track import parse_results

    train = _train(tmp_path, duplicates=4)
    assert _dsqa("submit", str(train), "--model", MODEL, "--watch", "--interval", "0").returncode == 0
    (job_id,) = api.state.jobs
    series = Series.from_rows(parse_results((CURVES / "memorise.csv").read_bytes(), "memorise.csv"), "memorise.csv")
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        found, facts = diagnosis(ledger, job_id, series, job_id)
    (finding,) = found
    assert finding.code == "TRN005" and facts.examples == 34 and facts.epochs == 3  # "auto" for 34 examples
    assert finding.hint is not None and finding.hint.startswith(f"the training file {train} has 4 exact and ")
    assert "near duplicates of 34 records and 0 conflicting answers" in finding.hint and f"`dsqa clean {train}`" in finding.hint
    assert finding.data is not None and finding.data["duplicates"]["exact"] == 4
    # the file changed since it was submitted: no figures, a plain pointer to the check instead
    train.write_text(train.read_text("utf-8")[:-1])
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        (changed,), _ = diagnosis(ledger, job_id, series, job_id)
    assert changed.hint is not None and changed.hint.startswith(f"look for duplicates in {train}")


def test_a_job_without_results_is_reported_not_crashed(api: FakeOpenAI, tmp_path: Path) -> None:
    assert _dsqa("submit", str(_train(tmp_path)), "--model", MODEL).returncode == 0
    (job_id,) = api.state.jobs
    proc = _dsqa("diagnose", job_id)
    assert proc.returncode == 2 and f"{job_id}: no results file yet" in proc.stderr


def test_a_job_without_a_results_file_is_read_from_its_metric_rows() -> None:
    """Together writes no results file; its backend gives metric rows (numbers, not CSV text) instead."""
    from dsqa.cli_eval import job_series
    from dsqa.finetune.backend import JobInfo
    from dsqa.finetune.diagnose import diagnose

    class MetricsOnly:
        name, endpoint = "together", "http://127.0.0.1:9/v1"

        def metric_rows(self, job_id: str) -> list[dict[str, object]]:
            return [{"step": s, "train_loss": 2.0 - 1.5 * s / 30 if s <= 30 else 0.5 + 2.0 * (s - 30) / 70, "valid_loss": None}
                    for s in range(1, 101)]

    job = JobInfo("ft-123", "completed", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", fine_tuned_model="me/model-ft-123")
    series = job_series(MetricsOnly(), job)  # type: ignore[arg-type]
    assert series.steps == 100 and series.valid_loss == []
    assert [f.code for f in diagnose(series, subject=job.id)] == ["TRN004"]
    empty = type("Empty", (MetricsOnly,), {"metric_rows": lambda self, job_id: []})()
    with pytest.raises(Exception, match="ft-123: no results file yet"):
        job_series(empty, job)  # type: ignore[arg-type]
