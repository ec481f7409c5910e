"""Hostile records (issue 19): crafted files that crashed, hung or ate memory, run through the real CLI."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import ROOT, chat, run_cli

GOOD = json.dumps(chat(1))
#: a second finding on the hostile record (an unknown role), so that its messages would be printed
BAD_ROLE = '{"role": "bot", "content": "x"}'


def _filler(i: int) -> str:
    """A valid chat record of about 1 KB, different for each ``i``."""
    return json.dumps({"messages": [
        {"role": "user", "content": f"Question {i}: " + " ".join(f"w{(i * 7 + k) % 997}" for k in range(150))},
        {"role": "assistant", "content": f"Answer {i}."},
    ]})


def _write(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode("utf-8")) + b"\n" for line in lines))
    return path


def _report(path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = run_cli("check", str(path), "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return result, json.loads(result.stdout)


def _codes_at(report: dict[str, Any], line: int) -> set[str]:
    return {f["code"] for f in report["findings"] if f["line"] == line}


def _no_crash(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "RecursionError" not in result.stdout + result.stderr


def _pack(tmp_path: Path, max_line_bytes: int) -> Path:
    pack = tmp_path / "pack.yaml"
    pack.write_text(f"validators:\n  reader:\n    max_line_bytes: {max_line_bytes}\n", encoding="utf-8")
    return pack


# -- lone surrogates -----------------------------------------------------------------------------

def _surrogate_file(tmp_path: Path) -> Path:
    hostile = '{"messages": [{"role": "user", "content": "a\\ud800b"}, ' + BAD_ROLE + '], "k\\udc00": 1}'
    bad_role = '{"messages": [{"role": "user", "content": "Hi"}, ' + BAD_ROLE + "]}"
    return _write(tmp_path / "surrogate.jsonl", [GOOD, hostile, bad_role])


@pytest.mark.parametrize("fmt", ["json", "text", "sarif", "html"])
def test_a_lone_surrogate_is_a_finding_in_every_format(tmp_path: Path, fmt: str) -> None:
    data = _surrogate_file(tmp_path)
    out = tmp_path / f"report.{fmt}"
    result = run_cli("check", str(data), "--report", f"{fmt}:{out}")
    _no_crash(result)
    assert result.returncode == 1
    text = out.read_bytes().decode("utf-8")  # written, and valid UTF-8
    assert "RDR013" in text
    assert "SCH003" in text  # the line after it is still checked
    if fmt == "json":
        report = json.loads(text)
        assert _codes_at(report, 2) == {"RDR013"}
        assert _codes_at(report, 3) >= {"SCH003"}
        [f] = [f for f in report["findings"] if f["code"] == "RDR013"]
        assert f["pointer"] == "/messages/0/content" and "\\ud800" in f["message"]


def test_a_lone_surrogate_does_not_stop_convert_clean_or_split(tmp_path: Path) -> None:
    data = _surrogate_file(tmp_path)
    converted = tmp_path / "converted.jsonl"
    result = run_cli("convert", str(data), "-o", str(converted))
    _no_crash(result)
    assert [json.loads(line)["messages"][0]["content"] for line in converted.read_text("utf-8").splitlines()] == [
        chat(1)["messages"][0]["content"], "Hi",
    ]
    [reject] = [json.loads(line) for line in (tmp_path / "converted.rejects.jsonl").read_text("utf-8").splitlines()]
    assert reject["line"] == 2 and reject["reason"].startswith("RDR013")
    assert reject["text"] == data.read_text("utf-8").splitlines()[1]  # the escape is kept as it was written

    cleaned = tmp_path / "cleaned.jsonl"
    result = run_cli("clean", str(data), "-o", str(cleaned))
    _no_crash(result)
    assert cleaned.read_text("utf-8").splitlines() == [GOOD]
    rejects = [json.loads(line) for line in (tmp_path / "cleaned.rejects.jsonl").read_text("utf-8").splitlines()]
    assert [(r["line"], r["codes"]) for r in rejects] == [(2, ["RDR013"]), (3, ["SCH003", "SCH010"])]

    result = run_cli("split", str(data), "-o", str(tmp_path / "split"), "--validation", "1")
    _no_crash(result)
    written = (tmp_path / "split" / "train.jsonl").read_bytes() + (tmp_path / "split" / "validation.jsonl").read_bytes()
    assert sorted(written.splitlines()) == sorted(data.read_bytes().splitlines())


# -- a tiktoken panic ------------------------------------------------------------------------------

def _panic_record() -> str:
    return json.dumps({"messages": [{"role": "user", "content": " " * 1_000_000}, {"role": "assistant", "content": "ok"}]})


def test_a_tokenizer_panic_is_a_finding_on_its_record(tmp_path: Path) -> None:
    data = _write(tmp_path / "spaces.jsonl", [GOOD, _panic_record(), '{"messages": [' + BAD_ROLE + "]}"])
    result, report = _report(data)
    _no_crash(result)
    [crash] = [f for f in report["findings"] if f["code"] == "DSQ001"]
    assert crash["line"] == 2 and "tokenizer failed on a 1,000,000-character string" in crash["message"]
    assert _codes_at(report, 3) >= {"SCH003"}
    assert report["datasets"][0]["records"] == 3


def test_a_tokenizer_panic_in_a_worker_is_a_finding(tmp_path: Path) -> None:
    # over PARALLEL_MIN_BYTES, so that --jobs 2 checks the file in forked workers
    filler = [_filler(i) for i in range(5000)]
    lines = filler[:2500] + [_panic_record()] + filler[2500:]
    data = _write(tmp_path / "big.jsonl", lines)
    assert data.stat().st_size > 4 * 1024 * 1024
    result, report = _report(data, "--jobs", "2", "--select", "DSQ,SCH")
    _no_crash(result)
    assert [(f["code"], f["line"]) for f in report["findings"] if f["code"] == "DSQ001"] == [("DSQ001", 2501)]
    assert report["datasets"][0]["records"] == 5001


# -- deep nesting --------------------------------------------------------------------------------

def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def _deep_file(tmp_path: Path, levels: int) -> Path:
    deep_arrays = '{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "ok", "meta": ' + _nested(levels) + "}]}"
    deep_objects = '{"messages": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "ok"}], "meta": ' + '{"a": ' * levels + "1" + "}" * levels + "}"
    deep_content = '{"messages": [{"role": "user", "content": ' + _nested(levels) + '}, {"role": "assistant", "content": "ok"}]}'
    return _write(tmp_path / f"deep{levels}.jsonl", [GOOD, deep_arrays, deep_objects, deep_content, '{"messages": [' + BAD_ROLE + "]}"])


@pytest.mark.parametrize("levels,code", [(500, "RDR014"), (950, "RDR014"), (100_000, "RDR001")])
def test_deep_nesting_is_one_finding_in_check_convert_clean_and_split(tmp_path: Path, levels: int, code: str) -> None:
    data = _deep_file(tmp_path, levels)
    result, report = _report(data)  # every validator (schema, duplicates...) and the stats
    _no_crash(result)
    for line in (2, 3, 4):
        assert _codes_at(report, line) == {code}, line
    assert _codes_at(report, 5) >= {"SCH003"}
    assert "DSQ001" not in {f["code"] for f in report["findings"]}
    result = run_cli("check", str(data), "--format", "text", "--show-all")
    _no_crash(result)

    converted = tmp_path / "converted.jsonl"
    _no_crash(run_cli("convert", str(data), "-o", str(converted)))
    rejects = [json.loads(line) for line in (tmp_path / "converted.rejects.jsonl").read_text("utf-8").splitlines()]
    assert [r["line"] for r in rejects] == [2, 3, 4]
    assert [r["text"] for r in rejects] == data.read_text("utf-8").splitlines()[1:4]

    cleaned = tmp_path / "cleaned.jsonl"
    _no_crash(run_cli("clean", str(data), "-o", str(cleaned)))
    assert cleaned.read_text("utf-8").splitlines() == [GOOD]

    result = run_cli("split", str(data), "-o", str(tmp_path / "split"), "--validation", "2")
    _no_crash(result)
    written = (tmp_path / "split" / "train.jsonl").read_bytes() + (tmp_path / "split" / "validation.jsonl").read_bytes()
    assert sorted(written.splitlines()) == sorted(data.read_bytes().splitlines())


# -- many unknown keys -----------------------------------------------------------------------------

@pytest.mark.parametrize("keys,seconds", [(5_000, 20), (100_000, 90)])
def test_many_unknown_keys_take_seconds(tmp_path: Path, keys: int, seconds: int) -> None:
    record = chat(1)
    record.update({f"k{i}": i for i in range(keys)})
    data = _write(tmp_path / "keys.jsonl", [json.dumps(record)])
    start = time.monotonic()
    result, report = _report(data, "--select", "SCH001")
    elapsed = time.monotonic() - start
    _no_crash(result)
    # one finding for the record, counting every unknown key (issue 14 D)
    found = [f for f in report["findings"] if f["code"] == "SCH001"]
    assert len(found) == 1 and found[0]["data"]["count"] == keys
    assert elapsed < seconds  # 5,000 keys took 251 s: a fingerprint and an excerpt per finding


# -- memory ----------------------------------------------------------------------------------------

def _peak_rss_mb(*args: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run `python -m dsqa ARGS` in a fresh parent and return its peak resident memory in MB."""
    code = (
        "import resource, subprocess, sys; "
        "r = subprocess.run([sys.executable, '-m', 'dsqa', *sys.argv[1:]], capture_output=True, text=True); "
        "sys.stderr.write(r.stderr); sys.stdout.write(r.stdout); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, file=sys.stderr); sys.exit(r.returncode)"
    )
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return int(result.stderr.strip().splitlines()[-1]), result


