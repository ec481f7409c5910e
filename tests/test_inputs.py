"""Inputs other than a plain file: pipes, standard input, compressed files, files of the wrong kind,
and output paths that cannot be written (issue 16, "Input")."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard

from dsqa import check, engine, load_config
from dsqa.cli import main as cli_main
from dsqa.errors import InputError
from dsqa.reading import reread_duplicates
from dsqa.validators.duplicates import DuplicatesValidator
from helpers import ROOT, chat, run_cli, write_jsonl
from test_parallel import _mixed_file

COMPRESS = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.fixture
def delegated_reread(monkeypatch: pytest.MonkeyPatch) -> None:
    """DuplicatesValidator.reread with its body replaced by the one line that delegates to the reader.

    duplicates.py is not this branch's to edit; this is exactly the line its ``reread`` takes on merge.
    """
    monkeypatch.setattr(DuplicatesValidator, "reread", lambda self, positions, answers_only=(): reread_duplicates(self, positions, answers_only))


def _plain(report: Any, name: str) -> dict[str, Any]:
    """A report as a dict with ``name`` (the input as named in findings) replaced by FILE."""
    return json.loads(json.dumps(report.to_dict() if hasattr(report, "to_dict") else report).replace(json.dumps(name)[1:-1], "FILE"))


def _no_candidates_file(path: Path) -> Path:
    """Reader findings of every kind, exact duplicates, and no near-duplicate or conflict candidates.

    (Re-reading candidates from a pipe needs duplicates.reread to delegate to the reader; see
    ``delegated_reread``, which the in-process tests below use.)
    """
    lines = [json.dumps(chat(i)).encode() for i in range(12)]
    lines[3] += b"\r"  # one CRLF line
    lines.insert(5, b"")  # a blank line
    lines.insert(7, b'{"messages": [}')  # invalid JSON
    lines.insert(9, lines[1])  # an exact duplicate
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines))  # a BOM, and no newline at the end
    return path


def _json_cli(*args: str, stdin: bytes | None = None, shell: str | None = None) -> tuple[int, dict[str, Any]]:
    if shell is not None:
        proc = subprocess.run(["bash", "-c", shell], cwd=ROOT, capture_output=True, timeout=300,
                              env={**os.environ, "NO_COLOR": "1"})
    else:
        proc = subprocess.run([sys.executable, "-m", "dsqa", *args], input=stdin, cwd=ROOT, capture_output=True,
                              timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert proc.stderr == b"", proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _swap(report: dict[str, Any], name: str) -> dict[str, Any]:
    return json.loads(json.dumps(report).replace(json.dumps(name)[1:-1], "FILE"))


def test_pipes_give_the_findings_of_the_file(tmp_path: Path) -> None:
    path = _no_candidates_file(tmp_path / "data.jsonl")
    rc, expected = _json_cli("check", str(path), "-f", "json")
    codes = {f["code"] for f in expected["findings"]}
    assert {"RDR001", "RDR003", "RDR004", "RDR005", "DUP001"} <= codes and rc == 1
    expected = _swap(expected, str(path))
    data = path.read_bytes()
    # subprocess.run(input=...) writes to a real pipe: stdin is not seekable
    rc_dash, dash = _json_cli("check", "-", "-f", "json", stdin=data)
    rc_dev, dev = _json_cli("check", "/dev/stdin", "-f", "json", stdin=data)
    rc_sub, sub = _json_cli(shell=f"{sys.executable} -m dsqa check <(cat '{path}') -f json")
    assert (rc_dash, rc_dev, rc_sub) == (1, 1, 1)
    assert dash["datasets"][0]["path"] == "<stdin>"
    assert _swap(dash, "<stdin>") == expected
    assert _swap(dev, "/dev/stdin") == expected
    process_path = sub["datasets"][0]["path"]
    assert process_path.startswith("/dev/fd/")
    assert _swap(sub, process_path) == expected


def test_convert_reads_a_pipe(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "alpaca.jsonl", [{"instruction": f"Say {i}", "input": "", "output": str(i)} for i in range(12)])
    from_file = run_cli("convert", str(path), "-o", str(tmp_path / "a.jsonl"), "--no-check")
    piped = subprocess.run([sys.executable, "-m", "dsqa", "convert", "-", "-o", str(tmp_path / "b.jsonl"), "--no-check"],
                           input=path.read_bytes(), cwd=ROOT, capture_output=True, timeout=300)
    assert from_file.returncode == piped.returncode == 0, piped.stderr
    assert piped.stdout.decode() == from_file.stdout == "read 12, wrote 12, rejected 0 (alpaca -> openai-chat)\n"
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()


def _fifo(tmp_path: Path, data: bytes) -> Path:
    """A named pipe that a thread fills with ``data``: a real input that can be read only once."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return fifo


