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


def test_the_reader_has_one_name() -> None:
    """The compatibility shim dsqa.sources is gone: every module imports reading, spans and outputs by their own names."""
    import ast
    import importlib.util
    from pathlib import Path

    assert importlib.util.find_spec("dsqa.sources") is None
    root = Path(__file__).resolve().parents[1]
    shim_users = []
    for path in [*sorted((root / "dsqa").rglob("*.py")), *sorted((root / "tests").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            module = getattr(node, "module", None) or ""
            if isinstance(node, ast.ImportFrom) and module.split(".")[-1] == "sources" and (node.level or module.startswith("dsqa")):
                shim_users.append(f"{path.relative_to(root)}:{node.lineno}")
            elif isinstance(node, ast.Import) and any(a.name == "dsqa.sources" for a in node.names):
                shim_users.append(f"{path.relative_to(root)}:{node.lineno}")
    assert shim_users == []
