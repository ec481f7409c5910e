"""Every built-in code documents itself, its JSONL examples really get (or do not get) the code, and `dsqa rules CODE` prints exactly that."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from dsqa import check, load_config
from dsqa.cli import cli
from dsqa.config import pack_names
from dsqa.ruledoc import code_doc
from dsqa.validators import BUILTIN, Code, Validator

#: code families whose documentation is being written on other branches (schema/preference,
#: content, sensitive, duplicates). The lead empties this set at merge; every test then covers them.
PENDING_FAMILIES: set[str] = set()  # every family documents its codes now

#: rule-pack settings (merged into a pack that extends ``default``) under which a code's JSONL
#: examples are checked, for codes whose example needs one. A code's ``why`` or ``options`` must
#: then say so, since a reader of `dsqa rules CODE` sees only the example.
EXAMPLE_PACKS: dict[str, dict[str, Any]] = {}


def _all_codes() -> list[tuple[str, Code, type[Validator]]]:
    return [(code, info, cls) for cls in BUILTIN.values() for code, info in cls.codes.items()]


ALL = _all_codes()
DOCUMENTED = [entry for entry in ALL if entry[0][:3] not in PENDING_FAMILIES]
DOCUMENTED_VALIDATORS = [
    cls for cls in BUILTIN.values() if not any(code[:3] in PENDING_FAMILIES for code in cls.codes)
]


def _examples() -> list[Any]:
    """One test per JSONL example: (code, whether it must get the code, the file text)."""
    out = []
    for code, info, _ in DOCUMENTED:
        for kind, text in (("failing", info.failing), ("passing", info.passing)):
            if text.lstrip().startswith("{"):
                out.append(pytest.param(code, kind == "failing", text, id=f"{code}-{kind}"))
    return out


def test_the_pending_families_are_real_families() -> None:
    families = {code[:3] for code, _, _ in ALL}
    assert PENDING_FAMILIES <= families
    assert len(DOCUMENTED) >= 20  # the test must not pass by leaving everything out


@pytest.mark.parametrize("code,info,cls", DOCUMENTED, ids=[c for c, _, _ in DOCUMENTED])
def test_code_is_documented(code: str, info: Code, cls: type[Validator]) -> None:
    for field in ("summary", "why", "failing", "passing"):
        assert getattr(info, field).strip(), f"{code} has no {field}"
    props = cls.options_schema.get("properties", {})
    for option in info.options:
        assert option in props, f"{code} names option {option!r}, which validators.{cls.name} does not have"
        assert props[option].get("description"), f"validators.{cls.name}.{option} has no description"


@pytest.mark.parametrize("cls", DOCUMENTED_VALIDATORS, ids=[c.name for c in DOCUMENTED_VALIDATORS])
def test_validator_docstring_is_a_short_description(cls: type[Validator]) -> None:
    doc = inspect.cleandoc(cls.__doc__ or "")
    assert doc
    for table in ("Codes:", "Options (", "Passing:", "Failing:"):
        assert table not in doc, f"{cls.name}'s docstring still holds a {table!r} section; it belongs in the Codes"
    for name, spec in cls.options_schema.get("properties", {}).items():
        assert spec.get("description"), f"validators.{cls.name}.{name} has no description"


@pytest.mark.parametrize("code,info,cls", ALL, ids=[c for c, _, _ in ALL])
def test_rules_code_prints_exactly_the_code_doc(code: str, info: Code, cls: type[Validator]) -> None:
    result = CliRunner().invoke(cli, ["rules", code.lower()], standalone_mode=False)
    assert result.exception is None, result.output
    assert result.output == code_doc(code, info, cls)
    assert result.output.startswith(f"{code}: {info.summary}\n")
    if info.why:
        assert "Why:" in result.output
    for option in info.options:
        assert f"\n  {option} (default " in result.output


def test_a_pack_that_changes_a_severity_is_named_in_the_why() -> None:
    """The docs say when a bundled pack raises or lowers a code (strict makes RDR003 an error, ...)."""
    missing = []
    for pack in pack_names():
        config = load_config(pack)
        for code, severity in config.severity.items():
            if code[:3] in PENDING_FAMILIES:
                continue
            info = next(i for c, i, _ in ALL if c == code)
            if severity != info.severity and f"in the {pack} pack" not in " ".join(info.why.split()):
                missing.append(f"{code} ({pack}: {severity})")
    assert not missing, "why does not mention: " + ", ".join(missing)


def _config_for(code: str, tmp_path: Path) -> Any:
    extra = EXAMPLE_PACKS.get(code)
    if not extra:
        return load_config("default")
    pack = tmp_path / "pack.yaml"
    pack.write_text(yaml.safe_dump({"extends": "default", **extra}), encoding="utf-8")
    return load_config(str(pack))


@pytest.mark.parametrize("code,gets_it,text", _examples())
def test_jsonl_example_gets_the_code_or_not(code: str, gets_it: bool, text: str, tmp_path: Path) -> None:
    data = tmp_path / "example.jsonl"
    data.write_text(inspect.cleandoc(text) + "\n", encoding="utf-8")
    config = _config_for(code, tmp_path)
    found = [f for f in check([data], config).findings if f.code == code]
    if gets_it:
        assert found, f"the failing example of {code} does not get {code}"
        assert all(f.line is None or f.line >= 1 for f in found)
    else:
        assert not found, f"the passing example of {code} gets {code}: {found[0].message}"
    # the reference run (every prefilter off) agrees, so an example cannot pass by a gate's mistake
    reference = [f for f in check([data], config, reference=True).findings if f.code == code]
    assert [dataclasses.astuple(f) for f in reference] == [dataclasses.astuple(f) for f in found]


@pytest.mark.parametrize("cls", DOCUMENTED_VALIDATORS, ids=[c.name for c in DOCUMENTED_VALIDATORS])
def test_rules_validator_lists_its_options_and_codes(cls: type[Validator]) -> None:
    result = CliRunner().invoke(cli, ["rules", cls.name], standalone_mode=False)
    assert result.exception is None, result.output
    assert result.output.startswith(f"Validator {cls.name}\n\n{inspect.cleandoc(cls.__doc__ or '')}\n")
    for name, spec in cls.options_schema.get("properties", {}).items():
        assert f"\n  {name} (default " in result.output and spec["description"] in result.output
    for code, info in cls.codes.items():
        assert f"\n{code} " in result.output and info.summary in result.output
