"""`dsqa eval` with the real openai SDK over real HTTP to a local chat server, after a real submit into a real ledger."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fake_chat import JUDGE, FakeChat
from tests.helpers import FakeAPIs, run_in_process

KEY = "sk-test-EVAL-SECRET-0123456789"
BASE = "gpt-4.1-mini-2025-04-14"
ALPACA = Path("/work/shared/data/real/llamafactory/alpaca_en_demo.json")
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
JSON_RECORD = {"messages": [{"role": "system", "content": "Reply with JSON only."},
                            {"role": "user", "content": "Extract the city and year: Ada moved to Paris in 1999."},
                            {"role": "assistant", "content": "{\"city\": \"Paris\", \"year\": 1999}"}]}
TOOL_RECORD = {"messages": [{"role": "user", "content": "What's the weather in Oslo?"},
                            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                                                  "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]}],
               "tools": TOOLS}


def _alpaca() -> list[dict[str, Any]]:
    """Real instruction data (LLaMA-Factory's alpaca demo) as chat records: short answers, no extra input."""
    rows = [r for r in json.loads(ALPACA.read_text("utf-8")) if len(r["output"]) < 200 and not r["input"]]
    return [{"messages": [{"role": "user", "content": r["instruction"]}, {"role": "assistant", "content": r["output"]}]} for r in rows]


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def _dsqa(*args: str) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, secret=KEY)


@dataclass
class Loop:
    """A submitted and finished job, its files, and the chat server the eval talks to."""

    model: str
    job: str
    held: Path
    train: Path
    chat: FakeChat
    tmp: Path

    def eval(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return _dsqa("eval", "--model", self.model, "--against", BASE, "--data", str(self.held), *extra)


@pytest.fixture
def loop(apis: FakeAPIs, tmp_path: Path) -> Loop:
    real = _alpaca()
    held = [*real[:10], JSON_RECORD, TOOL_RECORD]
    heldout = _write(tmp_path / "heldout.jsonl", held)
    # the fourth held-out example leaks into the training file
    train = _write(tmp_path / "train.jsonl", [*real[20:50], held[3]])
    api = apis.openai(KEY)
    assert _dsqa("submit", str(train), "--model", BASE, "--watch", "--interval", "0").returncode == 0
    (job,) = api.state.jobs.values()
    apis.stop(api)  # the eval talks to the chat server only
    answers = {r["messages"][-2]["content"]: r["messages"][-1] for r in held}
    chat = apis.chat(KEY, answers)
    return Loop(job["fine_tuned_model"], job["id"], heldout, train, chat, tmp_path)


def test_fine_tuned_beats_base_and_a_rerun_sends_nothing(loop: Loop) -> None:
    first = loop.eval("-f", "json")
    assert first.returncode == 0, first.stderr
    assert len(loop.chat.requests) == 24 and loop.chat.by_model[loop.model] == 12 and loop.chat.by_model[BASE] == 12
    assert "24 requests to send (0 answered from the ledger)" in first.stderr and "estimated cost at most $0.0" in first.stderr
    sent = loop.chat.requests[0]
    assert sent["temperature"] == 0 and sent["messages"][-1]["role"] == "user" and all(m["role"] != "assistant" for m in sent["messages"])
    assert next(r for r in loop.chat.requests if r["messages"][-1]["content"] == "What's the weather in Oslo?")["tools"] == TOOLS
    report = json.loads(first.stdout)
    assert report["requests"] == {"sent": 24, "cached": 0}
    ft, base = report["metrics"]["ft"], report["metrics"]["base"]
    assert ft["exact"]["mean"] == 1.0 and base["exact"]["mean"] == 0.0
    assert ft["valid"]["n"] == 2 and ft["fields"]["mean"] == 1.0 and base["valid"]["mean"] == 0.0 and base["fields"]["mean"] == 0.0
    assert 0 < base["similarity"]["low"] <= base["similarity"]["mean"] <= base["similarity"]["high"] < 0.6
    assert report["comparison"]["wins"] == 12 and report["comparison"]["ties"] == 0 and report["comparison"]["losses"] == 0
    assert [d["line"] for d in report["largest_differences"][:2]] == [11, 12]
    assert report["leaked_lines"] == [4]
    assert any(g.startswith("leakage: 1 of 12 held-out examples is in the training file") and "(line 4)" in g for g in report["guards"])
    # the rerun is answered from the ledger: no request, the same numbers
    again = loop.eval("-f", "json")
    assert again.returncode == 0 and len(loop.chat.requests) == 24
    assert "nothing to send: all 24 replies are in the ledger" in again.stderr
    second = json.loads(again.stdout)
    assert second["requests"] == {"sent": 0, "cached": 24}
    assert second["metrics"] == report["metrics"] and second["comparison"] == report["comparison"]
    with sqlite3.connect(loop.tmp / "ledger.sqlite") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT model) FROM eval_replies").fetchone() == (24, 2)
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
    assert KEY.encode() not in b"".join(p.read_bytes() for p in loop.tmp.glob("ledger.sqlite*"))


