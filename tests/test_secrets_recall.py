"""Recall of the secret search: every kind in redact.KINDS, planted in four places of a record, is found, with its code, and masked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dsqa import check, load_config
from dsqa.redact import KINDS, mask_secrets
from dsqa.validators.sensitive import SensitiveValidator
from helpers import default_validator, gated_and_full, write_jsonl
from secret_samples import SAMPLES


def _placed(text: str) -> dict[str, tuple[dict[str, Any], str]]:
    """The four placements of a text: record and the pointer where the finding must be."""
    reply = {"role": "assistant", "content": "Noted."}
    return {
        "content": ({"messages": [{"role": "user", "content": text}, reply]}, "/messages/0/content"),
        "tool_arguments": ({"messages": [
            {"role": "user", "content": "Store it."},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                  "function": {"name": "store", "arguments": json.dumps({"note": text})}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"}, reply,
        ]}, "/messages/1/tool_calls/0/function/arguments"),
        # a content part keyed "value" (a schema error): its text is searched all the same
        "odd_part_key": ({"messages": [{"role": "user", "content": [{"type": "text", "value": text}]}, reply]},
                         "/messages/0/content/0/value"),
        # the text used as a key of an object: reported at the member it names
        "key": ({"messages": [{"role": "user", "content": "Hi", "metadata": {text: True}}, reply]},
                "/messages/0/metadata/" + text.replace("~", "~0").replace("/", "~1")),
    }


PLACEMENTS = ("content", "tool_arguments", "odd_part_key", "key")


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(KINDS)
    assert len(KINDS) >= 40


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Any:
    records = [_placed(text)[where][0] for text, _ in SAMPLES.values() for where in PLACEMENTS]
    data = write_jsonl(tmp_path_factory.mktemp("recall") / "planted.jsonl", records)
    return check([data], load_config("default"))


def test_every_kind_in_every_placement_is_found_with_its_code_and_masked(report: Any) -> None:
    by_line: dict[int, list[Any]] = {}
    for f in report.findings:
        if f.code.startswith("SEC"):
            by_line.setdefault(f.line, []).append(f)
    missed = []
    line = 0
    for kind, (text, secret) in SAMPLES.items():
        for where in PLACEMENTS:
            line += 1
            # a secret used as a key is in the pointer too, which prints it masked like every string
            expected_pointer = mask_secrets(_placed(text)[where][1])
            found = [(f.code, f.data["kind"], f.pointer) for f in by_line.get(line, [])]
            if found != [(KINDS[kind].code, kind, expected_pointer)]:
                missed.append((kind, where, found))
            for f in by_line.get(line, []):
                shown = f.message + json.dumps(f.data)
                assert secret not in shown, (kind, where, shown)
                assert "[masked]" in f.data["masked"]
    assert missed == []
    # every kind (42) x 4 placements, one finding each
    assert sum(len(v) for v in by_line.values()) == len(SAMPLES) * len(PLACEMENTS)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_raw_line_gate_finds_what_the_reference_finds(kind: str) -> None:
    validator = default_validator(SensitiveValidator)
    text, _ = SAMPLES[kind]
    for where in PLACEMENTS:
        value = _placed(text)[where][0]
        for ensure_ascii in (False, True):
            gated, full = gated_and_full(validator, value, ensure_ascii)
            assert gated == full and len(full) == 1, (kind, where, ensure_ascii)


def test_the_prefilters_of_find_secrets_lose_nothing(tmp_path: Path) -> None:
    from dsqa.redact import find_secrets

    texts = [text for text, _ in SAMPLES.values()]
    # each sample alone, glued to others, inside JSON, and cut short (where a run test must say no)
    texts += [" ".join(texts), json.dumps(texts), *(t[: len(t) // 2] for t in texts), *(t.upper() for t in texts)]
    for text in texts:
        assert find_secrets(text) == find_secrets(text, reference=True), text
    records = [_placed(text)[where][0] for text, _ in SAMPLES.values() for where in PLACEMENTS]
    data = write_jsonl(tmp_path / "planted.jsonl", records)

    def sec(reference: bool) -> list[tuple[Any, ...]]:
        report = check([data], load_config("default"), reference=reference)
        return [(f.line, f.code, f.pointer, f.message) for f in report.findings if f.code.startswith("SEC")]

    assert sec(False) == sec(True)
