"""The schema validator's prefilters (the fast structural check, the raw-line test for special
tokens) change no finding: a run with them equals the reference run, which has them off."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsqa import check, load_config
from helpers import ROOT

REAL = Path("/work/shared/data/real/llamafactory")
_CHAT = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "%s"}]}'
# each way JSON can spell a reserved token: literally, or with '<' or '|' (or both) \u-escaped,
# in lower or upper case hex
TOKEN_SPELLINGS = [
    "<|endoftext|>", "\\u003c|endoftext|>", "\\u003C|im_start|>", "<\\u007cim_end|>", "\\u003c\\u007Cendoftext|>",
    "<\\u007cim_end\\u007C>", "\\u003c\\u007cendoftext\\u007c>", "a <|im_sep|> b", "<\\u007c\\u007c>",
]


def _findings(path: Path, reference: bool) -> list[tuple[object, ...]]:
    report = check([path], load_config("default"), reference=reference)
    return sorted((f.code, f.line, f.pointer, f.message) for f in report.findings if f.validator == "schema")


@pytest.mark.parametrize("spelling", TOKEN_SPELLINGS)
def test_special_token_found_however_it_is_spelled(tmp_path: Path, spelling: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(_CHAT % spelling + "\n", encoding="utf-8")
    gated, reference = _findings(path, False), _findings(path, True)
    assert gated == reference
    if spelling != "<\\u007c\\u007c>":  # "<||>" is no reserved token
        assert [f[0] for f in gated] == ["SCH015"]


def test_tokens_that_do_not_start_with_angle_pipe_are_always_searched(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nvalidators:\n  schema:\n    special_tokens: ['[END]']\n", encoding="utf-8")
    path = tmp_path / "data.jsonl"
    path.write_text(_CHAT % "done [END]" + "\n" + _CHAT % "<|endoftext|> is allowed here" + "\n", encoding="utf-8")
    for reference in (False, True):
        report = check([path], load_config(str(pack)), reference=reference)
        assert [(f.code, f.line) for f in report.findings if f.validator == "schema"] == [("SCH015", 1)]


@pytest.mark.parametrize(
    "path",
    [ROOT / "sample_data" / name for name in ("defects.jsonl", "chat_clean.jsonl", "preference_clean.jsonl")]
    + sorted(REAL.glob("*.json")),
    ids=lambda p: p.name,
)
def test_gated_run_equals_reference_run(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not here")
    assert _findings(path, False) == _findings(path, True)


def test_reference_run_sees_every_schema_error_of_the_defects(tmp_path: Path) -> None:
    # the sample defects exercise the jsonschema path: the comparison above is not vacuous
    codes = {f[0] for f in _findings(ROOT / "sample_data" / "defects.jsonl", True)}
    assert {"SCH001", "SCH003", "SCH015"} <= codes
