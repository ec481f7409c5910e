"""No report format ever repeats a secret from the data: findings, hints, data and stats show it masked."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from dsqa import check, load_config
from dsqa.redact import KINDS, find_secrets, mask_secrets
from dsqa.reporters import REPORTERS, render
from helpers import run_cli, write_jsonl

KEY_BODY = "MIIEowIBAAKCAQEAx1Zk3qQm7yTfPzqRtYbXq9Zk3qQm7yTfPzqRtYbX"
SECRETS = {
    "openai_key": "sk-Zq9XwV8uT7sR6qP5oN4mL3kJ2hG1fE",
    "aws_access_key": "AKIAQ3EGRTYPLM7XK2ZW",
    "github_token": "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "slack_token": "xoxb-918273645012-QwErTyUiOpAs",
    "slack_webhook": "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/aBcDeFgHiJkLmNoPqRsTuVwX",
    "google_api_key": "AIzaSyZ9y8X7w6V5u4T3s2R1q0PoNmLkJiHgFeD",
    "stripe_key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "email": "marguerite.okonkwo@brightwave-home.io",
    "phone": "+44 20 7946 0958",
    "credit_card": "3782 822463 10005",
    "iban": "DE89 3704 0044 0532 0130 00",
}
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----"


def _records() -> list[dict]:
    s = SECRETS
    records = []
    for i, (kind, value) in enumerate(s.items()):
        records.append({"messages": [
            {"role": "system", "content": f"You are support bot {i}. Escalate to {s['email']} with key {s['openai_key']}."},
            {"role": "user", "content": f"Case {i}: my {kind} is {value}, please remember it."},
            # a reply that opens with the secret (diversity openings), repeats it (CNT004), puts it in
            # a template slot (CNT002) and ends cut off (CNT005)
            {"role": "assistant", "content": f"{value} noted. " + f"{value} is stored. " * 5 + f"{{{{{value}}}}} and"},
        ]})
    records.append({"messages": [
        {"role": "user", "content": f"Here is my key:\n{PRIVATE_KEY}\nCan you check it?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "store", "arguments": json.dumps({"token": s["github_token"], "card": s["credit_card"]})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": f"stored {s['aws_access_key']} for {s['email']}"},
        {"role": "assistant", "content": f"As an AI language model I saved {s['stripe_key']} and {s['iban']}"},
    ], "tools": [{"type": "function", "function": {"name": "store", "description": f"Stores secrets like {s['slack_token']}",
                                                 "parameters": {"type": "object", "properties": {}}}}]})
    # the same secret-laden prompt twice, so duplicate checks have something to quote too
    records.append(records[0])
    return records


def _secret_part(value: str) -> str:
    """The value without its public prefix (``sk-``, ``AKIA``, ``https://hooks.slack.com/``...)."""
    if value.startswith("https://"):
        return value.split("/services/", 1)[1]
    return value[4:]


def _leaks(text: str) -> list[str]:
    """Every 8-character window of a planted secret (its prefix aside) that shows up in ``text``."""
    found = []
    for value in [*map(_secret_part, SECRETS.values()), KEY_BODY]:
        for start in range(len(value) - 7):
            window = value[start:start + 8]
            if window in text:
                found.append(f"{window!r} of {value[:4]}…")
                break
    return found


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("leak") / "secrets.jsonl", _records())


def _planted(record: object) -> Counter[str]:
    """How many secrets of each SEC code the strings of ``record`` hold."""
    found: Counter[str] = Counter()
    stack = [record]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.update(KINDS[m.kind].code for m in find_secrets(node, reference=True))
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_planted_secrets_are_found(data: Path) -> None:
    report = check([data], load_config("default"))
    # one finding per record and code, whose data.count counts every secret of that code in it
    found = {(f.line, f.code): f.data["count"] for f in report.findings if f.code.startswith("SEC") and f.data}
    assert len(found) == sum(1 for f in report.findings if f.code.startswith("SEC"))
    planted = {(line, code): n for line, record in enumerate(_records(), 1) for code, n in _planted(record).items()}
    assert found == planted
    assert {code for _, code in planted} == {"SEC001", "SEC002", "SEC003", "SEC004", "SEC005", "SEC006"}
    assert {"CNT002", "CNT004", "CNT005"} <= {f.code for f in report.findings}
    assert report.datasets[0].stats["diversity"]["assistant_openings"]


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_no_reporter_repeats_a_secret(data: Path, name: str) -> None:
    report = check([data], load_config("default"))
    out = io.StringIO()
    render(name, report, out)
    text = out.getvalue()
    assert text.strip(), f"{name} wrote nothing"
    assert _leaks(text) == [], f"{name} report leaks secrets"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_cli_output_repeats_no_secret(data: Path, fmt: str) -> None:
    proc = run_cli("check", str(data), "-f", fmt)
    assert proc.returncode == 1, proc.stderr
    assert "SEC001" in proc.stdout
    assert _leaks(proc.stdout + proc.stderr) == []


def test_mask_secrets_keeps_only_a_few_characters() -> None:
    for value in [*SECRETS.values(), PRIVATE_KEY]:
        masked = mask_secrets(f"before {value} after")
        assert masked.startswith("before ") and masked.endswith(" after")
        assert "[masked]" in masked
        assert _leaks(masked) == []
        assert find_secrets(masked) == [], masked
