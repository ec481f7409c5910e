"""Near-duplicates, conflicts and leakage compare what people wrote: not image URLs, tool definitions or tool-call JSON."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from dsqa import check, load_config
from dsqa.validators.duplicates.similar import similarity
from dsqa.validators.duplicates.texts import _Normaliser, digests, texts_of
from helpers import run_cli, write_jsonl

NORM = _Normaliser(False)
CHAT = "openai-chat"

# -- 36 questions about 36 charts, all under one long storage prefix ---------------------------

CHARTS = "https://storage.googleapis.com/acme-analytics-reports/dashboards/2024/quarterly-review/exports/charts/"
METRICS = ["revenue", "profit margin", "headcount", "churn rate", "average order value", "website traffic",
           "customer satisfaction", "inventory level", "marketing spend", "support tickets", "shipping time", "return rate"]
PERIODS = ["in March 2023", "in the third quarter", "at the end of 2022"]


def chart_question(metric: str, period: str, url: str, answer: str) -> dict[str, Any]:
    return {"messages": [
        {"role": "system", "content": "You are a data analyst. Answer questions about the chart in one sentence."},
        {"role": "user", "content": [{"type": "text", "text": f"What was the {metric} {period} according to this chart?"},
                                     {"type": "image_url", "image_url": {"url": url, "detail": "high"}}]},
        {"role": "assistant", "content": answer}]}


def charts() -> list[dict[str, Any]]:
    out = []
    for i in range(36):
        metric, period = METRICS[i % 12], PERIODS[i // 12]
        url = f"{CHARTS}{metric.replace(' ', '_')}_{i // 12}.png"
        out.append(chart_question(metric, period, url, f"The {metric} {period} was {(i * 37) % 90 + 10} according to the chart."))
    return out


def dup(report: Any) -> list[tuple[str, int | None]]:
    return sorted((f.code, f.line) for f in report.findings if f.code.startswith("DUP"))


def test_questions_about_different_charts_under_one_url_prefix_are_not_near_duplicates(tmp_path: Path) -> None:
    records = charts()
    # what made them one cluster of 36: the URL text, not the questions
    exact = [" ".join(texts_of(r, CHAT, "conversation", NORM).exact[1:-1]) for r in records]
    assert similarity(exact[0], exact[1]) >= 0.9
    scope = [texts_of(r, CHAT, "conversation", NORM).scope for r in records]
    assert max(similarity(scope[0], s) for s in scope[1:]) < 0.9
    path = write_jsonl(tmp_path / "charts.jsonl", records)
    report = check([path], load_config("default"))
    assert dup(report) == []
    assert report.datasets[0].stats["duplicates"]["clusters"] == 0


def test_the_same_chart_question_asked_again_is_still_a_near_duplicate(tmp_path: Path) -> None:
    records = charts()
    again = json.loads(json.dumps(records[4]))
    again["messages"][-1]["content"] += " Thanks for asking."
    other_chart = json.loads(json.dumps(records[7]))
    other_chart["messages"][1]["content"][1]["image_url"]["url"] = CHARTS + "inventory_level_9.png"
    other_chart["messages"][-1]["content"] += " Thanks for asking."
    path = write_jsonl(tmp_path / "charts.jsonl", [*records, again, other_chart, records[20]])
    report = check([path], load_config("default"))
    # the same image and question: a near copy and an exact copy; the same words about another chart: neither
    assert dup(report) == [("DUP001", 39), ("DUP002", 37)]
    near = next(f for f in report.findings if f.code == "DUP002")
    assert near.data["of"] == 5


def _data_url(media: str, payload: bytes) -> str:
    return f"data:{media};base64,{base64.b64encode(payload).decode()}"


def test_an_image_is_one_token_of_its_url_or_its_bytes() -> None:
    def said(url: str) -> str:
        record = chart_question("revenue", "in March 2023", url, "It was 12.")
        return texts_of(record, CHAT, "conversation", NORM).scope

    png, other = b"\x89PNG\r\n\x1a\n" + bytes(range(200)), b"\x89PNG\r\n\x1a\n" + bytes(range(1, 201))
    same_bytes = said(_data_url("image/png", png)), said(_data_url("image/jpeg", png))
    assert same_bytes[0] == same_bytes[1]  # equal bytes under another media type: the same image
    assert said(_data_url("image/png", other)) != same_bytes[0]
    assert said(CHARTS + "a.png") == said(CHARTS + "a.png") != said(CHARTS + "b.png")
    text = said(_data_url("image/png", png * 50))
    assert "base64" not in text and "googleapis" not in said(CHARTS + "a.png")
    # one word per image, however long its data URL
    assert len(text.split()) == len(said(CHARTS + "a.png").split())


# -- a stock-price assistant: the same tools and tool-call JSON around different companies -------

TOOLS = [
    {"type": "function", "function": {
        "name": "get_stock_price",
        "description": "Get the latest trading price of a stock listed on a US exchange, with the currency and the time of the quote.",
        "parameters": {"type": "object", "properties": {
            "symbol": {"type": "string", "description": "The ticker symbol, for example AAPL"},
            "exchange": {"type": "string", "enum": ["NYSE", "NASDAQ"], "description": "The exchange the stock is listed on"}},
            "required": ["symbol"]}}},
    {"type": "function", "function": {
        "name": "get_company_financials",
        "description": "Get the revenue, net income and earnings per share that a company reported for a fiscal quarter.",
        "parameters": {"type": "object", "properties": {
            "symbol": {"type": "string", "description": "The ticker symbol"},
            "quarter": {"type": "string", "description": "The fiscal quarter, for example 2024-Q2"}},
            "required": ["symbol", "quarter"]}}},
]


def quote(company: str, symbol: str, exchange: str, price: float, reply: str | None = None) -> dict[str, Any]:
    args = {"symbol": symbol, "exchange": exchange, "period": "1d", "include_after_hours": False}
    result = {"symbol": symbol, "exchange": exchange, "price": price, "currency": "USD",
              "as_of": "2024-06-14T15:59:00Z", "market_state": "CLOSED", "delayed_by_minutes": 15}
    return {"messages": [
        {"role": "system", "content": "You are a financial assistant. Use the tools to look up market data before you answer."},
        {"role": "user", "content": f"What is {company} trading at?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "get_stock_price", "arguments": json.dumps(args)}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(result)},
        {"role": "assistant", "content": reply or f"{company} closed at ${price:,.2f}."}],
        "tools": TOOLS}


def _every_pair_a_candidate(tmp_path: Path) -> Path:
    """A rule pack whose MinHash makes nearly every pair a candidate: only verification decides."""
    pack = tmp_path / "pack.yaml"
    pack.write_text(yaml.safe_dump({"extends": "default", "validators": {"duplicates": {"bands": 64, "rows": 1}}}))
    return pack


def test_a_validation_example_about_another_company_is_not_a_leaked_copy(tmp_path: Path) -> None:
    adobe, home_depot = quote("Adobe", "ADBE", "NASDAQ", 525.34), quote("Home Depot", "HD", "NYSE", 341.56)
    ta, th = texts_of(adobe, CHAT, "conversation", NORM), texts_of(home_depot, CHAT, "conversation", NORM)
    # with the tool-call JSON and the tool result's keys they looked 0.9 alike; without, they do not
    assert similarity(" ".join(ta.exact[1:-1]), " ".join(th.exact[1:-1])) >= 0.9
    assert similarity(ta.scope, th.scope) < 0.9
    assert "get_stock_price" not in ta.scope and "symbol" not in ta.scope and "ADBE" in ta.scope
    assert "get_company_financials" not in ta.system
    train = write_jsonl(tmp_path / "train.jsonl", [adobe, quote("Nike", "NKE", "NYSE", 94.12)])
    val = write_jsonl(tmp_path / "val.jsonl", [home_depot])
    for rules in ("default", str(_every_pair_a_candidate(tmp_path))):
        report = check([train], load_config(rules), validation=[val])
        assert dup(report) == [], rules
        proc = run_cli("check", str(train), "--validation", str(val), "--rules", rules, "--select", "DUP", "--format", "json")
        assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == [], proc.stdout


def test_a_reworded_copy_of_a_tool_using_example_still_leaks(tmp_path: Path) -> None:
    home_depot = quote("Home Depot", "HD", "NYSE", 341.56, "Home Depot (HD) closed at $341.56 on Friday, down slightly on the day.")
    train = write_jsonl(tmp_path / "train.jsonl", [quote("Adobe", "ADBE", "NASDAQ", 525.34), home_depot])
    reworded = quote("Home Depot", "HD", "NYSE", 341.56, "Home Depot (HD) closed at $341.56 on Friday, down a little on the day.")
    val = write_jsonl(tmp_path / "val.jsonl", [quote("Nike", "NKE", "NYSE", 94.12), reworded, home_depot])
    for rules in ("default", str(_every_pair_a_candidate(tmp_path))):
        report = check([train], load_config(rules), validation=[val])
        found = {(f.code, f.line): f.data for f in report.findings if f.code.startswith("DUP") and f.path == str(val)}
        # the copy leaks exactly, the reworded copy nearly, and within the file they are near-duplicates
        assert set(found) == {("DUP005", 2), ("DUP004", 3), ("DUP002", 3)}, rules
        assert found["DUP005", 2]["training_line"] == 2 and found["DUP005", 2]["similarity"] >= 0.9


def test_exact_duplicates_stay_exact_over_the_whole_record(tmp_path: Path) -> None:
    base = quote("Adobe", "ADBE", "NASDAQ", 525.34)
    other_tools = json.loads(json.dumps(base))
    other_tools["tools"] = TOOLS[:1]
    other_name = json.loads(json.dumps(base))
    other_name["messages"][2]["tool_calls"][0]["function"]["name"] = "get_quote"
    path = write_jsonl(tmp_path / "d.jsonl", [base, other_tools, other_name, base])
    report = check([path], load_config("default"))
    codes = dup(report)
    # only the byte-for-byte copy is exact; the others differ in scaffolding alone: near-duplicates
    assert ("DUP001", 4) in codes and ("DUP001", 2) not in codes and ("DUP001", 3) not in codes
    assert codes == [("DUP001", 4), ("DUP002", 2), ("DUP002", 3)]


def test_the_same_question_calling_the_tool_with_other_values_is_a_conflict(tmp_path: Path) -> None:
    ask = quote("Adobe", "ADBE", "NASDAQ", 525.34)
    ask["messages"] = ask["messages"][:3]
    wrong = json.loads(json.dumps(ask))
    wrong["messages"][2]["tool_calls"][0]["function"]["arguments"] = json.dumps(
        {"symbol": "ADSK", "exchange": "NYSE", "period": "5d", "include_after_hours": True})
    path = write_jsonl(tmp_path / "d.jsonl", [ask, wrong])
    report = check([path], load_config("default"))
    assert dup(report) == [("DUP003", 2)]


def test_deeply_nested_or_broken_arguments_are_compared_as_text(tmp_path: Path) -> None:
    deep = quote("Adobe", "ADBE", "NASDAQ", 525.34)
    deep["messages"][2]["tool_calls"][0]["function"]["arguments"] = "[" * 100_000 + "]" * 100_000
    broken = quote("Adobe", "ADBE", "NASDAQ", 525.34)
    broken["messages"][2]["tool_calls"][0]["function"]["arguments"] = '{"symbol": "ADBE", '
    for record in (deep, broken):
        t = texts_of(record, CHAT, "conversation", NORM)
        assert all(digests(t))
    assert '{"symbol": "ADBE",' in texts_of(broken, CHAT, "conversation", NORM).scope
    path = write_jsonl(tmp_path / "d.jsonl", [deep, broken, quote("Nike", "NKE", "NYSE", 94.12)])
    proc = run_cli("check", str(path), "--select", "DUP", "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == [], proc.stderr
