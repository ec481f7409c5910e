"""Delete each literal or alternative of each content and sensitive prefilter in turn, and run the tests.

Not part of the suite. Each mutant is written into a copy of the source tree (the worktree is not
touched) and the prefilter tests run against it; a mutant is killed when a test fails. Usage:

    python benchmarks/mutate_prefilters.py [--list] [--only SUBSTRING] [--tests 'tests/test_prefilters.py ...'] [-k EXPR]
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CONTENT = "dsqa/validators/content/"
#: (file, the names of the prefilter functions and constants whose literals are mutated)
TARGETS = [
    (CONTENT + "cnt002_placeholders.py", ["may_hold_placeholder", "may_hold_placeholder_marks", "_LT",
                                          "may_hold_placeholder_words", "_BRACKET_LINE", "_LETTERS"]),
    (CONTENT + "cnt003_boilerplate.py", ["may_lower", "_N_LITERALS", "may_hold_boilerplate", "may_disclaim",
                                         "may_refuse", "not_refusal", "_APOSTROPHE", "_OTHER_SCRIPTS", "_N_FOREIGN"]),
    (CONTENT + "cnt005_cutoff.py", ["may_look_cut_off"]),
    (CONTENT + "cnt006_mojibake.py", ["may_hold_mojibake", "_A_TILDE"]),
    (CONTENT + "lines.py", ["_ESCAPED_ASCII", "line_gates"]),
    ("dsqa/redact.py", ["KINDS"]),
    ("dsqa/validators/sensitive/lines.py", ["__call__"]),
    ("dsqa/reading.py", ["may_repeat_key", "_may_nest_deep", "_may_hold_surrogate", "_SURROGATE_ESCAPE"]),
]
#: constants that hold a regular expression: its alternatives are deleted one at a time
REGEXES = {"_N_LITERALS", "_N_FOREIGN", "_BRACKET_LINE", "_ESCAPED_ASCII", "_SURROGATE_ESCAPE"}
DEFAULT_TESTS = "tests/test_prefilters.py tests/test_content_sensitive_rules.py"


class Mutant(NamedTuple):
    path: str
    where: str
    start: int
    end: int
    replacement: str
    what: str


def _offsets(source: str) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line.encode("utf-8")))
    return starts


def _alternatives(body: str) -> list[tuple[int, int]]:
    """The spans of the alternatives of every group (and of the whole) in a regular expression's source."""
    groups: list[list[int]] = [[0]]  # for each open group: where its alternatives start and split
    spans: list[tuple[int, int]] = []
    i, in_class = 0, False
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            start = i + 1
            if body.startswith("?", start):  # (?:  (?<=  (?=  (?i:
                close = body.find(":", start) if body[start + 1] not in "=!<" or body.startswith("<=", start + 1) is False else -1
                if body.startswith("?<=", start) or body.startswith("?<!", start):
                    start += 3
                elif body.startswith("?=", start) or body.startswith("?!", start):
                    start += 2
                else:
                    start = close + 1
            groups.append([start])
        elif c == "|":
            groups[-1].append(i)
        elif c == ")":
            marks = groups.pop()
            if len(marks) > 1:
                bounds = marks + [i]
                spans += [(bounds[k] + (k > 0), bounds[k + 1]) for k in range(len(bounds) - 1)]
        i += 1
    marks = groups.pop()
    if len(marks) > 1:
        bounds = marks + [len(body)]
        spans += [(bounds[k] + (k > 0), bounds[k + 1]) for k in range(len(bounds) - 1)]
    return spans


def _mutants_of(root: Path, path: str, names: list[str]) -> list[Mutant]:
    source = (root / path).read_text("utf-8")
    data = source.encode("utf-8")
    tree = ast.parse(source)
    offsets = _offsets(source)
    out = []
    for node in ast.walk(tree):
        name = getattr(node, "name", None)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], (ast.Name, ast.Tuple)):
            target = node.targets[0]
            name = target.id if isinstance(target, ast.Name) else getattr(target.elts[0], "id", None)  # type: ignore[attr-defined]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
        if name not in names or not isinstance(node, (ast.FunctionDef, ast.Assign, ast.AnnAssign)):
            continue
        docstring = node.body[0].value if isinstance(node, ast.FunctionDef) and isinstance(node.body[0], ast.Expr) else None
        # in KINDS only the needles are prefilter literals (the rest are patterns, labels, codes)
        scope = [k.value for k in ast.walk(node) if isinstance(k, ast.keyword) and k.arg == "needles"] if name == "KINDS" else [node]
        for const in (c for part in scope for c in ast.walk(part)):
            if not isinstance(const, ast.Constant) or not isinstance(const.value, (str, bytes)) or const is docstring:
                continue
            start = offsets[const.lineno - 1] + const.col_offset
            end = offsets[const.end_lineno - 1] + const.end_col_offset  # type: ignore[operator]
            literal = data[start:end].decode("utf-8")
            out += _literal_mutants(path, name, start, end, literal, const.value, name in REGEXES)
        if name == "KINDS":
            out += _run_mutants(path, node, offsets, data)
    return out


