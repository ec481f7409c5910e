"""Shared helpers for the tests: valid records, running the real CLI in a subprocess, the fake API servers of a test."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dsqa.config import load_config
from dsqa.formats import detect_format
from dsqa.model import Record
from dsqa.validators import DatasetContext
from tests.fake_chat import FakeChat
from tests.fake_openai import FakeOpenAI
from tests.fake_together import FakeTogether

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


def run_in_process(*args: str, secret: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI entry point in this process (starting Python costs seconds here) and capture its output.

    Fails the test on a traceback or an internal error, and if ``secret`` (the test's API key) is in the output.
    """
    from dsqa.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exited:
        main(list(args))
    proc = subprocess.CompletedProcess(args, int(exited.value.code or 0), out.getvalue(), err.getvalue())
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert secret not in proc.stdout + proc.stderr
    return proc


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


#: every variable that points a fine-tuning SDK or dsqa's ledger somewhere: none may leak in from the shell running the tests
API_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION",
           "AZURE_OPENAI_AD_TOKEN", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", "TOGETHER_PROJECT_ID", "TOGETHER_CUSTOM_HEADERS",
           "DSQA_LEDGER", "DSQA_RESOLVE_WINDOW", "DSQA_RESOLVE_INTERVAL")

_Server = TypeVar("_Server", FakeOpenAI, FakeTogether, FakeChat)


class FakeAPIs:
    """The fake API servers of one test, each on 127.0.0.1, with the real SDKs pointed at them through their env vars.

    Made by the ``apis`` fixture (tests/conftest.py): it clears ``API_ENV``, puts the ledger in the test's
    tmp_path, and stops every server it started when the test ends.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.env = monkeypatch
        self.ledger = tmp_path / "ledger.sqlite"
        self._servers = ExitStack()
        for name in API_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DSQA_LEDGER", str(self.ledger))

    def close(self) -> None:
        self._servers.close()

    def _start(self, server: _Server) -> _Server:
        return self._servers.enter_context(server)

    def stop(self, server: FakeOpenAI | FakeTogether | FakeChat) -> None:
        """Stops a server before the test ends (stopping it again at the end does nothing)."""
        server.__exit__(None, None, None)

    def resolve(self, window: str, interval: str | None = None) -> None:
        """How many seconds a lost answer is looked up for (dsqa's default is minutes), and how often."""
        self.env.setenv("DSQA_RESOLVE_WINDOW", window)
        if interval is not None:
            self.env.setenv("DSQA_RESOLVE_INTERVAL", interval)

    def openai(self, key: str, **options: Any) -> FakeOpenAI:
        """A fake OpenAI API that the openai SDK reaches through OPENAI_API_KEY and OPENAI_BASE_URL."""
        server = self._start(FakeOpenAI(key, **options))
        self.env.setenv("OPENAI_API_KEY", key)
        self.env.setenv("OPENAI_BASE_URL", server.base_url)
        return server

    def azure(self, key: str, api_version: str = "2025-04-01-preview", **options: Any) -> FakeOpenAI:
        """The same fake under Azure's paths, reached through AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION."""
        server = self._start(FakeOpenAI(key, **options))
        self.env.setenv("AZURE_OPENAI_ENDPOINT", server.azure_endpoint)
        self.env.setenv("AZURE_OPENAI_API_KEY", key)
        self.env.setenv("OPENAI_API_VERSION", api_version)
        return server

    def together(self, key: str, **options: Any) -> FakeTogether:
        """A fake Together API that the together SDK reaches through TOGETHER_API_KEY and TOGETHER_BASE_URL."""
        server = self._start(FakeTogether(key, **options))
        self.env.setenv("TOGETHER_API_KEY", key)
        self.env.setenv("TOGETHER_BASE_URL", server.base_url)
        return server

    def chat(self, key: str, answers: dict[str, dict[str, Any]], **options: Any) -> FakeChat:
        """A fake chat-completions API that the openai SDK reaches through OPENAI_API_KEY and OPENAI_BASE_URL."""
        server = self._start(FakeChat(key, answers, **options))
        self.env.setenv("OPENAI_API_KEY", key)
        self.env.setenv("OPENAI_BASE_URL", server.base_url)
        return server
