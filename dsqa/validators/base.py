"""The validator interface: a streaming fold over records that reports findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from ..model import Finding, Record, Severity
from ..stats import DatasetStats


class Code(NamedTuple):
    """One finding code, documented in one place: what ``dsqa rules CODE`` prints is made from this.

    ``summary`` is the one line of ``dsqa rules``. ``why`` says what the rule looks for, why it
    matters and how to fix what it finds, in plain sentences. ``failing`` and ``passing`` are
    examples (a JSONL record, or a short description of a dataset for dataset-level codes):
    ``failing`` gets the code and ``passing`` does not. ``options`` names the validator options
    (keys of its ``options_schema``, whose ``description`` and ``defaults`` are printed) that
    change what this code finds.
    """

    severity: Severity
    summary: str
    why: str = ""
    failing: str = ""
    passing: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetContext:
    """What a validator may know about the dataset it is checking."""

    path: str
    role: str = "train"
    data_format: str | None = None
    #: the format and line of the file's first parsable record, when the engine knows it up front
    #: (it always does with --jobs > 1, where a worker may not see the start of the file)
    first_format: tuple[str | None, int] | None = None
    #: the target model, epochs and reference day of the run's config (top-level keys / flags)
    model: str | None = None
    epochs: int | str | None = None
    reference_date: str | None = None
    #: the codes this run reports (selected and not ignored); None means all of them. The engine
    #: sets it so that a validator can skip the work of a code nobody will see (see ``wants``).
    enabled: frozenset[str] | None = None
    #: reference mode: every prefilter answers "maybe", so each rule runs its full search. Tests
    #: compare it with the normal run, which must give the same findings (see ``prefilter``).
    reference: bool = False
    #: a file in a source format checked in place (alpaca, sharegpt, ...): how its records are
    #: converted (a ``dsqa.sourcemap.SourceMap``); None for the OpenAI formats
    source_map: Any = None
    #: the file is a JSON array: several records may share a line, so a finding names its
    #: record by its index too (``data.record``, from 0)
    array: bool = False


class Validator:
    """Base class of every validator.

    A validator sees each record once through ``check`` (it may keep compact state) and gets one
    ``finish`` call at the end for dataset-level findings; it sets ``metrics`` for the report's
    dataset stats. A fresh instance is made per dataset. Subclasses set ``name``, ``codes`` and,
    when they take options, ``options_schema`` (a JSON Schema of the ``validators.<name>`` table)
    and ``defaults``. The engine applies severity overrides, ``select`` and ``ignore``.

    With ``--jobs N`` the engine splits a file into contiguous chunks, runs one instance per chunk
    in worker processes, and folds them in file order with ``merge`` before calling ``finish`` on
    the first. So: findings that depend on other records (duplicates, totals, distributions) come
    from ``finish``, computed from the merged state; ``check`` yields only what one record shows;
    instances must pickle. ``--jobs N`` must give exactly the findings and stats of ``--jobs 1``.
    """

    name: ClassVar[str] = ""
    codes: ClassVar[Mapping[str, Code]] = {}
    options_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: also receive records that could not be parsed (``record.value is None``)
    wants_invalid: ClassVar[bool] = False
    #: reads ``record.signature`` (see ``rawsig``): the engine makes it as each line is read,
    #: while the line is still in the CPU caches
    wants_signature: ClassVar[bool] = False
    #: the ``stats`` keys this validator publishes (see ``dsqa.stats``): the engine builds it for
    #: them even when none of its codes is reported
    publishes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        self.options: dict[str, Any] = {**self.defaults, **options}
        self.context = context
        self.metrics: DatasetStats = {}

    def wants(self, code: str) -> bool:
        """Whether this run reports ``code``: a rule whose codes are all unwanted need not run."""
        enabled = self.context.enabled
        return enabled is None or code in enabled

    def check(self, record: Record) -> Iterable[Finding]:
        return ()

    def merge(self, other: Validator) -> None:
        """Fold in the state of ``other``, which checked the chunk of records right after ours."""

    def link(self, peers: Sequence[Validator]) -> None:
        """See the finished validators of the same name that checked the training files.

        The engine calls this on a validation file's validators before ``finish``, so that a
        validator can report what the two files share (e.g. duplicates leaking into validation).
        """

    def finish(self) -> Iterable[Finding]:
        return ()

    def finding(
        self,
        code: str,
        record: Record | None,
        message: str,
        pointer: str | None = None,
        hint: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        """Build a finding at a record (or at dataset level when ``record`` is None)."""
        return Finding(
            code=code,
            severity=self.codes[code].severity,
            message=message,
            validator=self.name,
            path=self.context.path,
            line=record.line if record is not None else None,
            pointer=pointer,
            hint=hint,
            data=data,
        )


def pointer_of(parts: Iterable[str | int]) -> str:
    """Build an RFC 6901 JSON Pointer from path parts."""
    out = []
    for part in parts:
        out.append("/" + str(part).replace("~", "~0").replace("/", "~1"))
    return "".join(out)
