"""The lint core stays free of the CLI and API client libraries, so it can be embedded anywhere."""

from __future__ import annotations

import subprocess
import sys


def test_engine_imports_neither_click_nor_openai() -> None:
    code = (
        "import sys, dsqa, dsqa.engine, dsqa.reporters, dsqa.config;"
        "dsqa.check(['/dev/null']);"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'openai'));"
        "print(','.join(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""
