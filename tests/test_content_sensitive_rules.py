"""The content and sensitive codes document themselves truly, skip work nobody will see, and take new kinds of secret."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dsqa import load_config, redact
from dsqa.formats import detect_format
from dsqa.model import Record
from dsqa.validators import DatasetContext
from dsqa.validators.content import ContentValidator
from dsqa.validators.content import validator as content_rules
from dsqa.validators.sensitive import SensitiveValidator
from dsqa.validators.sensitive import validator as sensitive_rules
from helpers import run_cli

CONFIG = load_config("default")
CODES = [(cls, code) for cls in (ContentValidator, SensitiveValidator) for code in cls.codes]


def _found(cls: Any, line: str, reference: bool = False, enabled: frozenset[str] | None = None) -> set[str]:
    value = json.loads(line)
    validator = cls(CONFIG.options(cls.name), DatasetContext(path="t.jsonl", reference=reference, enabled=enabled))
    out = set()
    for raw in (line.encode("utf-8"), b""):  # a JSONL line, and an element of a JSON array
        record = Record("t.jsonl", 1, 0, value=value, raw=raw)
        record.format = detect_format(value)
        out |= {f.code for f in validator.check(record)}
    return out


@pytest.mark.parametrize(("cls", "code"), CODES)
def test_each_code_is_documented_and_its_examples_are_true(cls: Any, code: str) -> None:
    info = cls.codes[code]
    assert info.why.strip() and info.failing and info.passing, code
    props = cls.options_schema["properties"]
    assert all(o in props and props[o].get("description") for o in info.options), code
    for reference in (False, True):
        assert code in _found(cls, info.failing, reference), (code, info.failing)
        assert code not in _found(cls, info.passing, reference), (code, info.passing)


def test_every_option_is_described_and_the_docstrings_are_short() -> None:
    for cls in (ContentValidator, SensitiveValidator):
        assert all(spec.get("description") for spec in cls.options_schema["properties"].values())
        assert "Codes:" not in (cls.__doc__ or "") and "Options" not in (cls.__doc__ or "")


def test_dsqa_rules_cnt003_says_any_letter_case() -> None:
    result = run_cli("rules", "CNT003")
    assert result.returncode == 0, result.stderr
    assert "in\n  any letter case" in result.stdout or "any letter case" in " ".join(result.stdout.split())
    assert "AS AN AI LANGUAGE MODEL, I CANNOT HELP WITH THAT." in result.stdout
    assert "refusal_chars (default 300): refusals are looked for" in result.stdout


# -- a rule whose codes are not wanted does not run

CONTENT_RULES = {
    "CNT002": ["find_placeholders"],
    "CNT003": ["find_boilerplate", "find_boilerplate_gated"],
    "CNT004": ["find_loop"],
    "CNT005": ["looks_cut_off"],
    "CNT006": ["find_mojibake"],
}
#: a record that gets every content code (CNT001 on the empty user turn)
EVERYTHING = json.dumps({"messages": [
    {"role": "system", "content": "Hello {{name}}, cafÃ©"},
    {"role": "user", "content": " "},
    {"role": "assistant", "content": "I cannot help with that. ha ha ha ha ha ha ha ha ha ha ha ha ha ha and the"},
]})


@pytest.mark.parametrize("code", sorted(CONTENT_RULES))
def test_a_content_rule_that_is_not_wanted_is_not_called(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    for reference in (False, True):
        assert _found(ContentValidator, EVERYTHING, reference) == set(ContentValidator.codes)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the rule of {code} ran")

    for name in CONTENT_RULES[code]:
        monkeypatch.setattr(content_rules, name, refuse)
    enabled = frozenset(ContentValidator.codes) - {code}
    for reference in (False, True):
        assert _found(ContentValidator, EVERYTHING, reference, enabled) == enabled


def test_cnt001_is_not_reported_when_not_wanted() -> None:
    enabled = frozenset(ContentValidator.codes) - {"CNT001"}
    assert _found(ContentValidator, EVERYTHING, False, enabled) == enabled


def test_a_kind_whose_code_is_not_wanted_is_not_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[str] = []
    real = sensitive_rules.find_secrets

    def spy(text: str, kinds: Any = None, **kwargs: Any) -> Any:
        searched.extend(kinds)
        return real(text, kinds, **kwargs)

    monkeypatch.setattr(sensitive_rules, "find_secrets", spy)
    line = json.dumps({"messages": [{"role": "user", "content": "Mail jane.doe@acme-corp.com or call +44 20 7946 0958"},
                                    {"role": "assistant", "content": "Noted."}]})
    assert _found(SensitiveValidator, line) == {"SEC003", "SEC004"}
    assert "email" in searched
    searched.clear()
    enabled = frozenset(SensitiveValidator.codes) - {"SEC003"}
    for reference in (False, True):
        assert _found(SensitiveValidator, line, reference, enabled) == {"SEC004"}
    assert searched and "email" not in searched
    assert _found(SensitiveValidator, line, False, frozenset({"CNT001"})) == set()


# -- a kind added to redact.KINDS is found on JSONL lines with no other change

def test_a_new_kind_of_secret_is_found_on_a_jsonl_line(monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = dict(redact.KINDS)
    kinds["acme_key"] = redact.Kind("Acme API key", "SEC001", re.compile(r"(?<![A-Za-z0-9])acme_[a-z0-9]{16}\b"),
                                    needles=("acme_",))
    kinds["badge"] = redact.Kind("badge number", "SEC001", re.compile(r"\bB#(?:[0-9]{3}\.){3}[0-9]{3}\b"),
                                 run=redact.Run("0123456789", ".", 12))
    monkeypatch.setattr(redact, "KINDS", kinds)
    options = {"kinds": list(kinds)}  # the default when the kind is in redact.py at import time
    validator = SensitiveValidator(options, DatasetContext(path="t.jsonl"))
    for content, kind in (("use acme_0123456789abcdef now", "acme_key"), ("badge B#123.456.789.012 here", "badge")):
        value = {"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "Noted."}]}
        for ensure_ascii in (False, True):
            line = json.dumps(value, ensure_ascii=ensure_ascii).encode()
            record = Record("t.jsonl", 1, 0, value=value, raw=line)
            record.format = detect_format(value)
            found = validator.check(record)
            assert [(f.code, f.data["kind"]) for f in found] == [("SEC001", kind)], content
        # the line test of the new kind is what let it through: a line without it is skipped
        assert validator._candidates(Record("t.jsonl", 1, 0, value={}, raw=b'{"a": "nothing here"}')) == []