def test_a_huge_array_element_is_passed_over_in_bounded_memory(tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    big = json.dumps({"messages": [{"role": "user", "content": 'a "quoted" \\ [x] {y} ' * 2_000_000}, {"role": "assistant", "content": "ok"}]})
    data.write_text("[\n" + GOOD + ",\n" + big + ",\n" + '{"messages": [' + BAD_ROLE + "]}\n]\n", encoding="utf-8")
    assert data.stat().st_size > 40_000_000
    peak, result = _peak_rss_mb("check", str(data), "--format", "json", "-r", str(_pack(tmp_path, 1_000_000)))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    [over] = [f for f in report["findings"] if f["code"] == "RDR008"]
    assert over["line"] == 3 and over["data"] == {"bytes": len(big.encode("utf-8")), "offset": len("[\n" + GOOD + ",\n"), "record": 1}
    assert _codes_at(report, 4) >= {"SCH003"}  # the element after it is read
    assert report["datasets"][0]["records"] == 3
    assert peak < 400, f"peak RSS {peak} MB"  # parsing the element whole took over 1 GB


# -- values the parser took silently -------------------------------------------------------------

def test_infinity_is_not_written_back_as_invalid_json(tmp_path: Path) -> None:
    inf = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "ok", "weight": 1e400}]}'
    dup = '{"messages": [{"role": "user", "content": "Hi", "content": "Bye"}, {"role": "assistant", "content": "ok"}]}'
    data = _write(tmp_path / "values.jsonl", [GOOD, inf, dup])
    result, report = _report(data)
    assert _codes_at(report, 2) == {"RDR012"}
    assert "RDR011" in _codes_at(report, 3)
    converted = tmp_path / "converted.jsonl"
    _no_crash(run_cli("convert", str(data), "-o", str(converted)))
    for line in converted.read_text("utf-8").splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} written"))
    rejects = [json.loads(line) for line in (tmp_path / "converted.rejects.jsonl").read_text("utf-8").splitlines()]
    assert [(r["line"], r["reason"][:6]) for r in rejects] == [(2, "RDR012"), (3, "RDR011")]


