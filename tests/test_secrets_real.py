"""The secret search on the real LLaMA-Factory demo sets: nothing there is a secret or personal data, and the arithmetic of dpo_en_demo is not a card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsqa import check, load_config
from helpers import REAL, run_cli

SETS = ["alpaca_en_demo", "dpo_en_demo", "glaive_toolcall_en_demo", "identity"]


@pytest.mark.parametrize("name", SETS)
def test_no_secret_is_reported_on_the_demo_sets(tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.jsonl"
    proc = run_cli("convert", str(REAL / f"{name}.json"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    report = check([out], load_config("default"))
    # reviewed by hand: the only earlier flag was SEC005 on "... = 4212883012996" (a sum), and a
    # password read with os.environ.get; made-up passwords in glaive's generate_password replies
    # ("Here is your new password: aB3#...") are prose, not password=... credentials
    assert [(f.line, f.code, f.message) for f in report.findings if f.code.startswith("SEC")] == []


def test_the_dpo_sum_that_looked_like_a_card_is_in_the_data(tmp_path: Path) -> None:
    # the false positive the tests above guard against is really there (so they cannot pass vacuously)
    rows = json.loads((REAL / "dpo_en_demo.json").read_text(encoding="utf-8"))
    assert any("4212883012996" in json.dumps(row) for row in rows)
