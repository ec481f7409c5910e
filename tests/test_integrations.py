"""The GitHub Action's check step and the pre-commit hook run the real dsqa as documented."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    bindir = Path(sys.executable).parent
    return {
        **os.environ, "NO_COLOR": "1", "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), **extra,
    }


@pytest.mark.skipif(shutil.which("dsqa") is None and not (Path(sys.executable).parent / "dsqa").exists(),
                    reason="the dsqa console script is not installed (pip install -e .)")
def test_action_check_step(tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "check")
    work = tmp_path / "repo"
    (work / "data").mkdir(parents=True)
    shutil.copy(ROOT / "sample_data" / "defects.jsonl", work / "data" / "train.jsonl")
    env = _env(tmp_path, DSQA_FILES="data/**/*.jsonl", DSQA_ARGS="--select RDR,SCH", DSQA_BASELINE="", DSQA_SARIF="dsqa.sarif")
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr  # the step records the code; a later step fails the job
    assert (tmp_path / "output").read_text(encoding="utf-8") == "exit-code=1\n"
    assert proc.stdout.startswith("::error file=data/train.jsonl,line=1,title=SCH001::")
    sarif = json.loads((work / "dsqa.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"]
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").startswith("## dsqa: ❌ failed")


def test_pre_commit_hook_checks_each_jsonl(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "dsqa")
    assert hook["files"] == r"\.jsonl$" and hook["language"] == "python"
    entry = shlex.split(hook["entry"])
    assert entry[0] == "dsqa"
    clean = ROOT / "sample_data" / "chat_clean.jsonl"
    defects = ROOT / "sample_data" / "defects.jsonl"
    # pre-commit appends the staged file names to the entry
    run = [sys.executable, "-m", "dsqa", *entry[1:]]
    assert subprocess.run([*run, str(clean)], env=_env(tmp_path), capture_output=True, timeout=300).returncode == 0
    assert subprocess.run([*run, str(clean), str(defects)], env=_env(tmp_path), capture_output=True, timeout=300).returncode == 1
