"""Every secret pattern is linear in the text length: adversarial repeats of each kind's needles finish fast (issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from dsqa.redact import KINDS, find_secrets, mask_secrets
from helpers import ROOT

#: what the child process runs: for every kind, texts of 100,000 characters made of its needles
#: (or its run's characters) repeated with glue between, and the CPU time of its slowest text
_SWEEP = r"""
import json, sys, time
from dsqa.redact import KINDS, find_secrets
SIZE = 100_000
out = {}
for name, kind in KINDS.items():
    seeds = list(kind.needles)
    if kind.run is not None:
        seeds += [kind.run.chars[:4], kind.run.chars[-4:], kind.run.chars[:1] + kind.run.separators[:1]]
    seeds += ["0", "a1", "Ab3/", "@a.", "1 ", "+1 ", "(0) 1", "0 12 ", "x:", "AA", "-", "eyJ", "://a:b"]
    worst = 0.0
    for n in seeds:
        texts = [(n + glue) * (SIZE // len(n + glue) + 1) for glue in ("", "a", "1", "-", " ", ".", "=", "A", "_", "/", ":", "@")]
        texts += [n + "a" * SIZE, n + "1" * SIZE, n + "Ab3" * (SIZE // 3)]
        for text in texts:
            t = time.process_time()
            find_secrets(text, [name])
            worst = max(worst, time.process_time() - t)
    out[name] = worst
print(json.dumps(out))
"""


def test_no_kind_is_slow_on_adversarial_repeats_of_its_needles() -> None:
    # in a child process with a timeout: a quadratic pattern takes minutes on 100,000 characters
    # (sk- repeated 20,000 times took 99 s), a linear one milliseconds
    proc = subprocess.run([sys.executable, "-c", _SWEEP], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    worst = json.loads(proc.stdout)
    assert set(worst) == set(KINDS)
    slow = {name: round(t, 2) for name, t in worst.items() if t > 2.0}
    assert slow == {}


def test_one_and_a_half_megabytes_of_sk_is_searched_in_well_under_a_second() -> None:
    for text in ("sk-" * 20_000, "sk-" * 500_000, "sk-proj-" * 200_000, "eyJ." * 400_000, "password=" * 170_000):
        t = time.process_time()
        assert find_secrets(text) == []
        assert mask_secrets(text) == text
        assert time.process_time() - t < 1.0, len(text)
    # an unfinished key block runs to the end of the text: one finding, found as fast
    text = "-----BEGIN PRIVATE KEY-----" * 50_000
    t = time.process_time()
    assert [m.kind for m in find_secrets(text)] == ["private_key"]
    assert time.process_time() - t < 1.0


def test_many_matches_in_one_text_stay_linear() -> None:
    # the overlap test bisects the spans taken so far instead of comparing with each of them
    text = "write to ann@acme-corp.io, " * 50_000
    t = time.process_time()
    found = find_secrets(text)
    assert len(found) == 50_000
    assert time.process_time() - t < 3.0
