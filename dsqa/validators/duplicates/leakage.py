"""Leakage between the training and the validation file: exact (DUP004) and near (DUP005) copies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...model import Finding, Severity
from ...wording import similarity as shown
from ..base import Code
from .similar import similarity

if TYPE_CHECKING:
    import numpy as np

    from .validator import DuplicatesValidator

_RECORD = '{"messages": [{"role": "user", "content": "How do I reset my router?"}, {"role": "assistant", "content": "Hold the reset button for ten seconds."}]}'
_OTHER = '{"messages": [{"role": "user", "content": "What colour is the sky?"}, {"role": "assistant", "content": "Blue, on a clear day."}]}'
_LONG = (
    "My chain keeps falling off when I change gear on hills, what should I check first? Check the rear derailleur limit"
    " screws and the chain length; a worn chain or a bent hanger also makes it jump."
)


def _chat(text: str) -> str:
    question, answer = text.split("? ", 1)
    return '{"messages": [{"role": "user", "content": "' + question + '?"}, {"role": "assistant", "content": "' + answer + '"}]}'


CODES: dict[str, Code] = {
    "DUP004": Code(
        Severity.ERROR,
        "validation example is also in the training file",
        why="""
            With a validation file (dsqa check train.jsonl --validation val.jsonl, or
            validation: in the rule pack), a validation record that is also in a training file
            (after normalisation) measures how well the model memorised it, not how well it
            generalises: the validation loss becomes meaningless. Reported at the validation
            line, naming the training file and line. Remove it from one of the two files.
        """,
        failing=f"training file line 1: {_RECORD}\nvalidation file line 1: {_RECORD}",
        passing=f"training file line 1: {_RECORD}\nvalidation file line 1: {_OTHER}",
        options=("case_fold",),
    ),
    "DUP005": Code(
        Severity.ERROR,
        "validation example is a near-duplicate of a training example",
        why="""
            A validation record that is a near-copy of a training record (similarity at or
            above threshold, found as for DUP002) makes the validation loss as meaningless as
            an exact copy does. As for DUP002, only what people wrote is compared: two examples
            that share tool definitions and tool-call JSON but ask about different things are
            not copies. Reported at the validation line, naming the training file and line.
            Remove it from one of the two files.
        """,
        failing=f"training file line 1: {_chat(_LONG)}\nvalidation file line 1: {_chat(_LONG + ' Thanks.')}",
        passing=f"training file line 1: {_chat(_LONG)}\nvalidation file line 1: {_OTHER}",
        options=("threshold", "scope", "near", "case_fold", "bands", "rows"),
    ),
}


def leaks(v: DuplicatesValidator) -> Iterator[Finding]:
    """Validation records that are exact or near duplicates of a training record; counts in ``v.metrics``."""
    import numpy as np

    a = v._arrays()
    leaked = np.zeros(a["n"], dtype=bool)
    counts = {"exact": 0, "near": 0}
    for train in v._train:
        yield from _exact(v, train, leaked, counts)
    if v.options["near"]:
        for train in v._train:
            yield from _near(v, train, leaked, counts)
    stats = v.metrics.setdefault("duplicates", {})
    stats["leaked_exact"] = counts["exact"]
    stats["leaked_near"] = counts["near"]


def _exact(v: DuplicatesValidator, train: DuplicatesValidator, leaked: np.ndarray, counts: dict[str, int]) -> Iterator[Finding]:
    import numpy as np

    a, t = v._arrays(), train._arrays()
    if not t["n"] or not a["n"]:
        return
    order = np.argsort(t["exact"], kind="stable")
    sorted_exact = t["exact"][order]
    pos = np.searchsorted(sorted_exact, a["exact"])
    hit = pos < len(sorted_exact)
    hit[hit] = sorted_exact[pos[hit]] == a["exact"][hit]
    for i in np.flatnonzero(hit & ~leaked):
        line = int(t["lines"][order[pos[i]]])
        counts["exact"] += 1
        yield v._at(
            "DUP004", int(a["lines"][i]), f"also in training file {train.context.path} at line {line}",
            "remove it from one of the two files; shared examples make the validation loss meaningless",
            {"training_file": train.context.path, "training_line": line},
        )
    leaked |= hit


def _near(v: DuplicatesValidator, train: DuplicatesValidator, leaked: np.ndarray, counts: dict[str, int]) -> Iterator[Finding]:
    import numpy as np

    from ...minhash import cross_pairs

    a, t = v._arrays(), train._arrays()
    if not t["n"] or not a["n"] or not len(t["valid"]) or not len(a["valid"]):
        return
    ids = np.flatnonzero(a["valid"] & ~leaked)
    tids = np.flatnonzero(t["valid"] & t["unique"])
    pairs = cross_pairs(a["keys"][ids], ids, t["keys"][tids], tids)
    if not len(pairs):
        return
    mine = v.reread(sorted({int(p) for p in pairs[:, 0]}))
    theirs = train.reread(sorted({int(p) for p in pairs[:, 1]}))
    for problem in (mine, theirs):
        if isinstance(problem, str):
            yield v._at("DUP006", None, f"near-duplicate leakage check skipped: {problem}")
    if isinstance(mine, str) or isinstance(theirs, str):
        return
    for i, (s, j) in sorted(_best_matches(pairs, mine, theirs, v.options).items()):
        line = int(t["lines"][j])
        counts["near"] += 1
        leaked[i] = True
        yield v._at(
            "DUP005", int(a["lines"][i]),
            f"near-duplicate of training file {train.context.path} line {line} (similarity {shown(s)})",
            "remove it from one of the two files; near-copies make the validation loss meaningless",
            {"training_file": train.context.path, "training_line": line, "similarity": round(s, 3)},
        )


def _best_matches(pairs: np.ndarray, mine: dict[int, Any], theirs: dict[int, Any], options: dict[str, Any]) -> dict[int, tuple[float, int]]:
    """For each validation record, its most similar training record at or above the threshold (the earliest of equals)."""
    threshold = float(options["threshold"])
    conversation = options["scope"] == "conversation"
    sim = similarity
    best: dict[int, tuple[float, int]] = {}
    for i, j in pairs:
        i, j = int(i), int(j)
        ti, tj = mine[i], theirs[j]
        if conversation and sim(ti.system, tj.system, score_cutoff=threshold) < threshold:
            continue
        s = sim(ti.scope, tj.scope, score_cutoff=threshold)
        if s >= threshold and (i not in best or (s, -j) > (best[i][0], -best[i][1])):
            best[i] = (s, j)
    return best
