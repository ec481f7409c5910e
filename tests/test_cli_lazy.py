"""`dsqa --help`, `--version` and `rules` load no heavy library, and subcommands load only when they run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dsqa.cli import LAZY_COMMANDS, cli
from helpers import ROOT, chat, write_jsonl

#: libraries that a look at the help or the rules must not import (each costs tens of milliseconds
#: or more, and some are optional extras)
HEAVY = ("numpy", "jsonschema", "tiktoken", "rapidfuzz", "yaml", "openai", "together", "datasets")
#: modules of subcommands that only their own command may load
SUBCOMMAND_MODULES = ("dsqa.cli_convert", "dsqa.cli_finetune", "dsqa.cli_eval")

_PROBE = """
import json, sys
from dsqa.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {heavy}}} | {{m for m in sys.modules if m in {subcommands}}})
print(json.dumps({{"exit": code, "loaded": loaded}}), file=sys.stderr)
"""


def _loaded_by(*args: str) -> tuple[int, list[str], str]:
    """Run the real CLI in a fresh interpreter; its exit code, the watched modules it loaded, its output."""
    code = _PROBE.format(heavy=repr(set(HEAVY)), subcommands=repr(set(SUBCOMMAND_MODULES)))
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    probe = json.loads(proc.stderr.strip().splitlines()[-1])
    return probe["exit"], probe["loaded"], proc.stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["rules"], ["rules", "TOK001"]], ids=" ".join)
def test_light_commands_import_no_heavy_library(args: list[str]) -> None:
    exit_code, loaded, out = _loaded_by(*args)
    assert exit_code == 0
    assert out.strip()
    assert loaded == [], f"`dsqa {' '.join(args)}` imported {', '.join(loaded)}"


def test_check_loads_no_other_subcommand(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [chat(i) for i in range(12)])
    exit_code, loaded, _ = _loaded_by("check", "-q", str(data))
    assert exit_code == 0
    assert not [m for m in loaded if m in SUBCOMMAND_MODULES or m.startswith("openai")]


def test_a_lazy_command_loads_its_module_when_it_runs() -> None:
    exit_code, loaded, out = _loaded_by("split", "--help")
    assert exit_code == 0
    assert "Usage: dsqa split" in out
    assert "dsqa.cli_convert" in loaded and "dsqa.cli_finetune" not in loaded


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_lazy_table_matches_each_command(name: str) -> None:
    with click.Context(cli) as ctx:
        command = cli.get_command(ctx, name)
    assert command is not None and command.name == name
    # `dsqa --help` shows the table's text without importing the module: it must be the command's own
    assert LAZY_COMMANDS[name][1] == command.get_short_help_str(limit=1000)


def test_help_lists_every_command_once() -> None:
    exit_code, _, out = _loaded_by("--help")
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert exit_code == 0
    assert listed == sorted({"check", "rules", *LAZY_COMMANDS})


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    exit_code, _, out = _loaded_by("--version")
    assert exit_code == 0
    assert out.strip() == f"dsqa, version {version('dsqa')}"


def test_version_without_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import importlib.metadata

    import dsqa._version

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    try:
        assert importlib.reload(dsqa._version).__version__ == "0+unknown"
    finally:
        monkeypatch.undo()
        importlib.reload(dsqa._version)


def test_importing_the_package_loads_no_validator() -> None:
    code = (
        "import sys, dsqa; before = 'dsqa.engine' in sys.modules or 'dsqa.validators' in sys.modules;"
        "check = dsqa.check; from dsqa import load_config, Config;"
        "print(before, check.__module__, load_config.__module__, Config.__module__, hasattr(dsqa, 'nothing_here'))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert proc.stdout.split() == ["False", "dsqa.engine", "dsqa.config", "dsqa.config", "False"]