def test_jobs_on_a_pipe_equal_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delegated_reread: None) -> None:
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    path = _mixed_file(tmp_path / "mixed.jsonl")
    config = load_config("default")
    expected = _plain(check([path], config, jobs=1), str(path))
    assert {"DUP001", "DUP002", "RDR003", "RDR004"} <= {f["code"] for f in expected["findings"]}
    fifo = _fifo(tmp_path, path.read_bytes())
    assert _plain(check([fifo], config, jobs=3), str(fifo)) == expected


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_compressed_files_are_read_as_they_are(tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch,
                                               delegated_reread: None) -> None:
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    path = _mixed_file(tmp_path / "mixed.jsonl")
    packed = tmp_path / f"mixed.jsonl{suffix}"
    packed.write_bytes(COMPRESS[suffix](path.read_bytes()))
    config = load_config("default")
    expected = _plain(check([path], config, jobs=1), str(path))
    one = _plain(check([packed], config, jobs=1), str(packed))
    many = _plain(check([packed], config, jobs=2), str(packed))
    assert one == many == expected
    # line numbers are those of the decompressed text
    text_lines = path.read_bytes().split(b"\n")
    exact = [(f["line"], f["data"]["of"]) for f in one["findings"] if f["code"] == "DUP001"]
    assert exact and all(text_lines[line - 1].rstrip(b"\r") == text_lines[of - 1].rstrip(b"\r") for line, of in exact)
    assert list(spool.iterdir()) == []  # the decompressed copies are gone


def test_compressed_json_array(tmp_path: Path) -> None:
    records = [chat(i) for i in range(12)]
    records[4] = {"messages": [{"role": "user", "content": "Hi"}]}
    plain = tmp_path / "data.json"
    plain.write_text(json.dumps(records, indent=2))
    packed = tmp_path / "data.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    report = _plain(check([packed], load_config("default")), str(packed))
    assert report["datasets"][0]["records"] == 12
    assert report == _plain(check([plain], load_config("default")), str(plain))
    line = plain.read_text().splitlines().index('    "messages": [', 60) 
    assert [(f["code"], f["line"]) for f in report["findings"]] == [("SCH010", line), ("SCH016", line)]


def test_corrupt_and_truncated_compressed_files_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b'{"messages": []}\n')
    short = tmp_path / "short.jsonl.xz"
    short.write_bytes(lzma.compress(json.dumps(chat(1)).encode() * 100)[:60])
    for path, why in ((bad, "it is not valid gz data"), (short, "the compressed data ends early; the file may be truncated")):
        proc = run_cli("check", str(path))
        assert proc.returncode == 2
        assert proc.stderr == f"dsqa: error: {path}: cannot decompress: {why}\n"


def test_zst_without_zstandard_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packed = tmp_path / "data.jsonl.zst"
    packed.write_bytes(zstandard.ZstdCompressor().compress(b"{}\n"))
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import zstandard now raises ImportError
    with pytest.raises(InputError) as err:
        check([packed], load_config("default"))
    assert str(err.value) == f"{packed}: reading .zst files needs the zstandard package: pip install 'dsqa[zstd]'"


def _wrong_kind(path: Path) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    rc, report = _json_cli("check", str(path), "-f", "json")
    return rc, report["findings"], report["datasets"][0]


