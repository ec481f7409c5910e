"""The schema and duplicates rules import their heavy dependencies at first use, and their digests do not depend on the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Import the two rule packages without running dsqa/__init__.py and dsqa/validators/__init__.py,
# which import the engine, the config loader and every other validator: this measures only what
# these packages themselves import.
_PROBE = """
import importlib.util, sys
for name, sub in (("dsqa", "dsqa"), ("dsqa.validators", "dsqa/validators")):
    where = sys.argv[1] + "/" + sub
    spec = importlib.util.spec_from_file_location(name, where + "/__init__.py", submodule_search_locations=[where])
    sys.modules[name] = importlib.util.module_from_spec(spec)  # not executed
import dsqa.validators.schema, dsqa.validators.duplicates
heavy = sorted(m for m in ("jsonschema", "numpy", "rapidfuzz", "referencing") if m in sys.modules)
print(",".join(heavy))
"""


def test_importing_schema_and_duplicates_imports_no_heavy_dependency() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(ROOT)], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_the_probe_would_see_a_heavy_import() -> None:
    # the probe above is not blind: importing a module that uses numpy at import time shows it
    probe = _PROBE.replace("import dsqa.validators.schema, dsqa.validators.duplicates", "import dsqa.minhash")
    out = subprocess.run([sys.executable, "-c", probe, str(ROOT)], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "numpy" in out.stdout


_DIGESTS = """
import json, sys
from dsqa.validators.duplicates.texts import _digest
print(json.dumps([_digest("Hello"), _digest(("<user> Hi", "<assistant> Hello", "")), _digest(("a", "b")), _digest(("ab",))]))
"""


def test_digests_are_the_same_in_every_process() -> None:
    runs = []
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", _DIGESTS], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == runs[2]
    hello, chat, ab_split, ab_joined = runs[0]
    assert len({hello, chat, ab_split, ab_joined}) == 4  # a tuple's parts keep their boundaries
    assert all(0 < d < 2**64 for d in runs[0])


def test_one_pass_digests_equal_the_digests_of_each_part() -> None:
    from dsqa.validators.duplicates.texts import _digest, _Normaliser, digests, texts_of

    def chat(*turns: tuple[str, str], **more: object) -> dict[str, object]:
        return {"messages": [{"role": r, "content": c} for r, c in turns], **more}

    records = [
        chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello")),
        chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello there")),  # same context, other answer
        chat(("system", "Be terse."), ("user", "Hi"), ("assistant", "Hello")),  # other context, same answer
        chat(("assistant", "I start."), ("user", "Ok")),  # empty context
        chat(("user", "No reply")),  # no answer
        chat(("user", "Caf\u00e9 \ud800"), ("assistant", "x"), tools=[]),
    ]
    seen = []
    for value in records:
        t = texts_of(value, "openai-chat", "conversation", _Normaliser(False))
        exact, context, answer = digests(t)
        assert exact == _digest(t.exact)
        has_answer = t.answer is not None and t.context is not None
        assert context == (_digest(t.context) if has_answer else 0)
        assert answer == (_digest((*t.context, f"<assistant> {t.answer}")) if has_answer else 0)
        seen.append((context, answer))
    assert seen[0][0] == seen[1][0] and seen[0][1] != seen[1][1]  # a conflict is visible
    assert seen[0][0] != seen[2][0]
    assert digests(texts_of({"prompt": "2+2?", "completion": "4"}, "prompt-completion", "conversation", _Normaliser(False)))[0] != 0