# -- rejects keep their bytes --------------------------------------------------------------------

def test_clean_rejects_of_over_limit_lines_keep_their_bytes(tmp_path: Path) -> None:
    long_text = json.dumps({"messages": [{"role": "user", "content": "x" * 3000 + "é"}, {"role": "assistant", "content": "ok"}]})
    latin1 = b'{"messages": [{"role": "user", "content": "' + b"caf\xe9 " * 600 + b'"}]}'
    data = _write(tmp_path / "long.jsonl", [GOOD, long_text.encode("utf-8") + b"\r", latin1, GOOD.replace("1", "2")])
    cleaned = tmp_path / "cleaned.jsonl"
    result = run_cli("clean", str(data), "-o", str(cleaned), "-r", str(_pack(tmp_path, 1000)))
    assert result.returncode in (0, 1), result.stderr
    rejects = [json.loads(line) for line in (tmp_path / "cleaned.rejects.jsonl").read_text("utf-8").splitlines()]
    assert [(r["line"], r["codes"]) for r in rejects] == [(2, ["RDR008"]), (3, ["RDR008"])]
    assert rejects[0]["text"] == long_text and "raw_base64" not in rejects[0]  # the CR of CRLF is the line ending
    assert base64.b64decode(rejects[1]["raw_base64"]) == latin1
    assert rejects[1]["text"] == latin1.decode("utf-8", "replace")


