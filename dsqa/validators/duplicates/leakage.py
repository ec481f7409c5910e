"""Leakage between the splits of a run (train, validation, test...): exact (DUP004) and near (DUP005)
copies, and the same prompt in two splits (DUP007)."""

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
        "example of one split is also in another split",
        why="""
            With more than one split (dsqa check train.jsonl --validation val.jsonl --split
            test=test.jsonl, or validation: in the rule pack), a record of a later split that
            is also in an earlier one (after normalisation) measures how well the model
            memorised it, not how well it generalises: the validation loss or the test score
            becomes meaningless. Every pair of splits is compared (train, then validation,
            then the --split files in the order given); the copy is reported at the line of
            the later split, naming both splits and the earlier file and line. Remove it from
            one of the two files.
        """,
        failing=f"training file line 1: {_RECORD}\nvalidation file line 1: {_RECORD}",
        passing=f"training file line 1: {_RECORD}\nvalidation file line 1: {_OTHER}",
        options=("case_fold",),
    ),
    "DUP005": Code(
        Severity.ERROR,
        "example of one split is a near-duplicate of one in another split",
        why="""
            A record of a later split that is a near-copy of a record of an earlier split
            (similarity at or above threshold, found as for DUP002) makes the validation loss
            or test score as meaningless as an exact copy does. As for DUP002, only what people
            wrote is compared: two examples that share tool definitions and tool-call JSON but ask
            about different things are not copies. Reported at the line of the
            later split, naming both splits and the earlier file and line. Remove it from one
            of the two files.
        """,
        failing=f"training file line 1: {_chat(_LONG)}\nvalidation file line 1: {_chat(_LONG + ' Thanks.')}",
        passing=f"training file line 1: {_chat(_LONG)}\nvalidation file line 1: {_OTHER}",
        options=("threshold", "scope", "near", "case_fold", "bands", "rows"),
    ),
    "DUP007": Code(
        Severity.WARNING,
        "the same prompt in more than one split",
        why="""
            A record of a later split has the same prompt context (every message before the
            last assistant turn, after normalisation) as a record of an earlier split, with an
            answer that is neither the same nor a near-copy (those are DUP004 and DUP005). The
            model has been trained on the question, so the validation loss or test score on
            it says little about new questions. Reported once per record, at the line of the
            later split, naming every earlier split (and its file and line) that has the
            prompt. Keep each prompt in one split.
        """,
        failing=f"training file line 1: {_RECORD}\nvalidation file line 1: {_RECORD.replace('Hold the reset button for ten seconds.', 'Unplug it for a minute, then plug it back in.')}",
        passing=f"training file line 1: {_RECORD}\nvalidation file line 1: {_OTHER}",
        options=("case_fold",),
    ),
}

def leaks(v: DuplicatesValidator) -> Iterator[Finding]:
    """Records of this split that are exact or near duplicates of a record of an earlier split, or
    share its prompt; counts in ``v.metrics``."""
    import numpy as np

    a = v._arrays()
    leaked = np.zeros(a["n"], dtype=bool)
    counts = {"exact": 0, "near": 0, "prompts": 0}
    # the files of the same split are not compared with each other here (DUP001 is per file)
    others = [o for o in v._train if o.context.role != v.context.role]
    for other in others:
        yield from _exact(v, other, leaked, counts)
    if v._near:
        for other in others:
            yield from _near(v, other, leaked, counts)
    if v.wants("DUP007"):
        yield from _prompts(v, others, leaked, counts)
    stats = v.metrics.setdefault("duplicates", {})
    stats["leaked_exact"] = counts["exact"]
    stats["leaked_near"] = counts["near"]
    stats["shared_prompts"] = counts["prompts"]


def _record(v: DuplicatesValidator, pos: int) -> dict[str, int]:
    """``{"record": index}`` for a record of a JSON array (several may share a line), else nothing."""
    return {"record": int(v._index[pos])} if v.in_array() else {}


def _training_record(v: DuplicatesValidator, pos: int) -> dict[str, int]:
    """``{"training_record": index}`` for a training record of a JSON array, else nothing."""
    return {"training_record": int(v._index[pos])} if v.in_array() else {}


def _split(v: DuplicatesValidator) -> str:
    """A split's name as a message says it: "validation", "test"..."""
    return v.context.role


def _hint(v: DuplicatesValidator, what: str) -> str:
    result = "the validation loss" if _split(v) == "validation" else f"the {_split(v)} results"
    return f"remove it from one of the two files; {what} make {result} meaningless"


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
        j = int(order[pos[i]])
        counts["exact"] += 1
        yield v._at_record(
            "DUP004", int(i),
            f"{_split(v)} example is also in the {_split(train)} split: {train.context.path} {train._name(j, commas=True)}",
            _hint(v, "shared examples"),
            {"training_file": train.context.path, "training_line": int(t["lines"][j]), **_training_record(train, j),
             "other_split": _split(train)},
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
        counts["near"] += 1
        leaked[i] = True
        yield v._at_record(
            "DUP005", i,
            f"{_split(v)} example is a near-duplicate of the {_split(train)} split's {train.context.path} {train._name(j, commas=True)}"
            f" (similarity {shown(s)})",
            _hint(v, "near-copies"),
            {"training_file": train.context.path, "training_line": int(t["lines"][j]), **_training_record(train, j),
             "similarity": round(s, 3), "other_split": _split(train)},
        )


def _prompts(v: DuplicatesValidator, others: list[DuplicatesValidator], leaked: np.ndarray, counts: dict[str, int]) -> Iterator[Finding]:
    """DUP007: records not already leaked whose prompt context is in an earlier split, once per record."""
    import numpy as np

    a = v._arrays()
    if not a["n"]:
        return
    matches: dict[int, list[tuple[str, str, int]]] = {}
    for other in others:
        t = other._arrays()
        if not t["n"]:
            continue
        order = np.argsort(t["context"], kind="stable")
        sorted_context = t["context"][order]
        pos = np.searchsorted(sorted_context, a["context"])
        hit = (pos < len(sorted_context)) & (a["context"] != 0) & ~leaked
        hit[hit] = sorted_context[pos[hit]] == a["context"][hit]
        for i in np.flatnonzero(hit):
            matches.setdefault(int(i), []).append((other, int(order[pos[i]])))
    for i in sorted(matches):
        found = matches[i]
        counts["prompts"] += 1
        where = " and ".join(f"the {_split(o)} split's {o.context.path} {o._name(j, commas=True)}" for o, j in found)
        yield v._at_record(
            "DUP007", i, f"{_split(v)} example has the same prompt as {where}",
            "keep each prompt in one split; a prompt the model was trained on says little about new ones",
            {"matches": [{"split": _split(o), "file": o.context.path, "line": int(o._lines[j]), **_record(o, j)} for o, j in found]},
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
