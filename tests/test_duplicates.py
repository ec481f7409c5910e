"""Duplicates validator: exact, near and conflicting duplicates, leakage, order independence, --jobs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsqa import check, engine, load_config
from dsqa.reading import read_records
from dsqa.validators import DatasetContext
from dsqa.validators.duplicates import DuplicatesValidator
from helpers import run_cli, write_jsonl

WORDS = (
    "apple river mountain quiet window garden yellow engine paper music winter coffee bridge forest "
    "silver market ladder candle orange planet stone violin harbor pencil cloud tiger museum rocket "
    "blanket island mirror thunder pocket lemon castle feather dragon meadow saddle puzzle lantern"
).split()
SYSTEM = "You are a careful assistant who answers questions about everyday objects in plain words."


def sentence(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def example(rng: random.Random, system: str | None = SYSTEM) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [
        {"role": "user", "content": f"{sentence(rng)} {sentence(rng)}?"},
        {"role": "assistant", "content": " ".join(sentence(rng) for _ in range(4))},
    ]
    return {"messages": messages}


def planted(n: int = 60, seed: int = 7) -> tuple[list[dict[str, Any]], dict[str, dict[int, int]]]:
    """Distinct examples with an exact copy, two near copies and a conflicting answer planted;
    returns the records and, per kind, {line: line of the original}."""
    rng = random.Random(seed)
    records = [example(rng) for _ in range(n)]
    truth: dict[str, dict[int, int]] = {"exact": {}, "near": {}, "conflict": {}}
    records[40] = json.loads(json.dumps(records[3]))
    truth["exact"][41] = 4
    near = json.loads(json.dumps(records[10]))
    near["messages"][-1]["content"] += " Thanks."
    records[45] = near
    truth["near"][46] = 11
    near2 = json.loads(json.dumps(records[20]))
    words = near2["messages"][-1]["content"].split(" ")
    words[5] = "really"
    near2["messages"][-1]["content"] = " ".join(words)
    records[50] = near2
    truth["near"][51] = 21
    conflict = json.loads(json.dumps(records[30]))
    conflict["messages"][-1]["content"] = " ".join(sentence(rng) for _ in range(4))
    records[55] = conflict
    truth["conflict"][56] = 31
    return records, truth


def dup_findings(report: Any, path: str | None = None) -> dict[str, dict[int, Any]]:
    out: dict[str, dict[int, Any]] = {}
    for f in report.findings:
        if f.code.startswith("DUP") and (path is None or f.path == path):
            out.setdefault(f.code, {})[f.line] = f.data
    return out


def test_planted_duplicates_found_at_their_lines(tmp_path: Path) -> None:
    records, truth = planted()
    path = write_jsonl(tmp_path / "train.jsonl", records)
    report = check([path], load_config("default"))
    found = dup_findings(report)
    assert {line: d["of"] for line, d in found["DUP001"].items()} == truth["exact"]
    assert {line: d["of"] for line, d in found["DUP002"].items()} == truth["near"]
    assert {line: d["of"] for line, d in found["DUP003"].items()} == truth["conflict"]
    assert all(0.9 <= d["similarity"] < 1 for d in found["DUP002"].values())
    stats = report.datasets[0].stats["duplicates"]
    assert stats["exact_duplicates"] == 1 and stats["near_duplicates"] == 2 and stats["clusters"] == 2
    assert stats["conflicts"] == 1
    assert {c["representative"] for c in stats["top_clusters"]} == {11, 21}


def test_shared_system_prompt_is_not_a_near_duplicate(tmp_path: Path) -> None:
    rng = random.Random(3)
    long_system = " ".join(sentence(rng, 20) for _ in range(10))  # dwarfs the turns
    records = []
    for _ in range(30):
        records.append({"messages": [
            {"role": "system", "content": long_system},
            {"role": "user", "content": sentence(rng, 6)},
            {"role": "assistant", "content": sentence(rng, 8)},
        ]})
    path = write_jsonl(tmp_path / "train.jsonl", records)
    report = check([path], load_config("default"))
    assert dup_findings(report) == {}


def test_different_system_prompts_are_not_near_duplicates(tmp_path: Path) -> None:
    rng = random.Random(4)
    base = example(rng)
    other = json.loads(json.dumps(base))
    other["messages"][0]["content"] = "You are a pirate. Answer every question in pirate speech, arr."
    path = write_jsonl(tmp_path / "train.jsonl", [base, other])
    assert dup_findings(check([path], load_config("default"))) == {}


def test_normalisation_and_case_fold(tmp_path: Path) -> None:
    rng = random.Random(5)
    base = example(rng)
    spaced = json.loads(json.dumps(base))
    spaced["messages"][1]["content"] = "  " + spaced["messages"][1]["content"].replace(" ", " \n ") + "\t"
    shouted = json.loads(json.dumps(base))
    shouted["messages"][2]["content"] = shouted["messages"][2]["content"].upper()
    path = write_jsonl(tmp_path / "train.jsonl", [base, spaced, shouted])
    found = dup_findings(check([path], load_config("default")))
    assert set(found["DUP001"]) == {2}
    pack = tmp_path / "fold.yaml"
    pack.write_text(yaml.safe_dump({"extends": "default", "validators": {"duplicates": {"case_fold": True}}}))
    found = dup_findings(check([path], load_config(pack)))
    assert set(found["DUP001"]) == {2, 3}


def test_spaces_are_normalised_on_lines_without_escapes(tmp_path: Path) -> None:
    # plain ASCII lines with no escape take a faster path: it must still collapse and trim spaces
    rng = random.Random(6)
    base = example(rng)
    spaced = json.loads(json.dumps(base))
    spaced["messages"][1]["content"] = " " + spaced["messages"][1]["content"].replace(" ", "  ", 3)
    spaced["messages"][2]["content"] += " "
    rubout = json.loads(json.dumps(base))
    rubout["messages"][2]["content"] += "\x7f"
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [base, spaced, rubout, rubout]))
    assert b"\\" not in path.read_bytes() and b"\x7f" in path.read_bytes()
    found = dup_findings(check([path], load_config("default")))
    assert {line: d["of"] for line, d in found["DUP001"].items()} == {2: 1, 4: 3}


def test_scope_option(tmp_path: Path) -> None:
    rng = random.Random(6)
    a = example(rng)
    b = json.loads(json.dumps(a))
    b["messages"][2]["content"] = " ".join(sentence(rng) for _ in range(4))  # same question
    path = write_jsonl(tmp_path / "train.jsonl", [a, b])
    pack = tmp_path / "user.yaml"
    pack.write_text(yaml.safe_dump({"extends": "default", "validators": {"duplicates": {"scope": "user"}}}))
    found = dup_findings(check([path], load_config(pack)))
    assert found["DUP002"][2]["similarity"] == 1.0
    assert set(found["DUP003"]) == {2}
    found = dup_findings(check([path], load_config("default")))
    assert "DUP002" not in found and set(found["DUP003"]) == {2}


def _train_and_val(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(8)
    train = [example(rng) for _ in range(30)]
    val = [example(rng) for _ in range(8)]
    val[2] = json.loads(json.dumps(train[5]))  # exact leak
    near = json.loads(json.dumps(train[12]))
    near["messages"][-1]["content"] += " I hope this helps."
    val[6] = near  # near leak
    return write_jsonl(tmp_path / "train.jsonl", train), write_jsonl(tmp_path / "val.jsonl", val)


def test_leakage_api(tmp_path: Path) -> None:
    train, val = _train_and_val(tmp_path)
    report = check([train], load_config("default"), validation=[val])
    found = dup_findings(report, str(val))
    assert found["DUP004"] == {3: {"training_file": str(train), "training_line": 6, "other_split": "train"}}
    assert found["DUP005"][7]["training_line"] == 13
    assert set(found) == {"DUP004", "DUP005"}
    assert all(f.severity.name == "ERROR" for f in report.findings if f.code in ("DUP004", "DUP005"))
    assert not dup_findings(report, str(train))
    stats = report.datasets[1].stats["duplicates"]
    assert stats["leaked_exact"] == 1 and stats["leaked_near"] == 1


def test_leakage_cli_and_rule_pack(tmp_path: Path) -> None:
    train, val = _train_and_val(tmp_path)
    proc = run_cli("check", str(train), "--validation", str(val), "--format", "json", "--select", "DUP")
    assert proc.returncode == 1, proc.stderr
    lines = sorted((f["code"], f["line"]) for f in json.loads(proc.stdout)["findings"])
    assert lines == [("DUP004", 3), ("DUP005", 7)]
    pack = tmp_path / "pack.yaml"
    pack.write_text(yaml.safe_dump({"extends": "default", "validation": "val.jsonl"}))
    proc = run_cli("check", "train.jsonl", "--rules", str(pack), "--format", "json", "--select", "DUP", cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert [d["path"] for d in data["datasets"]] == ["train.jsonl", "val.jsonl"]
    assert sorted((f["code"], f["path"], f["line"]) for f in data["findings"]) == [
        ("DUP004", "val.jsonl", 3), ("DUP005", "val.jsonl", 7)]


def test_json_array_file_is_read_again_by_record(tmp_path: Path) -> None:
    records, truth = planted()
    path = tmp_path / "train.json"
    path.write_text(json.dumps(records), "utf-8")  # one line: every record is on line 1
    report = check([path], load_config("default"))
    codes = sorted(f.code for f in report.findings if f.code.startswith("DUP"))
    assert codes == ["DUP001", "DUP002", "DUP002", "DUP003"]


def test_changed_file_skips_verification(tmp_path: Path) -> None:
    records, _ = planted()
    path = write_jsonl(tmp_path / "train.jsonl", records)
    config = load_config("default")
    v = DuplicatesValidator(config.options("duplicates"), DatasetContext(str(path)))
    for r in list(read_records(path)):
        r.format = "openai-chat"
        list(v.check(r))
    write_jsonl(path, [records[0]] * len(records))
    codes = sorted(f.code for f in v.finish())
    assert codes == ["DUP001", "DUP006"]


def _order_clusters(records: list[dict[str, Any]], tmp_path: Path, name: str) -> set[frozenset[str]]:
    path = write_jsonl(tmp_path / name, records)
    report = check([path], load_config("default"))
    text = {i + 1: json.dumps(r, sort_keys=True) for i, r in enumerate(records)}
    clusters: dict[int, set[str]] = {}
    for f in report.findings:
        if f.code == "DUP002":
            clusters.setdefault(f.data["of"], {text[f.data["of"]]}).add(text[f.line])
    return {frozenset(c) for c in clusters.values()}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), order=st.randoms(use_true_random=False))
def test_clusters_do_not_depend_on_record_order(tmp_path: Path, seed: int, order: random.Random) -> None:
    rng = random.Random(seed)
    base = [example(rng) for _ in range(12)]
    records = list(base)
    for i in range(0, 12, 3):  # a near copy of every third example, some twice
        for tail in (" Thanks.", " Thank you!")[: 1 + i % 2]:
            copy = json.loads(json.dumps(base[i]))
            copy["messages"][-1]["content"] += tail
            records.append(copy)
    shuffled = list(records)
    order.shuffle(shuffled)
    one = _order_clusters(records, tmp_path, "a.jsonl")
    two = _order_clusters(shuffled, tmp_path, "b.jsonl")
    assert one == two
    assert len(one) == 4


def test_parallel_equals_sequential_with_duplicates_across_spans(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    rng = random.Random(11)
    records = [example(rng) for _ in range(1200)]
    for src, dst in ((5, 1190), (100, 700), (650, 1100)):
        records[dst] = json.loads(json.dumps(records[src]))
    for src, dst in ((7, 1150), (300, 900), (20, 610)):
        copy = json.loads(json.dumps(records[src]))
        copy["messages"][-1]["content"] += " Thanks."
        records[dst] = copy
    conflict = json.loads(json.dumps(records[40]))
    conflict["messages"][-1]["content"] = "No."
    records[1000] = conflict
    path = write_jsonl(tmp_path / "big.jsonl", records)
    config = load_config("default")
    one = check([path], config, jobs=1).to_dict()
    found = {(f["code"], f["line"]) for f in one["findings"] if f["code"].startswith("DUP")}
    assert found == {("DUP001", 1191), ("DUP001", 701), ("DUP001", 1101), ("DUP002", 1151), ("DUP002", 901),
                     ("DUP002", 611), ("DUP003", 1001)}
    for jobs in (2, 3):
        assert check([path], config, jobs=jobs).to_dict() == one


def test_memory_per_record_is_compact(tmp_path: Path) -> None:
    import tracemalloc

    rng = random.Random(12)

    def big(i: int) -> dict[str, Any]:  # about 1.5 KB of text per record
        return {"messages": [
            {"role": "user", "content": f"{i} " + " ".join(sentence(rng, 20) for _ in range(3))},
            {"role": "assistant", "content": " ".join(sentence(rng, 20) for _ in range(6))},
        ]}

    few = write_jsonl(tmp_path / "few.jsonl", [big(i) for i in range(1000)])
    many = write_jsonl(tmp_path / "many.jsonl", [big(i) for i in range(4000)])
    config = load_config("default")
    for name in config.registry:
        if name not in ("duplicates", "reader", "engine"):
            config.validators[name] = {"enabled": False}
    check([few], config)  # imports and one-off tables are not per-record memory
    peaks = []
    for path in (few, many):
        tracemalloc.start()
        report = check([path], config)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report.findings == []
    per_record = (peaks[1] - peaks[0]) / 3000
    assert per_record < 400, per_record  # hashes and band keys (~100 bytes), not the texts


def test_texts_over_the_sketch_limit_are_still_near_duplicates_and_memory_is_bounded(tmp_path: Path) -> None:
    """A reply of 1.5 MB is sketched on its first MiB (issue 19, memory per record): two that
    differ only after it are still found, and one that differs in its first MiB is not."""
    from dsqa.validators.duplicates.validator import SKETCH_MAX_BYTES

    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(5000)]
    body = " ".join(rng.choice(vocab) for _ in range(300_000))
    assert len(body) > SKETCH_MAX_BYTES * 1.2
    other = " ".join(rng.choice(vocab) for _ in range(300_000))

    def rec(reply: str) -> dict[str, Any]:
        return {"messages": [{"role": "user", "content": "Write the long report."}, {"role": "assistant", "content": reply}]}

    data = write_jsonl(tmp_path / "long.jsonl", [rec(body + " The end."), rec(body + " Fin."), rec(other)])
    report = check([data], load_config("default"))
    near = [(f.line, f.code) for f in report.findings if f.code in ("DUP001", "DUP002")]
    assert near == [(2, "DUP002")]


def test_sketching_a_huge_reply_takes_bounded_memory(tmp_path: Path) -> None:
    """A 20 MB reply, duplicates only: the sketch reads its first MiB, so the peak stays far
    below the ~70 bytes per word (about 280 MB here) that sketching all of it took."""
    import subprocess
    import sys

    rng = random.Random(3)
    reply = " ".join(rng.choice(("alpha", "beta", "gamma", "data", "model")) for _ in range(4_000_000))
    data = write_jsonl(tmp_path / "huge.jsonl", [{"messages": [
        {"role": "user", "content": "Go on."}, {"role": "assistant", "content": reply}]}])
    pack = tmp_path / "dup.yaml"
    off = ("content", "conversation", "tokens", "diversity", "sensitive", "schema", "contamination", "preference")
    pack.write_text("extends: default\nvalidators:\n" + "".join(f"  {v}: {{enabled: false}}\n" for v in off))
    script = (
        "import resource, sys\nfrom dsqa import check, load_config\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"check([{str(data)!r}], load_config({str(pack)!r}))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n"
    )
    grown_kb = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert grown_kb < 200_000, grown_kb
