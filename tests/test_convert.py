"""convert: real LLaMA-Factory files, every container, --map, rejects that reconcile, atomic output."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from dsqa import check, load_config
from dsqa.convert import convert_file
from dsqa.model import Severity
from helpers import run_cli, write_jsonl

REAL = Path("/work/shared/data/real/llamafactory")
SCHEMA_FAMILIES = ("RDR", "FMT", "SCH", "PRF")


def _jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _schema_errors(path: Path) -> list[str]:
    report = check([path], load_config("default"))
    return [f"{f.line}: {f.code} {f.message}" for f in report.findings
            if f.severity >= Severity.ERROR and f.code.startswith(SCHEMA_FAMILIES)]


@pytest.mark.parametrize(
    ("name", "records", "source", "target"),
    [
        ("alpaca_en_demo.json", 999, "alpaca", "openai-chat"),
        ("glaive_toolcall_en_demo.json", 300, "sharegpt", "openai-chat"),
        ("dpo_en_demo.json", 300, "sharegpt-preference", "openai-preference"),
        ("identity.json", 91, "alpaca", "openai-chat"),
    ],
)
def test_real_files_convert_completely_and_pass_the_check(tmp_path: Path, name: str, records: int, source: str, target: str) -> None:
    out = tmp_path / "out.jsonl"
    result = convert_file(REAL / name, out)
    assert (result.read, result.written, result.rejected) == (records, records, 0)
    assert (result.source, result.target) == (source, target)
    assert result.rejects_path is None and not (tmp_path / "out.rejects.jsonl").exists()
    assert len(_jsonl(out)) == records
    assert _schema_errors(out) == []


def test_cli_prints_counts_and_the_check(tmp_path: Path) -> None:
    out = tmp_path / "glaive.jsonl"
    proc = run_cli("convert", str(REAL / "glaive_toolcall_en_demo.json"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "read 300, wrote 300, rejected 0 (sharegpt -> openai-chat)"
    assert lines[1].startswith(f"check of {out} (default pack): passed: 0 errors")


def test_alpaca_round_trip_gives_back_the_same_records(tmp_path: Path) -> None:
    chat, back = tmp_path / "chat.jsonl", tmp_path / "back.jsonl"
    convert_file(REAL / "alpaca_en_demo.json", chat)
    result = convert_file(chat, back, target="alpaca")
    assert (result.read, result.written, result.rejected) == (999, 999, 0)
    original = json.loads((REAL / "alpaca_en_demo.json").read_text(encoding="utf-8"))
    assert _jsonl(back) == original
    # an instruction with an input keeps the prompt text LLaMA-Factory builds: instruction \n input
    first_with_input = next(i for i, r in enumerate(original) if r["input"])
    user = _jsonl(chat)[first_with_input]["messages"][0]
    assert "".join(p["text"] for p in user["content"]) == original[first_with_input]["instruction"] + "\n" + original[first_with_input]["input"]


def test_tool_calls_field_by_field_on_real_records(tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    convert_file(REAL / "glaive_toolcall_en_demo.json", out)
    original = json.loads((REAL / "glaive_toolcall_en_demo.json").read_text(encoding="utf-8"))
    converted = _jsonl(out)
    with_call = [i for i, r in enumerate(original) if any(t["from"] == "function_call" for t in r["conversations"])]
    assert len(with_call) == 153  # 211 calls in all
    for i in with_call:
        src, dst = original[i], converted[i]
        assert dst["tools"] == [{"type": "function", "function": f} for f in json.loads(src["tools"])]
        assert len(dst["messages"]) == len(src["conversations"])
        calls = 0
        for turn, msg in zip(src["conversations"], dst["messages"]):
            if turn["from"] == "function_call":
                calls += 1
                call = json.loads(turn["value"])
                assert msg["role"] == "assistant" and "content" not in msg
                (tc,) = msg["tool_calls"]
                assert tc["id"] == f"call_{calls}" and tc["type"] == "function"
                assert tc["function"]["name"] == call["name"]
                assert json.loads(tc["function"]["arguments"]) == call["arguments"]
            elif turn["from"] == "observation":
                assert msg == {"role": "tool", "tool_call_id": f"call_{calls}", "content": turn["value"]}
            else:
                assert msg == {"role": {"human": "user", "gpt": "assistant"}[turn["from"]], "content": turn["value"]}
    no_tools = next(i for i, r in enumerate(original) if r["tools"] in ("", "[]"))
    assert "tools" not in converted[no_tools]


def test_chat_to_sharegpt_and_back_preserves_messages(tmp_path: Path) -> None:
    chat, sg, back = tmp_path / "chat.jsonl", tmp_path / "sg.jsonl", tmp_path / "back.jsonl"
    convert_file(REAL / "glaive_toolcall_en_demo.json", chat)
    assert convert_file(chat, sg, target="sharegpt").rejected == 0
    assert convert_file(sg, back).source == "sharegpt"
    assert back.read_bytes() == chat.read_bytes()
    original = json.loads((REAL / "glaive_toolcall_en_demo.json").read_text(encoding="utf-8"))
    for src, out in zip(original, _jsonl(sg)):
        assert [t["from"] for t in out["conversations"]] == [t["from"] for t in src["conversations"]]
        assert json.loads(out.get("tools", "[]")) == json.loads(src["tools"] or "[]")


def test_sharegpt_preference_round_trip(tmp_path: Path) -> None:
    pref, back = tmp_path / "pref.jsonl", tmp_path / "back.jsonl"
    convert_file(REAL / "dpo_en_demo.json", pref)
    first = _jsonl(pref)[0]
    assert set(first) == {"input", "preferred_output", "non_preferred_output"}
    assert first["preferred_output"][0]["role"] == "assistant"
    convert_file(pref, back, target="sharegpt")
    assert _jsonl(back) == json.loads((REAL / "dpo_en_demo.json").read_text(encoding="utf-8"))


def test_broken_records_go_to_rejects_and_counts_reconcile(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    good = {"instruction": "Say hi", "input": "", "output": "Hi"}
    lines = [
        json.dumps(good),
        '{"instruction": "broken", ',  # 2: invalid JSON
        json.dumps(["not", "an", "object"]),  # 3
        json.dumps({"instruction": "no answer", "input": ""}),  # 4: no output
        "",  # 5: a blank line is not a record
        json.dumps({"instruction": 7, "output": "x"}),  # 6: instruction not text
        json.dumps({**good, "history": [["only one"]]}),  # 7: bad history
        json.dumps({**good, "system": "Be brief.", "history": [["Hello", "Hi there"]]}),  # 8: fine
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    proc = run_cli("convert", str(src), "-o", str(out), "--rejects", str(rejects))
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == "read 7, wrote 2, rejected 5 (alpaca -> openai-chat)"
    entries = _jsonl(rejects)
    assert [e["line"] for e in entries] == [2, 3, 4, 6, 7]
    reasons = [e["reason"] for e in entries]
    assert reasons[0].startswith("RDR001 invalid JSON") and entries[0]["text"] == '{"instruction": "broken", '
    assert reasons[1].startswith("RDR006") and reasons[2] == "output is missing"
    assert reasons[3] == "instruction is a number, not a string"
    assert entries[2]["record"] == {"instruction": "no answer", "input": ""}
    assert _jsonl(out)[1]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"},
        {"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi"},
    ]


def test_sharegpt_records_that_cannot_convert(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "sg.jsonl", [
        {"conversations": [{"from": "human", "value": "a"}, {"from": "bot", "value": "b"}]},
        {"conversations": [{"from": "human", "value": "a"}, {"from": "observation", "value": "{}"}]},
        {"conversations": [{"from": "human", "value": "a"}, {"from": "function_call", "value": "{name: x}"}]},
        {"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}], "tools": "[{\"nme\": 1}]"},
    ])
    result = convert_file(src, tmp_path / "out.jsonl")
    assert (result.read, result.written, result.rejected) == (4, 0, 4)
    reasons = [e["reason"] for e in _jsonl(tmp_path / "out.rejects.jsonl")]
    assert reasons[0] == "conversations[1] has unknown role 'bot'"
    assert reasons[1] == "conversations[1] is an observation with no function call to answer"
    assert reasons[2].startswith("conversations[1] is not JSON")
    assert reasons[3] == "tools[0] has keys a function definition does not have: nme"


def test_one_output_never_mixes_chat_and_preference(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [
        {"instruction": "Hi", "input": "", "output": "Hello"},
        {"instruction": "Hi", "input": "", "chosen": "Hello", "rejected": "Go away"},
    ])
    result = convert_file(src, tmp_path / "out.jsonl")
    assert (result.target, result.written, result.rejected) == ("openai-chat", 1, 1)
    (entry,) = _jsonl(tmp_path / "out.rejects.jsonl")
    assert entry["line"] == 2 and entry["reason"] == "a preference pair is not a chat example; use --to openai-preference"
    result = convert_file(src, tmp_path / "pref.jsonl", target="openai-preference")
    assert (result.written, result.rejected) == (1, 1)
    assert _jsonl(tmp_path / "pref.jsonl")[0]["non_preferred_output"] == [{"role": "assistant", "content": "Go away"}]


def test_targets_refuse_what_they_cannot_hold(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "chat.jsonl", [
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0},
                      {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]},
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
    ])
    result = convert_file(src, tmp_path / "sg.jsonl", target="sharegpt")
    assert (result.written, result.rejected) == (1, 1)
    (entry,) = _jsonl(tmp_path / "sg.rejects.jsonl")
    assert entry["line"] == 1 and entry["reason"] == "messages[1] has weight, which sharegpt cannot hold"
    result = convert_file(REAL / "glaive_toolcall_en_demo.json", tmp_path / "a.jsonl", target="alpaca")
    assert result.rejected > 0 and result.read == result.written + result.rejected
    assert {e["reason"] for e in _jsonl(tmp_path / "a.rejects.jsonl")} >= {"alpaca cannot hold tools; use --to sharegpt"}


def test_csv_tsv_with_map_and_json_cells(tmp_path: Path) -> None:
    src = tmp_path / "qa.csv"
    with open(src, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["question", "context", "answer"])
        w.writerow(["What is 2+2?", "", "4"])
        w.writerow(["Summarise", "A long,\nmulti-line text", "Short."])
        w.writerow(["Too", "many", "fields", "here"])
    out = tmp_path / "out.jsonl"
    proc = run_cli("convert", str(src), "-o", str(out), "--map", "instruction=question,input=context", "--map", "output=answer")
    assert proc.stdout.splitlines()[0] == "read 3, wrote 2, rejected 1 (alpaca -> openai-chat)"
    records = _jsonl(out)
    assert records[0]["messages"] == [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]
    assert records[1]["messages"][0]["content"][1]["text"] == "\nA long,\nmulti-line text"
    (entry,) = _jsonl(tmp_path / "out.rejects.jsonl")
    assert entry["line"] == 5 and entry["reason"] == "row has 4 fields, the header has 3"

    tsv = tmp_path / "conv.tsv"
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    tsv.write_text("messages\n" + json.dumps(conv) + "\n", encoding="utf-8")
    result = convert_file(tsv, tmp_path / "tsv.jsonl", mapping={
        "conversations": "messages", "role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
    })
    assert (result.source, result.written) == ("sharegpt", 1)
    assert _jsonl(tmp_path / "tsv.jsonl") == [{"messages": conv}]


def test_parquet_and_saved_hf_dataset(tmp_path: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"prompt": f"Question {i}?", "completion": f"Answer {i}.", "extra": None} for i in range(2500)
    ]
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "pc.parquet", row_group_size=1000)
    result = convert_file(tmp_path / "pc.parquet", tmp_path / "pc.jsonl", mapping={"meta": "extra"})
    assert (result.source, result.read, result.written) == ("prompt-completion", 2500, 2500)
    assert _jsonl(tmp_path / "pc.jsonl")[2499]["messages"][1] == {"role": "assistant", "content": "Answer 2499."}

    convs = [
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}], "tools": ""},
        {"conversations": [{"from": "human", "value": "Weather?"}, {"from": "function_call", "value": '{"name": "w", "arguments": {}}'},
                           {"from": "observation", "value": "sunny"}, {"from": "gpt", "value": "Sunny."}],
         "tools": '[{"name": "w", "description": "weather", "parameters": {"type": "object", "properties": {}}}]'},
    ]
    convs += [
        {"conversations": [{"from": "human", "value": f"Count to {i}"}, {"from": "gpt", "value": " ".join(map(str, range(1, i + 1)))}], "tools": ""}
        for i in range(1, 11)
    ]
    datasets.Dataset.from_list(convs).save_to_disk(str(tmp_path / "saved"))
    out = tmp_path / "hf.jsonl"
    proc = run_cli("convert", str(tmp_path / "saved"), "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("read 12, wrote 12, rejected 0 (sharegpt -> openai-chat)")
    second = _jsonl(out)[1]
    assert second["messages"][1]["tool_calls"][0]["function"] == {"name": "w", "arguments": "{}"}
    assert second["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


def test_trl_hh_and_prompt_completion_sources(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "pref.jsonl", [
        {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Joke?\n\nAssistant: A pun.",
         "rejected": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Joke?\n\nAssistant: No."},
        {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."},
        {"prompt": [{"role": "user", "content": "2+2?"}], "chosen": [{"role": "assistant", "content": "4"}],
         "rejected": [{"role": "assistant", "content": "5"}]},
        {"chosen": "\n\nHuman: A\n\nAssistant: B", "rejected": "\n\nHuman: C\n\nAssistant: D"},
    ])
    result = convert_file(src, tmp_path / "out.jsonl")
    assert (result.source, result.target, result.written, result.rejected) == ("trl-preference", "openai-preference", 3, 1)
    first = _jsonl(tmp_path / "out.jsonl")[0]
    assert first["input"]["messages"] == [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Joke?"},
    ]
    assert first["preferred_output"] == [{"role": "assistant", "content": "A pun."}]
    assert _schema_errors(tmp_path / "out.jsonl") == []
    pc = write_jsonl(tmp_path / "pc.jsonl", [{"prompt": "Hi", "completion": " there"}])
    convert_file(pc, tmp_path / "pc_out.jsonl")
    assert _jsonl(tmp_path / "pc_out.jsonl") == [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " there"}]}]


def test_a_failure_midway_leaves_no_output(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    good = "".join(f"Question number {i}?,Answer {i}.\n" for i in range(5000)).encode()
    src.write_bytes(b"instruction,output\n" + good + b"Caf\xe9?,Oui.\n")
    out = tmp_path / "out.jsonl"
    out.write_text("old content\n", encoding="utf-8")
    proc = run_cli("convert", str(src), "-o", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"dsqa: error: {src}: line 5002: invalid UTF-8 at byte 4 (invalid continuation byte); save the file as UTF-8"
    assert out.read_text(encoding="utf-8") == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "out.jsonl"]


def test_interrupted_run_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dsqa.convert import pipeline
    from dsqa.convert.containers import Item

    def items(*_: Any) -> Any:
        for i in range(100):
            yield Item(i + 1, {"prompt": "p", "completion": "c"})
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "read_items", items)
    with pytest.raises(KeyboardInterrupt):
        convert_file(tmp_path / "in.jsonl", tmp_path / "out.jsonl", rejects=tmp_path / "rej.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    proc = run_cli("convert", str(tmp_path / "missing.json"), "-o", str(tmp_path / "o.jsonl"))
    assert proc.returncode == 2 and proc.stderr.strip() == f"dsqa: error: {tmp_path / 'missing.json'}: cannot read: No such file or directory"
    src = write_jsonl(tmp_path / "a.jsonl", [{"prompt": "a", "completion": "b"}])
    proc = run_cli("convert", str(src), "-o", str(tmp_path / "o.jsonl"), "--map", "nonsense")
    assert proc.returncode == 2 and "expected FIELD=COLUMN" in proc.stderr
    assert not (tmp_path / "o.jsonl").exists()
    proc = run_cli("convert", str(src), "-o", str(tmp_path / "no" / "o.jsonl"))
    assert (proc.returncode, proc.stderr) == (2, f"dsqa: error: {tmp_path / 'no' / 'o.jsonl'}: cannot write: No such file or directory\n")


def test_local_file_through_the_datasets_library(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "pc.jsonl", [{"prompt": f"Q{i}", "completion": f"A{i}"} for i in range(3)])
    via_hf, plain = tmp_path / "hf.jsonl", tmp_path / "plain.jsonl"
    result = convert_file(src, via_hf, container="hf")
    assert (result.read, result.written, result.source) == (3, 3, "prompt-completion")
    convert_file(src, plain)
    assert via_hf.read_bytes() == plain.read_bytes()


def test_chat_with_tools_survives_columnar_containers(tmp_path: Path) -> None:
    """Arrow gives every row every field of every other row as null; those nulls are dropped."""
    import datasets

    chat = tmp_path / "chat.jsonl"
    convert_file(REAL / "glaive_toolcall_en_demo.json", chat)
    rows = _jsonl(chat)[:30]
    ds = datasets.Dataset.from_list(rows)
    ds.save_to_disk(str(tmp_path / "saved"))
    ds.to_parquet(str(tmp_path / "chat.parquet"))
    for src in (tmp_path / "saved", tmp_path / "chat.parquet"):
        out = tmp_path / f"{src.name}.jsonl"
        result = convert_file(src, out)
        assert (result.read, result.written, result.source) == (30, 30, "openai-chat")
        assert _jsonl(out) == rows


def test_converters_stay_light() -> None:
    """The convert package is usable without click, and datasets/pyarrow load only when needed."""
    import subprocess
    import sys

    code = (
        "import sys, dsqa.convert, dsqa.convert.clean, dsqa.convert.split, dsqa.cli;"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'datasets', 'pyarrow', 'openai', 'pandas'});"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""
    code = "import sys, dsqa.convert, dsqa.convert.clean, dsqa.convert.split; print('click' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
