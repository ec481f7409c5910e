"""The CI contract of `dsqa check`: exit codes, one-line errors, output files, formats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT, chat, run_cli, write_jsonl


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "clean.jsonl", [chat(i) for i in range(12)])


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    records = [chat(i) for i in range(12)]
    records[4]["messages"][1]["role"] = "bot"
    return write_jsonl(tmp_path / "broken.jsonl", records)


@pytest.fixture
def warn_only(tmp_path: Path) -> Path:
    records = [chat(i) for i in range(12)]
    records[2]["messages"].append({"role": "user", "content": "thanks"})
    return write_jsonl(tmp_path / "warn.jsonl", records)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("fixture", "args", "expected"),
    [
        ("clean", [], 0),
        ("broken", [], 1),
        ("warn_only", [], 0),
        ("warn_only", ["--fail-on", "warning"], 1),
        ("broken", ["--fail-on", "never"], 0),
        ("clean", ["--fail-on", "info"], 0),
        ("broken", ["--ignore", "SCH003"], 0),
        ("broken", ["--select", "RDR"], 0),
        ("warn_only", ["--rules", "strict"], 1),
        ("clean", ["--rules", "openai-dpo"], 1),
        ("clean", ["--format", "openai-preference"], 1),
        ("clean", ["--data-format", "openai-chat"], 0),
    ],
)
def test_exit_codes(request: pytest.FixtureRequest, fixture: str, args: list[str], expected: int) -> None:
    path: Path = request.getfixturevalue(fixture)
    proc = run_cli("check", str(path), *args)
    assert proc.returncode == expected, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_text_report_lines(broken: Path) -> None:
    proc = run_cli("check", str(broken))
    assert proc.returncode == 1
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"{broken}:5: SCH003 error unknown role 'bot'")
    assert first.endswith("(at /messages/1/role)")
    assert proc.stdout.rstrip().splitlines()[-1].startswith("FAILED: 1 error, 0 warnings, 0 info in 1 file, 12 records")
    assert "\x1b[" not in proc.stdout


def test_color_only_when_asked(broken: Path) -> None:
    assert "\x1b[31m" in run_cli("check", str(broken), "--color").stdout


def test_missing_file_is_exit_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    assert_one_line_error(run_cli("check", str(missing)), str(missing), "No such file")


def test_directory_is_exit_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("check", str(tmp_path)), str(tmp_path), "directory")


def test_unknown_pack_is_exit_2(clean: Path) -> None:
    assert_one_line_error(run_cli("check", str(clean), "--rules", "nosuchpack"), "nosuchpack", "default")


def test_unknown_select_prefix_is_exit_2(clean: Path) -> None:
    assert_one_line_error(run_cli("check", str(clean), "--select", "XYZ"), "XYZ")


def test_usage_error_is_exit_2(clean: Path) -> None:
    proc = run_cli("check", str(clean), "--no-such-flag")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_output_file_json(broken: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = run_cli("check", str(broken), "--format", "json", "-o", str(out))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "report written to" in proc.stderr
    data = json.loads(out.read_text())
    assert [(f["code"], f["line"], f["pointer"]) for f in data["findings"]] == [("SCH003", 5, "/messages/1/role")]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_to_missing_directory_is_exit_2(clean: Path, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "r.json"
    assert_one_line_error(run_cli("check", str(clean), "-o", str(target)), str(target))


def test_garbage_file_reports_every_line(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(b"".join(b"\x93garbage {line %d},,\n" % i if i % 2 else b"{not json %d\n" % i for i in range(10_000)))
    proc = run_cli("check", str(path), "--format", "json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    by_line = {f["line"]: f["code"] for f in data["findings"] if f["line"] is not None}
    assert len(by_line) == 10_000
    assert by_line[1] == "RDR001" and by_line[2] == "RDR002"
    assert data["datasets"][0]["records"] == 10_000


def test_validation_file_has_no_minimum(tmp_path: Path, clean: Path) -> None:
    # examples of their own: copies of training examples would be leakage (DUP004)
    val = write_jsonl(tmp_path / "val.jsonl", [
        {"messages": [{"role": "user", "content": "Name a prime number."}, {"role": "assistant", "content": "Seven."}]},
        {"messages": [{"role": "user", "content": "Spell cat backwards."}, {"role": "assistant", "content": "tac"}]},
    ])
    proc = run_cli("check", str(clean), "--validation", str(val), "--format", "json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0, data["findings"]
    assert [d["path"] for d in data["datasets"]] == [str(clean), str(val)]


def test_interrupt_exits_130(tmp_path: Path) -> None:
    fifo = tmp_path / "stream.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dsqa", "check", str(fifo)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a test run started in the background (`cmd &` in a script) inherits an ignored SIGINT;
        # give dsqa the terminal's default, as a user pressing Ctrl-C has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    with open(fifo, "w") as writer:
        writer.write(json.dumps(chat(1)) + "\n")
        writer.flush()
        time.sleep(1.0)  # dsqa is now blocked reading the pipe, past start-up
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in err


def test_version_and_module_entry() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert "0.1.0" in proc.stdout


def test_rules_lists_every_code() -> None:
    from dsqa.validators import all_validators

    proc = run_cli("rules")
    assert proc.returncode == 0
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line[:3].isupper() and line[3:6].isdigit()}
    from dsqa.finetune.diagnose import TrainingCurves

    expected = {code for cls in [*all_validators().values(), TrainingCurves] for code in cls.codes}
    assert listed == expected
    assert {c for c in listed if c.startswith("TRN")} == set(TrainingCurves.codes)
    assert "SCH016   warning  schema" in proc.stdout


def test_rules_documents_a_code() -> None:
    proc = run_cli("rules", "sch001")
    assert proc.returncode == 0
    assert proc.stdout.startswith("SCH001: unexpected top-level key\nDefault severity: error.  Validator: schema.")
    assert "Passing:" in proc.stdout and "Failing:" in proc.stdout


def test_rules_unknown_code() -> None:
    assert_one_line_error(run_cli("rules", "ZZZ999"), "ZZZ999")
