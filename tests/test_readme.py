"""The example outputs in the README are what dsqa prints: each is run again and compared.

A README example is a console block right after a `<!-- example -->` marker; its first line is
`$ dsqa ...`, run in a fresh directory that holds the sample data and the LLaMA-Factory demo sets
(under their own names), and the rest is the output (stdout, then stderr). To refresh them after a
deliberate change: `python tests/test_readme.py --update`, then read the diff.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REAL, ROOT

README = ROOT / "README.md"
_BLOCK = re.compile(r"<!-- example -->\n```console\n\$ (?P<cmd>[^\n]+)\n(?P<out>.*?)```", re.S)


def examples(text: str) -> list[re.Match[str]]:
    """The README's example blocks, in order."""
    return list(_BLOCK.finditer(text))


def run_example(cmd: str, workdir: Path) -> str:
    """Run one example command as a user would, in ``workdir``; return what it printed."""
    for src in (*sorted((ROOT / "sample_data").glob("*.jsonl")), *sorted(REAL.glob("*.json"))):
        shutil.copy(src, workdir / src.name)
    argv = shlex.split(cmd)
    assert argv[0] == "dsqa", cmd
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    proc = subprocess.run([sys.executable, "-m", "dsqa", *argv[1:]], cwd=workdir, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=300)
    return proc.stdout + proc.stderr


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the demo sets are not at {REAL}")
@pytest.mark.parametrize("index", range(len(examples(README.read_text(encoding="utf-8")))))
def test_readme_example_is_what_dsqa_prints(index: int, tmp_path: Path) -> None:
    block = examples(README.read_text(encoding="utf-8"))[index]
    assert run_example(block["cmd"], tmp_path) == block["out"], f"README example `{block['cmd']}` is out of date"


def test_readme_has_examples() -> None:
    assert len(examples(README.read_text(encoding="utf-8"))) >= 3


def update() -> None:
    """Rewrite every example block with what its command prints now."""
    import tempfile

    text = README.read_text(encoding="utf-8")
    out, last = [], 0
    for block in examples(text):
        with tempfile.TemporaryDirectory() as tmp:
            printed = run_example(block["cmd"], Path(tmp))
        out += [text[last:block.start("out")], printed]
        last = block.end("out")
    README.write_text("".join(out) + text[last:], encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    if sys.argv[1:] != ["--update"]:
        raise SystemExit("usage: python tests/test_readme.py --update")
    update()
