"""CTM001 made cheaper without changing what it finds: the fast paths of ``normalise`` and
``shingles`` give the bytes and hashes a plain reference gives, and every GSM8K test question and
HumanEval prompt is still found in a training file, naming its item."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa import check, load_config
from dsqa.contamination import _POSITION, _SAMPLE_MUL, _SAMPLE_SHIFT, _SPACES, _TYPOGRAPHIC, SHINGLE_WORDS, normalise, shingles

from helpers import write_jsonl

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks"
if not BENCH.is_dir():
    BENCH = Path("/work/shared/data/benchmarks")
_MASK = (1 << 64) - 1


def _reference_normalise(text: str) -> bytes:
    lowered = text.lower()
    if not lowered.isascii():
        lowered = lowered.translate(_TYPOGRAPHIC)
    return lowered.encode("utf-8").translate(_SPACES)


def _mix(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _reference_shingles(texts: list[bytes]) -> list[tuple[int, int]]:
    """(hash, text) of each sampled run of eight words, word by word in plain Python."""
    out = []
    for owner, text in enumerate(texts):
        tokens = [int.from_bytes(w[:8], "little") for w in text.split(b" ") if w]
        for i in range(len(tokens) - SHINGLE_WORDS + 1):
            if ((tokens[i] * int(_SAMPLE_MUL)) & _MASK) >> int(_SAMPLE_SHIFT):
                continue
            h = sum(tokens[i + j] * int(_POSITION[j]) for j in range(SHINGLE_WORDS)) & _MASK
            out.append((_mix(h), owner))
    return out


_WORDS = ["the", "a", "Janet's", "DUCKS", "lay", "16", "eggs", "per", "day.", "she", "sells", "remainder",
          "naïve", "Straße", "Привет", "中文", "’", "—", "x" * 12, "\n", "  ", "\t", "$2", "(ok)", "İstanbul", "\u212a"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join), max_size=6))
def test_normalise_and_shingles_match_the_reference(texts: list[str]) -> None:
    normed = [normalise(t) for t in texts]
    assert normed == [_reference_normalise(t) for t in texts]
    hashes, owners = shingles(normed)
    assert sorted(zip(hashes.tolist(), owners.tolist())) == sorted(_reference_shingles(normed))


def test_shingles_of_edge_cases() -> None:
    for texts in ([], [b""], [b"   "], [b"a b c d e f g h"], [b"a b", b"c d e f g h i j k"], [b"  a  b  c d e f g h  ", b"", b"q w e r t y u i o p"]):
        hashes, owners = shingles(texts)
        assert sorted(zip(hashes.tolist(), owners.tolist())) == sorted(_reference_shingles(texts))
        assert hashes.dtype == np.uint64 and owners.dtype == np.int64


@pytest.mark.skipif(not (BENCH / "gsm8k_test.jsonl").is_file(), reason="the benchmark sets are not on this machine")
def test_every_public_item_is_still_found(tmp_path: Path) -> None:
    gsm = [json.loads(line) for line in (BENCH / "gsm8k_test.jsonl").read_text("utf-8").splitlines() if line.strip()]
    with gzip.open(BENCH / "humaneval.jsonl.gz", "rt", encoding="utf-8") as f:
        human = [json.loads(line) for line in f if line.strip()]
    rng = random.Random(4)
    records = []
    for item in gsm:
        records.append({"messages": [{"role": "user", "content": item["question"]}, {"role": "assistant", "content": "42"}]})
    for item in human:
        records.append({"messages": [{"role": "user", "content": "Complete this:\n" + item["prompt"]}, {"role": "assistant", "content": "pass"}]})
    # and ordinary examples between them, which must not be flagged
    for _ in range(300):
        words = " ".join(rng.choice(["apple", "river", "blue", "seven", "walk", "quiet", "paper"]) for _ in range(30))
        records.insert(rng.randrange(len(records)), {"messages": [{"role": "user", "content": words}, {"role": "assistant", "content": "ok"}]})
    path = write_jsonl(tmp_path / "train.jsonl", records)
    config = load_config("default").with_overrides(select=("CTM",))
    found = {f.line: f for f in check([path], config).findings}
    wanted, unsampled = set(), []
    for line, r in enumerate(records, 1):
        text = r["messages"][0]["content"]
        if text.split()[0] in ("apple", "river", "blue", "seven", "walk", "quiet", "paper"):
            continue
        # one run in four is kept, chosen by its first word: a few short items keep none and
        # cannot be found (the index has none of their runs either); the rest must all be
        if len(shingles([normalise(text)])[0]):
            wanted.add(line)
        else:
            unsampled.append(line)
    assert len(unsampled) == 4 and len(wanted) == 1_319 + 164 - 4
    assert set(found) == wanted
    assert {f.data["items"][0]["benchmark"] for f in found.values()} == {"GSM8K test", "HumanEval"}
    janet = next(f for f in found.values() if "Janet" in f.message)
    assert janet.data["items"][0]["item"] == "line 1"