def test_convert_rejects_of_over_limit_lines_keep_their_bytes(tmp_path: Path) -> None:
    long_text = json.dumps({"messages": [{"role": "user", "content": "y" * (33 * 1024 * 1024)}, {"role": "assistant", "content": "ok"}]})
    data = _write(tmp_path / "huge.jsonl", [GOOD, long_text, GOOD])
    converted = tmp_path / "converted.jsonl"
    result = run_cli("convert", str(data), "-o", str(converted))
    _no_crash(result)
    assert len(converted.read_text("utf-8").splitlines()) == 2
    [reject] = [json.loads(line) for line in (tmp_path / "converted.rejects.jsonl").read_text("utf-8").splitlines()]
    assert reject["line"] == 2 and reject["reason"].startswith("RDR008")
    assert reject["text"] == long_text


def test_convert_rejects_of_invalid_utf8_keep_their_bytes(tmp_path: Path) -> None:
    latin1 = b'{"instruction": "caf\xe9", "output": "ok"}'
    data = _write(tmp_path / "latin1.jsonl", [b'{"instruction": "Hi", "output": "ok"}', latin1])
    converted = tmp_path / "converted.jsonl"
    _no_crash(run_cli("convert", str(data), "-o", str(converted)))
    [reject] = [json.loads(line) for line in (tmp_path / "converted.rejects.jsonl").read_text("utf-8").splitlines()]
    assert reject["line"] == 2 and base64.b64decode(reject["raw_base64"]) == latin1


def _array_with_large_elements(path: Path, large: list[bytes]) -> Path:
    """A pretty-printed JSON array (with a BOM and non-ASCII text) holding ``large`` at lines 3 and 6."""
    small = json.dumps({"messages": [{"role": "user", "content": "Grüße ☃"}, {"role": "assistant", "content": "Hallo!"}]}, ensure_ascii=False)
    body = b"[\n  " + small.encode("utf-8") + b",\n  " + large[0] + b",\n  " + small.replace("ß", "ss").encode("utf-8")
    body += b",\n  " + large[1] + b"\n]\n"
    path.write_bytes(b"\xef\xbb\xbf" + body)
    return path


def _large_element(content: str) -> bytes:
    # spread over two lines, with escapes and brackets in a string: the bytes must come back as written
    return ('{"messages": [{"role": "user", "content": "' + content + ' \\"q\\" [{"},\n    {"role": "assistant", "content": "ok"}]}').encode("utf-8")


def test_clean_rejects_of_over_limit_array_elements_keep_their_bytes(tmp_path: Path) -> None:
    large = [_large_element("é" * 1500), _large_element("z" * 2000 + "☃")]
    data = _array_with_large_elements(tmp_path / "array.json", large)
    cleaned = tmp_path / "cleaned.jsonl"
    result = run_cli("clean", str(data), "-o", str(cleaned), "-r", str(_pack(tmp_path, 1000)))
    assert result.returncode in (0, 1), result.stderr
    assert len(cleaned.read_text("utf-8").splitlines()) == 2
    rejects = [json.loads(line) for line in (tmp_path / "cleaned.rejects.jsonl").read_text("utf-8").splitlines()]
    assert [(r["line"], r["codes"]) for r in rejects] == [(3, ["RDR008"]), (6, ["RDR008"])]
    assert [r["text"].encode("utf-8") for r in rejects] == large
    assert not any("raw_base64" in r for r in rejects)


