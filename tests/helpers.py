"""Shared helpers for the tests: valid records and running the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from dsqa.config import load_config
from dsqa.formats import detect_format
from dsqa.model import Record
from dsqa.validators import DatasetContext

ROOT = Path(__file__).resolve().parent.parent


def chat(i: int = 0, **extra: Any) -> dict[str, Any]:
    """A valid chat example; ``i`` varies the text."""
    record: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "You answer arithmetic questions."},
            {"role": "user", "content": f"What is {i} plus {i}?"},
            {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."},
        ]
    }
    record.update(extra)
    return record


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m dsqa ARGS` as a user would and capture its output."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dsqa", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def gated_and_full(validator: Any, value: dict[str, Any], ensure_ascii: bool = False,
                   escape: str = "") -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What ``validator`` finds in ``value`` read from a JSONL line, and with no raw line at all.

    Without a raw line a validator skips none of its checks, so the second result is the
    reference for the raw-line gates. ``escape``: a character the line spells as a \\u escape
    wherever it is in a string (valid JSON that hides it from tests on the bytes).
    """
    line = json.dumps(value, ensure_ascii=ensure_ascii)
    if escape:
        inner = re.compile(r"\\u[0-9a-fA-F]{4}|\\.|" + re.escape(escape))  # escapes stay whole
        line = _JSON_STRING.sub(lambda s: inner.sub(
            lambda m: m.group() if len(m.group()) > 1 else "\\u%04x" % ord(escape), s.group()), line)
        assert json.loads(line) == value
    gated = Record("t.jsonl", 1, 0, value=value, raw=line.encode("utf-8"))
    full = Record("t.jsonl", 1, 0, value=value, raw=b"")
    gated.format = full.format = detect_format(value)

    def summary(record: Record) -> list[tuple[Any, ...]]:
        return [(f.code, f.pointer, f.message, json.dumps(f.data, sort_keys=True)) for f in validator.check(record)]

    return summary(gated), summary(full)


def default_validator(cls: Any) -> Any:
    """An instance of validator class ``cls`` with the default pack's options."""
    config = load_config()
    context = DatasetContext(path="t.jsonl", role="train", data_format=None, model=config.model,
                             epochs=config.epochs, reference_date=config.reference_date)
    return cls(config.options(cls.name), context)

#: ../shared beside the clone (where CI puts it), else the workplace's copy
SHARED = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()), ROOT.parent / "shared")
#: real public demo datasets that nobody on this project wrote
REAL = SHARED / "data" / "real" / "llamafactory"
