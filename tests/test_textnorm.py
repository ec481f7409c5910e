"""One way to level texts for comparison (issue 15): DLG005, PRF008 and split's content hash share ``squash``."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from dsqa import check, load_config
from dsqa.convert import split
from dsqa.textnorm import squash
from dsqa.validators.conversation import repeats
from dsqa.validators.preference import copies


def test_squash_levels_case_and_every_unicode_space() -> None:
    assert squash("  Hello,\u00a0WORLD\t\u2028again\x1c ") == "hello, world again"
    assert squash("Straße") == "strasse"
    # the regular expression it replaced, over every character
    ws = re.compile(r"\s+")
    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    text = f"{spaces}A{spaces}b c{spaces}"
    assert squash(text) == ws.sub(" ", text).strip().casefold() == "a b c"


def test_one_home() -> None:
    assert not hasattr(repeats, "_squash") and not hasattr(copies, "_squash")
    assert repeats.squash is squash and copies.squash is squash and split.squash is squash


def test_the_rules_compare_levelled_texts(tmp_path: Path) -> None:
    prompt = "Please list the three primary colours of light"
    chat = {"messages": [{"role": "user", "content": prompt},
                         {"role": "assistant", "content": "PLEASE\u00a0list the three\n primary colours of light"}]}
    pair = {"input": {"messages": [{"role": "user", "content": prompt}]},
            "preferred_output": [{"role": "assistant", "content": f" {prompt.upper()}\t"}],
            "non_preferred_output": [{"role": "assistant", "content": "Red, green and blue."}]}
    chats, pairs = tmp_path / "chat.jsonl", tmp_path / "pairs.jsonl"
    chats.write_text(json.dumps(chat) + "\n", encoding="utf-8")
    pairs.write_text(json.dumps(pair) + "\n", encoding="utf-8")
    found = {f.code for f in check([chats, pairs], load_config("default")).findings}
    assert {"DLG005", "PRF008"} <= found
    assert split.content_hash({"a": "Red  GREEN\u00a0blue"}) == split.content_hash({"a": "red green blue"})