def test_convert_rejects_of_over_limit_array_elements_keep_their_bytes(tmp_path: Path) -> None:
    # convert reads with the default limit (32 MiB): both elements are over it, and span many reads
    large = [_large_element("y" * (33 * 1024 * 1024) + "é"), _large_element("ü" * 100 + "y" * (32 * 1024 * 1024 + 100))]
    data = _array_with_large_elements(tmp_path / "huge.json", large)
    converted = tmp_path / "converted.jsonl"
    _no_crash(run_cli("convert", str(data), "-o", str(converted)))
    assert len(converted.read_text("utf-8").splitlines()) == 2
    rejects = [json.loads(line) for line in (tmp_path / "converted.rejects.jsonl").read_text("utf-8").splitlines()]
    assert [(r["line"], r["reason"][:6], r["record"]) for r in rejects] == [(3, "RDR008", None), (6, "RDR008", None)]
    assert [r["text"].encode("utf-8") for r in rejects] == large


def test_the_offset_of_an_over_limit_element_counts_characters_split_between_reads(tmp_path: Path) -> None:
    from dsqa import reading

    # an element over the limit that the first read (1 MiB) ends inside, in the middle of a
    # three-byte character: the decoder holds its first bytes when the element is skipped
    filler = [{"text": "€" * 100} for _ in range(3300)]
    head = ("[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in filler) + ",\n").encode("utf-8")
    large = _large_element("☃" * 3000)
    first_snowman = len(head) + large.index("☃".encode("utf-8"))
    head += b" " * ((1 << 20) - first_snowman - 3 * 1000 - 1)  # the read ends one byte into the 1,001st
    data = tmp_path / "split.json"
    data.write_bytes(head + large + b"]\n")
    [skipped] = [r for r in reading.read_records(data, max_line_bytes=1000) if reading.skipped_element(r)]
    offset, size = reading.skipped_element(skipped)
    assert (offset, size) == (len(head), len(large))
    assert b"".join(reading.element_chunks(data, offset, size)) == large


# -- orphaned workers ------------------------------------------------------------------------------

def _children(pid: int) -> set[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return set()
    out: set[int] = set()
    for task in tasks:
        try:
            out.update(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("command", ["clean", "check"])
def test_killing_dsqa_kills_its_workers(tmp_path: Path, command: str) -> None:
    filler = [_filler(i) for i in range(20000)]
    data = _write(tmp_path / "big.jsonl", filler)
    args = ["clean", str(data), "-o", str(tmp_path / "out.jsonl")] if command == "clean" else ["check", str(data)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dsqa", *args, "--jobs", "2"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
            workers = _children(proc.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "the workers never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "workers outlived their parent"
    finally:
        for w in _children(proc.pid) | workers:
            try:
                os.kill(w, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_an_element_over_the_limit_is_skipped_exactly_whatever_the_reads(tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Escapes, quotes and brackets in strings, cut anywhere by the reads, do not end the element early."""
    import dsqa.reading as reading

    monkeypatch.setattr(reading, "_CHUNK", chunk)
    tricky = 'a\\"b\\\\"c\\\\\\"d [ { ] } \\\\\\\\ é 😀 \\u005c'
    elements = [
        GOOD,
        json.dumps({"messages": [{"role": "user", "content": tricky * 40}], "n": [[1, 2], {"x": "]"}]}),
        '"' + "\\\\" * 300 + '"',
        "1" * 500,
        '{"messages": [' + BAD_ROLE + "]}",
    ]
    data = tmp_path / "data.json"
    data.write_text("[\n" + ",\n".join(elements) + "\n]\n", encoding="utf-8")
    records = [r for r in reading.read_records(data, max_line_bytes=200) if r.index >= 0]
    assert [(r.line, [p.code for p in r.problems]) for r in records] == [
        (2, []), (3, ["RDR008"]), (4, ["RDR008"]), (5, ["RDR008"]), (6, []),
    ]
    text = data.read_bytes()
    offsets = [text.index(e.encode("utf-8")) for e in elements[1:4]]
    assert [r.problems[0].data for r in records[1:4]] == [
        {"bytes": len(e.encode("utf-8")), "offset": at} for e, at in zip(elements[1:4], offsets)
    ]
    # where a rejects file copies the element's bytes from
    assert [b"".join(reading.element_chunks(data, *reading.skipped_element(r))) for r in records[1:4]] == [  # type: ignore[misc]
        e.encode("utf-8") for e in elements[1:4]
    ]
    assert records[4].value == json.loads(elements[4])
