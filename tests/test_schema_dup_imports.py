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

    records = [
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
        {"messages": [{"role": "assistant", "content": "I start."}, {"role": "user", "content": "Ok"}]},  # empty context
        {"messages": [{"role": "user", "content": "No reply"}]},  # no answer
        {"messages": [{"role": "user", "content": "Caf\u00e9 \ud800"}, {"role": "assistant", "content": "x", "weight": 1}], "tools": []},
        {"prompt": "2+2?", "completion": "4"},
    ]
    fmts = ["openai-chat"] * 4 + ["prompt-completion"]
    for value, fmt in zip(records, fmts):
        t = texts_of(value, fmt, "conversation", _Normaliser(False))
        want = (_digest(t.exact), _digest(t.context) if t.answer is not None and t.context is not None else 0,
                _digest(t.answer) if t.answer is not None and t.context is not None else 0)
        assert digests(t) == want, value
