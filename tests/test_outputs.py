"""Output files: pairs committed so that no reader sees a new file beside an old one, temp files never left behind."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dsqa.outputs import AtomicOutput, commit_together, sweep_stale
from helpers import ROOT, chat, run_cli, write_jsonl


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_discard_removes_the_temp_file_when_close_fails(tmp_path: Path) -> None:
    out = AtomicOutput(tmp_path / "out.jsonl")
    out.write_line(b"{}")

    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    out.file.close = full_disk  # type: ignore[method-assign]
    out.discard()
    assert list(tmp_path.iterdir()) == []


def test_temp_files_of_killed_runs_are_swept_on_the_next_run(tmp_path: Path) -> None:
    dead = tmp_path / f".train.jsonl.dsqa-{_dead_pid()}.k3j4.tmp"
    live = tmp_path / f".train.jsonl.dsqa-{os.getppid()}.x9y8.tmp"  # a run still going
    theirs = tmp_path / ".train.jsonl.k3j4.tmp"  # not of our naming
    for p in (dead, live, theirs):
        p.write_bytes(b"x" * 100)
    assert sweep_stale(tmp_path) == [dead]
    with AtomicOutput(tmp_path / "train.jsonl") as out:
        out.write_line(b"{}")
        out.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, theirs.name, "train.jsonl"])


_KILL_AFTER_FIRST_RENAME = r"""
import os, signal, sys
from pathlib import Path
from dsqa import outputs
real = os.replace
def replace(a, b):
    real(a, b)
    os.kill(os.getpid(), signal.SIGKILL)
outputs.os.replace = replace
d = Path(sys.argv[1])
train, valid = outputs.AtomicOutput(d / "train.jsonl"), outputs.AtomicOutput(d / "validation.jsonl")
train.write_line(b'"new train"')
valid.write_line(b'"new validation"')
outputs.commit_together([train, valid])
"""


def test_a_kill_between_the_renames_never_leaves_a_mixed_pair(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('"old train"\n')
    (tmp_path / "validation.jsonl").write_text('"old validation"\n')
    proc = subprocess.run([sys.executable, "-c", _KILL_AFTER_FIRST_RENAME, str(tmp_path)], cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    # the new train.jsonl is in place; the old validation.jsonl went before it, so nobody can pair them
    assert (tmp_path / "train.jsonl").read_text() == '"new train"\n'
    assert not (tmp_path / "validation.jsonl").exists()
    # the killed run's temp file is swept by the next one
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1
    with AtomicOutput(tmp_path / "validation.jsonl") as out:
        out.commit()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_commit_together_in_order(tmp_path: Path) -> None:
    outs = [AtomicOutput(tmp_path / name) for name in ("a.jsonl", "b.jsonl")]
    for i, out in enumerate(outs):
        out.write_line(json.dumps(i).encode())
    commit_together(outs)
    assert [(tmp_path / n).read_text() for n in ("a.jsonl", "b.jsonl")] == ["0\n", "1\n"]


def test_split_refuses_to_write_over_its_own_input(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "train.jsonl", [chat(i) for i in range(30)])
    before = src.read_bytes()
    proc = run_cli("split", str(src), "--validation", "0.2", "-o", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"dsqa: error: {src}: the split would write train.jsonl over its own input; give another -o directory"]
    assert src.read_bytes() == before


def test_convert_removes_a_stale_rejects_file_when_nothing_is_rejected(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [chat(i) for i in range(12)])
    stale = tmp_path / "out.rejects.jsonl"
    stale.write_text('{"line": 3, "reason": "from an earlier run"}\n')
    proc = run_cli("convert", str(src), "-o", str(tmp_path / "out.jsonl"))
    assert proc.returncode == 0, proc.stderr
    assert "rejected 0" in proc.stdout
    assert not stale.exists()


@pytest.mark.parametrize("command", ["convert", "clean"])
def test_rejects_of_a_new_run_replace_the_old_ones_together_with_out(tmp_path: Path, command: str) -> None:
    records = [chat(i) for i in range(13)]
    if command == "clean":
        records[2]["messages"][1]["role"] = "bot"  # an error: the record is rejected
    else:
        records[2] = {"unknown": "shape"}  # no format: the converter rejects it
    src = write_jsonl(tmp_path / "in.jsonl", records)
    proc = run_cli(command, str(src), "-o", str(tmp_path / "out.jsonl"))
    # convert fails when it rejects something; clean passes when what it kept passes
    assert proc.returncode == (1 if command == "convert" else 0), proc.stdout + proc.stderr
    assert [json.loads(line)["line"] for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()] == [3]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_convert_rejects_keep_the_bytes_of_invalid_utf8(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    good = json.dumps({"instruction": "Name a colour.", "output": "Blue."}).encode()
    bad = b'{"instruction": "Caf\xe9 au lait?", "output": "Oui."}'
    src.write_bytes(good + b"\n" + bad + b"\n")
    run_cli("convert", str(src), "-o", str(tmp_path / "out.jsonl"))
    (entry,) = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert entry["line"] == 2 and entry["reason"].startswith("RDR002")
    assert base64.b64decode(entry["raw_base64"]) == bad


@pytest.mark.parametrize("how", [["-o"], ["--report"]])
def test_a_report_never_overwrites_a_dataset(tmp_path: Path, how: list[str]) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", [chat(i) for i in range(12)])
    before = data.read_bytes()
    target = str(data) if how == ["-o"] else f"json:{data}"
    proc = run_cli("check", str(data), *how, target)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"dsqa: error: {data}: the report would overwrite the dataset {data}; write it elsewhere"]
    assert data.read_bytes() == before
