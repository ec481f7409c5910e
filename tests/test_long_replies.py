"""Very long replies: CNT004 compares words in windows, the duplicates sketch reads the first MiB; findings stay right."""

from __future__ import annotations

import random
from pathlib import Path

from dsqa import check, load_config
from dsqa.validators.content.cnt004_loops import WINDOW_CHARS, find_loop
from helpers import write_jsonl


def _prose(n_words: int, seed: int) -> str:
    rng = random.Random(seed)
    vocab = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "su", "ta", "ve", "zo") for b in ("rin", "dal", "mek", "pos", "tus")]
    return " ".join(rng.choice(vocab) for _ in range(n_words))


def test_a_loop_at_the_end_of_a_huge_reply_is_found() -> None:
    loop = " ".join(["The model keeps saying the very same sentence here."] * 60)
    reply = _prose(200_000, 1) + " " + loop
    assert len(reply) > 2 * WINDOW_CHARS
    found = find_loop(reply, 3, 8)
    assert found is not None and "same sentence" in found[0] and found[1] >= 3


def test_a_huge_reply_without_a_loop_has_no_cnt004(tmp_path: Path) -> None:
    reply = _prose(200_000, 2)
    loop = " ".join(["Please try again later, the service is busy right now."] * 40)
    data = write_jsonl(tmp_path / "long.jsonl", [
        {"messages": [{"role": "user", "content": "Tell me everything."}, {"role": "assistant", "content": reply}]},
        {"messages": [{"role": "user", "content": "Again."}, {"role": "assistant", "content": _prose(200_000, 3) + " " + loop}]},
    ])
    report = check([data], load_config("default"))
    assert [(f.line, f.code) for f in report.findings if f.code == "CNT004"] == [(2, "CNT004")]
