"""A secret in a record never prints in full through any finding, whatever rule quotes it.

The planted secrets sit where schema and format rules quote the record (a role, a message key,
a part type, a weight, a tool_call_id, a tool or call name, top-level keys): every report
format, the report files and the convert/clean summaries show them masked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa import check, load_config
from dsqa.model import Finding, Severity
from dsqa.redact import mask_secrets
from dsqa.safetext import mask_finding, may_hold_secret
from helpers import run_cli, write_jsonl

#: a 164-character project key, as OpenAI issues them
KEY = ("sk-proj-" + "Tq7vW2xZ9bN4mK8pL3rS6tY1uJ5hG0fD" * 5)[:164]
EMAIL = "marguerite.okonkwo@brightwave-home.io"
FORMATS = ("text", "json", "markdown", "html", "sarif", "junit", "github")
#: the codes the planted records must get, each quoting a secret
QUOTING = {"SCH001", "SCH003", "SCH006", "SCH007", "SCH009", "SCH013", "SCH014", "SCH019", "FMT001"}


def _tool_call(name: str, call_id: str = "c1") -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def _tool(name: str) -> dict:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


def _records() -> list[dict]:
    reply = {"role": "assistant", "content": "Done."}
    user = {"role": "user", "content": "Please help."}
    return [
        {"messages": [{"role": KEY, "content": "hi"}, reply]},  # SCH003
        {"messages": [{**user, KEY: "x", EMAIL: "y"}, reply]},  # SCH006
        {"messages": [{"role": "user", "content": [{"type": KEY, "text": "x"}]}, reply]},  # SCH007
        {"messages": [user, {**reply, "weight": KEY}]},  # SCH009
        {"messages": [user, {"role": "assistant", "content": None, "tool_calls": [_tool_call("f")]},
                      {"role": "tool", "tool_call_id": KEY, "content": "ok"}, reply]},  # SCH013
        {"messages": [user, reply], "tools": [_tool(KEY)]},  # SCH014
        {"messages": [user, {"role": "assistant", "content": None, "tool_calls": [_tool_call(KEY)]},
                      {"role": "tool", "tool_call_id": "c1", "content": "ok"}, reply], "tools": [_tool("lookup")]},  # SCH019
        {KEY: 1, EMAIL: 2},  # FMT001
        {"messages": [user, reply], KEY: "x"},  # SCH001
        *({"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer {i}."}]}
          for i in range(10)),
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("masking") / "planted.jsonl", _records())


def _assert_masked(text: str, where: str) -> None:
    assert KEY not in text, f"{where} prints the key in full"
    assert KEY[8:40] not in text, f"{where} prints most of the key"
    assert EMAIL not in text, f"{where} prints the e-mail address"
    assert mask_secrets(KEY) in text, f"{where} does not show the masked key"


def test_the_planted_records_get_every_quoting_code(data: Path) -> None:
    report = check([data], load_config("default"))
    assert QUOTING <= {f.code for f in report.findings}
    quoting = [f for f in report.findings if f.code in QUOTING]
    # each of them quotes the key, masked: in the message, the pointer or the data
    for f in quoting:
        shown = json.dumps(f.to_dict(), ensure_ascii=False)
        assert KEY not in shown and EMAIL not in shown, f.code
    assert all("[masked]" in json.dumps(f.to_dict(), ensure_ascii=False) for f in quoting)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_prints_the_secret(data: Path, fmt: str, tmp_path: Path) -> None:
    report_file = tmp_path / f"report.{fmt}"
    proc = run_cli("check", str(data), "-f", fmt, "--report", f"{fmt}:{report_file}", "--show-all")
    assert proc.returncode == 1, proc.stderr
    _assert_masked(proc.stdout, f"{fmt} on stdout")
    _assert_masked(report_file.read_text("utf-8"), f"{fmt} report file")
    assert KEY not in proc.stderr


def test_statistics_and_output_file_print_no_secret(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = run_cli("check", str(data), "--statistics", "-o", str(out), "-f", "json")
    assert proc.returncode == 1
    assert KEY not in proc.stdout + proc.stderr
    _assert_masked(out.read_text("utf-8"), "json -o")


def test_convert_and_clean_summaries_print_no_secret(data: Path, tmp_path: Path) -> None:
    # convert: the summary of the check of OUT; the rejects file keeps the record as it was
    converted = run_cli("convert", str(data), "-o", str(tmp_path / "out.jsonl"))
    assert "check of" in converted.stdout, converted.stdout + converted.stderr
    assert KEY not in converted.stdout + converted.stderr
    assert "SCH003" in converted.stdout
    cleaned = run_cli("clean", str(data), "-o", str(tmp_path / "clean.jsonl"))
    assert "rejected 9" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert KEY not in cleaned.stdout + cleaned.stderr
    # the rejects file holds the rejected records byte for byte: that is the data, not a report
    assert KEY in (tmp_path / "clean.rejects.jsonl").read_text("utf-8")


def test_the_prefilter_finds_what_the_reference_finds(data: Path) -> None:
    fast = check([data], load_config("default"))
    reference = check([data], load_config("default"), reference=True)
    assert [f.to_dict() for f in fast.findings] == [f.to_dict() for f in reference.findings]
    assert fast.datasets[0].stats == reference.datasets[0].stats


def test_mask_finding_masks_every_field_and_leaves_clean_findings_alone() -> None:
    planted = Finding(
        "SCH006", Severity.ERROR, f"unexpected key '{KEY}'", "schema", "d.jsonl", 3, f"/messages/0/{KEY}",
        hint=f"mail {EMAIL}", data={"keys": [KEY, "name"], KEY: {"role": EMAIL}, "n": 2},
    )
    assert may_hold_secret(planted)
    for masked in (mask_finding(planted), mask_finding(planted, reference=True)):
        shown = json.dumps(masked.to_dict(), ensure_ascii=False)
        assert KEY not in shown and EMAIL not in shown
        assert masked.pointer == "/messages/0/" + mask_secrets(KEY)
        assert masked.data is not None and masked.data["n"] == 2 and masked.data["keys"][1] == "name"
    clean = Finding("SCH006", Severity.ERROR, "unexpected key 'timestamp' in user message", "schema", "d.jsonl", 3,
                    "/messages/0/timestamp", data={"keys": ["timestamp"]})
    assert not may_hold_secret(clean)
    assert mask_finding(clean) is clean


#: secrets of each kind the masking knows, and look-alikes that are none
PIECES = [
    KEY, EMAIL, "AKIAQ3EGRTYPLM7XK2ZW", "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", "xoxb-918273645012-QwErTyUiOpAs",
    "AIzaSyZ9y8X7w6V5u4T3s2R1q0PoNmLkJiHgFeD", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "+44 20 7946 0958",
    "3782 822463 10005", "DE89 3704 0044 0532 0130 00", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "sk-learn", "a@b", "2024-05-01", "1,234,567 tokens", "/messages/10/content", "user", "timestamp",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES) | st.text(max_size=12), min_size=1, max_size=6),
    st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=3),
    st.dictionaries(st.sampled_from(PIECES), st.sampled_from(PIECES) | st.integers(), max_size=3),
)
def test_the_prefilter_never_hides_a_secret(message: list[str], pointer: list[str], data: dict) -> None:
    finding = Finding("SCH006", Severity.ERROR, " ".join(message), "schema", "d.jsonl", 1,
                      "/" + "/".join(pointer) if pointer else None, data=data or None)
    # twice: the second time the strings come from the cache of known clean and masked strings
    assert mask_finding(finding) == mask_finding(finding, reference=True)
    assert mask_finding(finding) == mask_finding(finding, reference=True)


def test_a_secret_next_to_another_strings_context_is_still_masked() -> None:
    """A grouped card number is a card alone, and not one beside "=" (arithmetic): the prefilter
    searches each string of a finding on its own, or the hint's "=" would hide the message's card."""
    finding = Finding("SCH006", Severity.ERROR, "3782 822463 10005", "schema", "d.jsonl", 1, "/messages/0", "= x")
    masked = mask_finding(finding)
    assert "822463" not in masked.message and masked == mask_finding(finding, reference=True)