@pytest.mark.parametrize(("name", "content", "what", "todo"), [
    ("data.jsonl", gzip.compress(b'{"a": 1}\n' * 50), "is gzip-compressed data, not JSONL text",
     "rename it to {d}/data.jsonl.gz and check that"),
    ("data.jsonl", b"instruction,input,output\nSay hi,,hi\nSay yo,,yo\n",
     "looks like CSV (its first line is a header: instruction, input, output), not JSONL",
     "dsqa convert {d}/data.jsonl --container csv -o {d}/data.converted.jsonl"),
    ("data.jsonl", b"instruction\tinput\toutput\nSay hi\t\thi\n",
     "looks like TSV (its first line is a header: instruction, input, output), not JSONL",
     "dsqa convert {d}/data.jsonl --container tsv -o {d}/data.converted.jsonl"),
    ("data.jsonl", json.dumps([chat(i) for i in range(30)], indent=2).encode(),
     "holds one JSON array, not one JSON object per line",
     "rename it to {d}/data.json to check it as an array; dsqa convert {d}/data.json -o {d}/data.jsonl then writes JSONL"),
    ("data.jsonl", b"PAR1" + bytes(200), "is a Parquet file, not JSONL text",
     "dsqa convert {d}/data.jsonl --container parquet -o {d}/data.converted.jsonl"),
])
def test_a_file_of_the_wrong_kind_gets_one_finding(tmp_path: Path, name: str, content: bytes, what: str, todo: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    rc, findings, dataset = _wrong_kind(path)
    assert rc == 1
    assert [(f["code"], f["severity"], f["line"]) for f in findings] == [("RDR010", "error", None)]
    assert findings[0]["message"] == f"this file {what}; nothing in it was checked"
    assert todo.format(d=tmp_path) in findings[0]["hint"]
    assert dataset["records"] == 0


def test_a_csv_on_standard_input_is_named_as_a_pipe(tmp_path: Path) -> None:
    rc, report = _json_cli("check", "-", "-f", "json", stdin=b"prompt,completion\nhi,there\n")
    assert rc == 1
    [finding] = report["findings"]
    assert finding["code"] == "RDR010" and finding["path"] == "<stdin>"
    assert finding["hint"] == "convert it to JSONL: dsqa convert FILE --container csv -o FILE.converted.jsonl"


def test_a_json_array_on_standard_input_is_read_as_an_array(tmp_path: Path) -> None:
    records = [chat(i) for i in range(12)]
    rc, report = _json_cli("check", "-", "-f", "json", stdin=json.dumps(records, indent=2).encode())
    assert rc == 0 and report["findings"] == [] and report["datasets"][0]["records"] == 12


def _fail_if_checked(*args: object, **kwargs: object) -> None:
    raise AssertionError("the check ran before the output path was tested")


@pytest.mark.parametrize("option", [
    ["-o", "{d}/missing/report.json"],
    ["--report", "html:{d}/missing/report.html"],
    ["--report", "sarif:{d}"],
])
def test_an_unwritable_report_path_fails_before_the_check(tmp_path: Path, option: list[str], monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", [chat(i) for i in range(12)])
    monkeypatch.setattr(engine, "check", _fail_if_checked)
    args = [part.format(d=tmp_path) for part in option]
    with pytest.raises(SystemExit) as exit_:
        cli_main(["check", str(path), *args])
    assert exit_.value.code == 2
    target = args[1].partition(":")[2] if args[0] == "--report" else args[1]
    why = "is a directory" if target == str(tmp_path) else "No such file or directory"
    assert capsys.readouterr().err == f"dsqa: error: {target}: cannot write report: {why}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl"]


def test_standard_input_only_once(tmp_path: Path) -> None:
    proc = run_cli("check", "-", "-")
    assert proc.returncode == 2
    assert "standard input (-) can be checked only once per run" in proc.stderr


def test_clean_and_split_read_a_pipe(tmp_path: Path) -> None:
    path = _no_candidates_file(tmp_path / "data.jsonl")
    for command in ("clean", "split"):
        outputs = []
        for source, stdin in ((str(path), None), ("-", path.read_bytes())):
            out = tmp_path / f"{command}-{len(outputs)}"
            target = out if command == "split" else out.with_suffix(".jsonl")
            proc = subprocess.run([sys.executable, "-m", "dsqa", command, source, "-o", str(target)], input=stdin,
                                  cwd=ROOT, capture_output=True, timeout=300)
            assert proc.returncode in (0, 1), proc.stderr
            files = sorted(target.iterdir()) if command == "split" else [target, target.with_suffix(".rejects.jsonl")]
            outputs.append([f.read_bytes() for f in files])
        assert outputs[0] == outputs[1] and all(outputs[0])


def test_an_interrupt_while_a_pipe_is_spooled_leaves_no_copy(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    fifo = tmp_path / "stream.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dsqa", "check", str(fifo)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(spool)}, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    with open(fifo, "w") as writer:
        writer.write(json.dumps(chat(1)) + "\n")
        writer.flush()
        for _ in range(200):  # until dsqa has made its copy and is waiting for more
            if list(spool.iterdir()):
                break
            time.sleep(0.05)
        assert [p.suffix for p in spool.iterdir()] == [".jsonl"]
        proc.send_signal(signal.SIGINT)
        for _ in range(20):
            try:
                _, err = proc.communicate(timeout=3)
                break
            except subprocess.TimeoutExpired:
                # a signal that lands just before the blocking read starts is only seen when the
                # read returns (CPython checks signals between bytecodes): press Ctrl-C again
                proc.send_signal(signal.SIGINT)
        else:
            proc.kill()
            raise AssertionError("dsqa did not stop on SIGINT while it waited on a pipe")
    assert proc.returncode == 130 and b"interrupted" in err
    assert list(spool.iterdir()) == []