def _literal_mutants(path: str, name: str, start: int, end: int, literal: str, value: str | bytes,
                     regex: bool) -> list[Mutant]:
    prefix = literal[: len(literal) - len(literal.lstrip("rbRB"))]
    quote = literal[len(prefix)]
    body = literal[len(prefix) + 1:-1]
    if regex:
        out = []
        for a, b in _alternatives(body):
            # the alternative and one '|' beside it: the one before it, or after it if it is the first
            if a > 0 and body[a - 1] == "|":
                a -= 1
            else:
                b += 1
            out.append(Mutant(path, name, start, end, prefix + quote + body[:a] + body[b:] + quote,
                              f"{name}: delete alternative {body[a:b].strip('|')!r}"))
        return out
    if len(value) == 4 and name == "_A_TILDE":  # one string of four characters, each the literal of a test
        return [Mutant(path, name, start, end, repr(value.replace(c, "\x01")), f"{name}: delete {c!r}") for c in value]
    never = "\\x00" if len(value) == 1 else "\\x00\\x00"  # no JSON line or test text holds a NUL
    return [Mutant(path, name, start, end, prefix + quote + never + quote, f"{name}: delete literal {value!r}")]


def _run_mutants(path: str, node: ast.AST, offsets: list[int], data: bytes) -> list[Mutant]:
    """A Run's separators, one at a time, and its length plus one."""
    out = []
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Run":
            sep, length = call.args[1], call.args[2]
            start = offsets[sep.lineno - 1] + sep.col_offset
            end = offsets[sep.end_lineno - 1] + sep.end_col_offset  # type: ignore[operator]
            for c in sep.value:  # type: ignore[attr-defined]
                out.append(Mutant(path, "KINDS", start, end, repr(sep.value.replace(c, "")),  # type: ignore[attr-defined]
                                  f"KINDS Run separators {sep.value!r}: delete {c!r}"))  # type: ignore[attr-defined]
            start = offsets[length.lineno - 1] + length.col_offset
            end = offsets[length.end_lineno - 1] + length.end_col_offset  # type: ignore[operator]
            out.append(Mutant(path, "KINDS", start, end, "(" + data[start:end].decode() + ") + 1",
                              f"KINDS Run length {data[start:end].decode()} + 1"))
    return out


def _run(mutant: Mutant, tests: str, select: str, work: Path) -> tuple[bool, str]:
    target = work / mutant.path
    original = target.read_bytes()
    target.write_bytes(original[:mutant.start] + mutant.replacement.encode("utf-8") + original[mutant.end:])
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests.split(), *(["-k", select] if select else [])],
                                cwd=work, capture_output=True, text=True, timeout=900)
    finally:
        target.write_bytes(original)
    if result.returncode not in (0, 1):  # no tests collected, an internal error: not a kill
        raise SystemExit(f"pytest exited {result.returncode} on {mutant.what}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return result.returncode == 1, failed[0] if failed else result.stdout.strip().splitlines()[-1:][0] if result.stdout.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    parser.add_argument("--only", default="", help="only the mutants whose description holds this")
    parser.add_argument("--tests", default=DEFAULT_TESTS, help="the test files to run")
    parser.add_argument("-k", dest="select", default="", help="a pytest -k expression to run only some tests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # a snapshot: the mutants are made from it and written into it, so edits meanwhile do not matter
        work = Path(tmp) / "tree"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info"))
        mutants = [m for path, names in TARGETS for m in _mutants_of(work, path, names) if args.only in f"{m.path}: {m.what}"]
        if args.list:
            for m in mutants:
                print(f"{m.path}: {m.what}")
            print(f"{len(mutants)} mutants")
            return 0
        killed = 0
        for i, m in enumerate(mutants, 1):
            dead, why = _run(m, args.tests, args.select, work)
            killed += dead
            print(f"[{i}/{len(mutants)}] {'killed' if dead else 'SURVIVED'}  {m.path}: {m.what}  {why}", flush=True)
    print(f"{killed} of {len(mutants)} mutants killed")
    return 0 if killed == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