def test_text_markdown_and_html_reports(loop: Loop) -> None:
    text = loop.eval().stdout
    assert f"  FT   {loop.model}\n  BASE {BASE}\n" in text
    assert "FT against BASE (score): 12 wins, 0 ties, 0 losses; mean difference +0." in text
    assert "exact match (normalised)" in text and "1.000 [1.000, 1.000]" in text and "0.000 [0.000, 0.000]" in text
    assert "where the models differ most:" in text and "    reference: get_weather({\"city\": \"Oslo\"})" in text
    assert "guard: held-out check passed: 0 errors, 0 warnings, 0 info" in text
    md = loop.eval("-f", "markdown").stdout
    assert md.startswith("## dsqa eval: ") and "| metric | FT mean [95% CI] | BASE mean [95% CI] |" in md
    assert "**FT against BASE:** 12 wins, 0 ties, 0 losses" in md
    out = loop.tmp / "eval.html"
    proc = loop.eval("-f", "html", "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == "" and f"eval report written to {out}" in proc.stderr
    page = out.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page and "Where they differ most" in page
    assert "<td>{&quot;city&quot;: &quot;Paris&quot;, &quot;year&quot;: 1999}</td>" in page and "<script" not in page
    assert len(loop.chat.requests) == 24  # three formats, one set of requests


def test_judge_grades_are_labelled_as_a_models_judgement(loop: Loop) -> None:
    proc = loop.eval("--judge", JUDGE, "--price", "0.8,3.2", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["judge"] == JUDGE and loop.chat.by_model[JUDGE] == 24
    assert report["metrics"]["ft"]["judge"]["mean"] == 1.0 and report["metrics"]["base"]["judge"]["mean"] == 0.25
    assert f"{JUDGE}'s judgement (1-5 as 0-1; a model's opinion)" in loop.eval("--judge", JUDGE, "--price", "0.8,3.2").stdout
    assert loop.chat.by_model[JUDGE] == 24  # the judge's grades are cached too


def test_cost_gate_refuses_before_anything_is_sent(loop: Loop) -> None:
    proc = loop.eval("--max-cost", "0.000001")
    assert proc.returncode == 1 and loop.chat.requests == []
    assert "not sent: the estimate $0.0" in proc.stderr and "above --max-cost $0.00" in proc.stderr
    unpriced = _dsqa("eval", "--model", "meta-llama/Llama-3-8b-chat-hf-ft", "--data", str(loop.held))
    assert unpriced.returncode == 1 and loop.chat.requests == []
    assert "cost cannot be estimated without a price for meta-llama/Llama-3-8b-chat-hf-ft" in unpriced.stderr
    assert loop.eval("--max-cost", "0.000001", "--yes").returncode == 0 and len(loop.chat.requests) == 24


def test_training_file_is_refused_unless_allowed(loop: Loop) -> None:
    proc = _dsqa("eval", "--model", loop.model, "--data", str(loop.train))
    assert proc.returncode == 1 and loop.chat.requests == []
    assert f"is the training file of job {loop.job}" in proc.stderr and "--allow-train" in proc.stderr
    allowed = _dsqa("eval", "--model", loop.model, "--data", str(loop.train), "--allow-train", "-f", "json")
    assert allowed.returncode == 0, allowed.stderr
    assert any("(--allow-train)" in g for g in json.loads(allowed.stdout)["guards"])


def test_a_held_out_file_that_fails_its_check_is_refused(loop: Loop) -> None:
    bad = loop.tmp / "bad.jsonl"
    bad.write_text(loop.held.read_text("utf-8") + '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "weight": 7}]}\n')
    proc = _dsqa("eval", "--model", loop.model, "--data", str(bad))
    assert proc.returncode == 1 and loop.chat.requests == []
    assert "SCH009" in proc.stderr and f"not sent: the held-out file {bad} fails its check (1 error)" in proc.stderr
    assert "tokens per example" not in proc.stderr  # the findings, not the statistics
    unanswered = loop.tmp / "unanswered.jsonl"
    unanswered.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    proc = _dsqa("eval", "--model", loop.model, "--data", str(unanswered))
    assert proc.returncode == 1 and "SCH010" in proc.stderr and loop.chat.requests == []
    plain = loop.tmp / "plain.jsonl"
    plain.write_text('{"messages": [{"role": "assistant", "content": "hi"}]}\n')
    proc = _dsqa("eval", "--model", loop.model, "--data", str(plain))
    assert proc.returncode == 2 and proc.stderr.strip() == f"dsqa: error: {plain}:1: no assistant reply after a prompt to compare the models against"


def test_rate_limits_are_retried_and_a_failure_keeps_what_was_received(loop: Loop) -> None:
    loop.chat.faults.append((429, None))
    assert loop.eval().returncode == 0
    assert len(loop.chat.requests) == 25  # one retried request
    fresh = loop.tmp / "fresh.jsonl"
    _write(fresh, _alpaca()[60:66])
    # the base model fails on every try (the SDK tries 4 times): the fine-tuned replies are kept
    loop.chat.faults.extend([(500, BASE)] * 40)
    proc = _dsqa("eval", "--model", loop.model, "--against", BASE, "--data", str(fresh), "--concurrency", "2")
    assert proc.returncode == 2 and "HTTP 500" in proc.stderr and "6 of 12 replies were received and kept in the ledger" in proc.stderr
    loop.chat.faults.clear()
    before = len(loop.chat.requests)
    again = _dsqa("eval", "--model", loop.model, "--against", BASE, "--data", str(fresh), "-f", "json")
    assert again.returncode == 0 and len(loop.chat.requests) - before == 6
    assert json.loads(again.stdout)["requests"] == {"sent": 6, "cached": 6}


def test_together_backend_uses_its_key_and_base_url(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    missing = _dsqa("eval", "--model", "x", "--data", str(loop.held), "--backend", "together")
    assert missing.returncode == 2 and "no API key: set TOGETHER_API_KEY" in missing.stderr
    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    monkeypatch.setenv("TOGETHER_BASE_URL", loop.chat.base_url.removesuffix("/v1"))
    ft = "me/Meta-Llama-3.1-8B-Instruct-Reference-demo-1a2b3c"
    loop.chat.fine_tuned.add(ft)
    proc = _dsqa("eval", "--model", ft, "--against", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "--data", str(loop.held),
                 "--backend", "together", "--price", "0.2,0.2", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["backend"] == "together" and report["comparison"]["wins"] == 12
    assert any(g.startswith("leakage not checked: the ledger knows no training file") for g in report["guards"])
    assert set(loop.chat.paths) == {"/v1/chat/completions"}


def test_azure_backend_sends_to_the_deployment(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", loop.chat.azure_endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    loop.chat.fine_tuned.add("my-ft-deployment")
    proc = _dsqa("eval", "--model", "my-ft-deployment", "--against", "base-deployment", "--data", str(loop.held), "--backend", "azure",
                 "--price", "1,1", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["comparison"]["wins"] == 12
    assert set(loop.chat.paths) == {"/openai/deployments/my-ft-deployment/chat/completions", "/openai/deployments/base-deployment/chat/completions"}


def test_scoring_of_text_json_and_tool_call_references() -> None:
    from dsqa.finetune.evaluate import Example, bootstrap, judge_score, normalise, score

    text = Example(1, [{"role": "user", "content": "q"}], {"role": "assistant", "content": "The answer is 42."})
    assert normalise("  The  Answer is 42. ") == "the answer is 42"
    assert score(text, {"content": "the answer is 42"}) == {"exact": 1.0, "similarity": 1.0}
    assert score(text, {"content": "The answer is 41."})["exact"] == 0.0
    js = Example(2, [{"role": "user", "content": "q"}], {"role": "assistant", "content": '{"a": 1, "b": {"c": [1, 2]}}'})
    half = score(js, {"content": '```json\n{"a": 1, "b": {"c": [1, 3]}}\n```'})
    assert half["valid"] == 1.0 and half["fields"] == pytest.approx(2 / 3)
    broken = score(js, {"content": '{"a": 1,'})
    assert broken["valid"] == 0.0 and broken["fields"] == 0.0
    call = {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": '{"x": 1, "y": 2}'}}]}
    tool = Example(3, [{"role": "user", "content": "q"}], call)
    other = {"tool_calls": [{"type": "function", "function": {"name": "f", "arguments": '{"x": 1, "y": 3}'}}]}
    assert score(tool, other)["fields"] == pytest.approx(2 / 3) and score(tool, other)["valid"] == 1.0
    assert score(tool, {"content": "I would call f"})["valid"] == 0.0
    assert bootstrap([0.0, 1.0] * 10) == bootstrap([0.0, 1.0] * 10)
    mean, low, high = bootstrap([0.0, 1.0] * 10)
    assert mean == 0.5 and 0.25 <= low < 0.5 < high <= 0.75
    assert judge_score({"content": '{"score": 4, "reason": "ok"}'}) == 0.75 and judge_score({"content": "no idea"}) is None


def test_one_model_alone_shows_its_lowest_scoring_examples(loop: Loop) -> None:
    alone = _dsqa("eval", "--model", BASE, "--data", str(loop.held), "--backend", "openai")
    assert alone.returncode == 0, alone.stderr
    assert "BASE" not in alone.stdout and "FT against BASE" not in alone.stdout
    assert "lowest-scoring examples:" in alone.stdout and alone.stdout.count("    reference: ") == 5
    perfect = json.loads(_dsqa("eval", "--model", loop.model, "--data", str(loop.held), "-f", "json").stdout)
    assert perfect["comparison"] is None and perfect["largest_differences"] == [] and list(perfect["metrics"]) == ["ft"]
    assert loop.chat.by_model == {BASE: 12, loop.model: 12}


def test_a_version_1_ledger_is_migrated_and_keeps_its_jobs(loop: Loop) -> None:
    path = loop.tmp / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE eval_replies")
        db.execute("PRAGMA user_version=1")
    proc = loop.eval("-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["leaked_lines"] == [4]  # the job and its training file are still known
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM eval_replies").fetchone() == (24,)
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone() == (1,)


def test_a_rejected_key_is_one_line_without_the_key(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "-wrong")
    proc = _dsqa("eval", "--model", loop.model, "--data", str(loop.held))
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].endswith("the API key was rejected (401); check OPENAI_API_KEY")
    assert KEY not in proc.stderr and len(loop.chat.requests) < 12  # the rest were not sent


def test_a_json_array_held_out_file_is_read_by_record(loop: Loop) -> None:
    from dsqa.finetune.evaluate import load_examples

    array = loop.tmp / "heldout.json"
    array.write_text(json.dumps([json.loads(line) for line in loop.held.read_text("utf-8").splitlines()], indent=2), "utf-8")
    examples = load_examples(array)
    assert [e.line for e in examples] == list(range(1, 13)) and examples[11].tools == TOOLS
    report = json.loads(_dsqa("eval", "--model", loop.model, "--against", BASE, "--data", str(array), "-f", "json").stdout)
    assert report["comparison"]["wins"] == 12 and len(loop.chat.requests) == 24


def test_ties_and_losses_are_counted_and_shown(loop: Loop) -> None:
    records = [json.loads(line) for line in loop.held.read_text("utf-8").splitlines()]
    prompts = [r["messages"][-2]["content"] for r in records]
    del loop.chat.answers[prompts[0]]  # nobody knows this one: a tie
    loop.chat.swapped.add(prompts[1])  # only the base knows this one: a loss
    report = json.loads(loop.eval("-f", "json").stdout)
    assert {k: report["comparison"][k] for k in ("wins", "ties", "losses")} == {"wins": 10, "ties": 1, "losses": 1}
    assert 1 not in [d["line"] for d in report["largest_differences"]]  # a tie is not a difference
    text = loop.eval().stdout
    assert "FT against BASE (score): 10 wins, 1 tie, 1 loss; mean difference +0." in text


def test_an_unknown_base_model_stops_before_any_request(loop: Loop) -> None:
    proc = _dsqa("eval", "--model", loop.model, "--against", "gpt-5-mini", "--data", str(loop.held))
    assert proc.returncode == 2 and loop.chat.requests == []
    assert proc.stderr.strip().splitlines()[-1].startswith("dsqa: error: unknown target model 'gpt-5-mini' for backend openai")
    typo = _dsqa("eval", "--model", "ft:gpt-4.1-mini-2025-04-14:acme::x1", "--against", "GPT-4.1-MINI-2025-04-14", "--data", str(loop.held), "--max-cost", "0.000001")
    assert typo.returncode == 1 and "not sent: the estimate" in typo.stderr  # case-insensitive names resolve
