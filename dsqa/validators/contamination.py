"""CTM001: a training example that holds a test item of a public benchmark or of your own evaluation set."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..formats import CHAT
from ..model import Finding, Record, Severity
from .base import Code, DatasetContext, Validator
from .turns import turns

if TYPE_CHECKING:
    from ..contamination import Index

#: indexes loaded in this process, by path: built before --jobs forks, shared by the workers
_LOADED: dict[str, Index] = {}
_PROMPT_ROLES = ("system", "user")
#: records whose texts are looked up together (numpy works on the batch at once)
BATCH = 256


def _index(path: str) -> Index:
    from ..contamination import Index

    if path not in _LOADED:
        _LOADED[path] = Index.load(Path(path))
    return _LOADED[path]


class ContaminationValidator(Validator):
    """Benchmark contamination: word 8-grams shared with evaluation sets."""

    name = "contamination"
    codes: ClassVar[dict[str, Code]] = {
        "CTM001": Code(
            Severity.WARNING,
            "training example holds an evaluation item",
            why="""
                A prompt of the example holds most of a test item of an evaluation set: at least
                min_share of the item's runs of eight words (one run in four is compared, chosen
                by its first word, and at least min_shingles of them, or all of a short item's), letter case and
                punctuation aside. Replies are looked at too with replies: true. A model trained on it has seen the test, and the score
                people report on that benchmark is inflated. dsqa ships an index of the GSM8K
                test split (questions and answers) and HumanEval (prompts and solutions); add
                your own evaluation sets, which matter more, with `dsqa index build FILE... -o
                evals.idx` and `indexes: [evals.idx]` in this validator's options. Each finding
                names the set and the item. Remove the example, or the item from the
                evaluation set.
            """,
            failing=(
                '{"messages": [{"role": "user", "content": "Janet\u2019s ducks lay 16 eggs per day. She eats three for '
                'breakfast every morning and bakes muffins for her friends every day with four. She sells the '
                "remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make "
                'every day at the farmers\' market?"}, {"role": "assistant", "content": "She makes $18 a day."}]}'
            ),
            passing=(
                '{"messages": [{"role": "user", "content": "My hens lay 12 eggs a day and I sell them for $3 a dozen. '
                'What do I earn in a week?"}, {"role": "assistant", "content": "12 eggs a day is 7 dozen a week: $21."}]}'
            ),
            options=("indexes", "bundled", "min_share", "min_shingles", "replies"),
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "indexes": {
                "type": "array", "items": {"type": "string", "minLength": 1},
                "description": "more indexes built with `dsqa index build` (paths relative to the working directory)",
            },
            "bundled": {"type": "boolean", "description": "also look in the bundled index of GSM8K test and HumanEval"},
            "min_share": {
                "type": "number", "minimum": 0, "maximum": 1,
                "description": "the share of an item's 8-word runs an example must hold",
            },
            "min_shingles": {"type": "integer", "minimum": 1, "description": "and at least this many of them"},
            "replies": {
                "type": "boolean",
                "description": "also look in assistant replies (by default the prompts: system and user turns, preference inputs)",
            },
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {
        "indexes": [], "bundled": True, "min_share": 0.5, "min_shingles": 2, "replies": False,
    }

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        from ..contamination import BUNDLED, normalise

        # kept here: an import statement in ``check`` costs a microsecond or two per record
        self._normalise = normalise
        self._replies = bool(self.options["replies"])
        self._paths = ([str(BUNDLED)] if self.options["bundled"] else []) + list(self.options["indexes"])
        self.indexes = [_index(p) for p in self._paths]
        self.pending: list[bytes] = []
        #: (line, index) of each pending text's record
        self.lines: list[tuple[int, int]] = []
        self.found: list[Finding] = []
        self.checked = 0

    def check(self, record: Record) -> Sequence[Finding]:
        value = record.value
        if not self.indexes or type(value) is not dict and not isinstance(value, dict):
            return ()
        messages = value.get("messages") if record.format == CHAT else None
        if type(messages) is list and not self._replies:
            # the common case, without building a Turn per text
            texts = [c for m in messages if type(m) is dict and m.get("role") in _PROMPT_ROLES
                     and type(c := m.get("content")) is str]
            if not texts:
                texts = [t.text for t in turns(value, record.format) if t.role in _PROMPT_ROLES]
        else:
            texts = [t.text for t in turns(value, record.format) if self._replies or t.role in _PROMPT_ROLES]
        if texts:
            self.pending.append(self._normalise(texts[0] if len(texts) == 1 else "\n".join(texts)))
            self.lines.append((record.line, record.index))
            if len(self.pending) >= BATCH:
                self._flush()
        return ()

    def _flush(self) -> None:
        from ..contamination import shingles

        import numpy as np

        hashes, owners = shingles(self.pending)
        held: dict[int, list[tuple[Index, int, int]]] = {}
        for index in self.indexes:
            at, items = index.lookup(hashes)
            if not len(at):
                continue
            # distinct (text, item, shingle) triples, then how many shingles each text holds of each item
            triples = np.unique(np.stack([owners[at], items, hashes[at].view(np.int64)]), axis=1)
            pairs, counts = np.unique(triples[:2], axis=1, return_counts=True)
            for (text, item), shared in zip(pairs.T.tolist(), counts.tolist()):
                it = index.items[item]
                # a short item may have fewer sampled runs than min_shingles: then it needs them all
                if shared >= min(self.options["min_shingles"], it.shingles) and shared >= self.options["min_share"] * it.shingles:
                    held.setdefault(text, []).append((index, item, shared))
        for text in sorted(held):
            self.found.append(self._finding(self.lines[text], held[text]))
        self.checked += len(self.pending)
        self.pending, self.lines = [], []

    def _finding(self, where: tuple[int, int], held: list[tuple[Index, int, int]]) -> Finding:
        """One finding per example: the item it holds most of, and how many more."""
        line, record = where
        held.sort(key=lambda h: (-h[2] / max(h[0].items[h[1]].shingles, 1), h[0].items[h[1]].benchmark, h[1]))
        index, item, shared = held[0]
        it = index.items[item]
        more = f"; and {len(held) - 1:,} more item text{'s' if len(held) > 2 else ''}" if len(held) > 1 else ""
        return Finding(
            code="CTM001", severity=self.codes["CTM001"].severity, validator=self.name, path=self.context.path,
            line=line, pointer=None,
            message=(f"holds the {it.part} of {it.benchmark} {it.name} ({it.excerpt!r}): {shared:,} of its "
                     f"{it.shingles:,} runs of eight words{more}"),
            hint="remove the example from the training data, or the item from the evaluation set",
            data={"items": [
                {"benchmark": index.items[i].benchmark, "item": index.items[i].name, "part": index.items[i].part,
                 "shared": s, "of": index.items[i].shingles, "index": index.source}
                for index, i, s in held
            ], **({"record": record} if self.context.array else {})},
        )

    def __getstate__(self) -> dict[str, Any]:
        # a --jobs worker sends its validator back to the parent: not the indexes (megabytes
        # each), which every process has loaded from the same files
        state = dict(self.__dict__)
        state["indexes"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.indexes = [_index(p) for p in self._paths]

    def merge(self, other: Validator) -> None:
        assert isinstance(other, ContaminationValidator)
        self._flush()
        other._flush()
        self.found.extend(other.found)
        self.checked += other.checked

    def finish(self) -> Iterator[Finding]:
        if self.pending:
            self._flush()
        yield from self.found

