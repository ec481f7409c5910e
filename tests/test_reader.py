"""The reader streams: huge lines are skipped without stopping the run, and memory stays flat."""

from __future__ import annotations

import json
import os
import stat
import tracemalloc
from pathlib import Path

from dsqa import check, load_config
from dsqa.sources import read_records, write_atomic
from dsqa.tokencount import get_encoding
from helpers import chat, write_jsonl


def test_fifty_megabyte_line_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    huge = json.dumps({"messages": [{"role": "user", "content": "x" * 50_000_000}]})
    with open(path, "w") as f:
        f.write(json.dumps(chat(1)) + "\n")
        f.write(huge + "\n")
        for i in range(2, 12):
            f.write(json.dumps(chat(i)) + "\n")
    get_encoding("o200k_base")  # the token vocabulary: a fixed cost, loaded once per process, not what this measures
    tracemalloc.start()
    report = check([path], load_config("default"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [(f.code, f.line) for f in report.findings] == [("RDR008", 2)]
    assert report.findings[0].data == {"bytes": len(huge) + 1}
    assert report.datasets[0].records == 12
    assert peak < 40_000_000  # bounded by reader.max_line_bytes (32 MiB), not by the line


def _peak(fn: object) -> int:
    tracemalloc.start()
    fn()  # type: ignore[operator]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = write_jsonl(tmp_path / "small.jsonl", [chat(i) for i in range(2_000)])
    large = write_jsonl(tmp_path / "large.jsonl", [chat(i) for i in range(40_000)])
    counts: list[int] = []
    reader_small = _peak(lambda: counts.append(sum(1 for _ in read_records(small))))
    reader_large = _peak(lambda: counts.append(sum(1 for _ in read_records(large))))
    assert counts == [2_000, 40_000]
    assert reader_large < reader_small * 1.5 + 100_000, (reader_small, reader_large)

    few = write_jsonl(tmp_path / "few.jsonl", [chat(i) for i in range(200)])
    many = write_jsonl(tmp_path / "many.jsonl", [chat(i) for i in range(2_000)])
    reports: list[object] = []
    # the duplicates validator keeps ~100 bytes of hashes per record by design (its own memory
    # test is in test_duplicates.py): these records are too small to tell that from texts
    config = load_config("default")
    config.validators["duplicates"] = {"enabled": False}
    engine_few = _peak(lambda: reports.append(check([few], config)))
    engine_many = _peak(lambda: reports.append(check([many], config)))
    assert [r.datasets[0].records for r in reports] == [200, 2_000]  # type: ignore[attr-defined]
    assert all(r.findings == [] for r in reports)  # type: ignore[attr-defined]
    assert engine_many < engine_few * 1.5 + 200_000, (engine_few, engine_many)


def test_json_array_streams_with_element_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    records = [chat(i) for i in range(3000)]
    path.write_text(json.dumps(records, indent=2))
    seen = list(read_records(path))
    assert [r.index for r in seen] == list(range(3000))
    text_lines = path.read_text().splitlines()
    for r in seen[:50] + seen[-50:]:
        assert text_lines[r.line - 1] == "  {"
        assert r.value == records[r.index]


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    old_umask = os.umask(0o022)
    try:
        write_atomic(target, "new content")
    finally:
        os.umask(old_umask)
    assert target.read_text() == "new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
