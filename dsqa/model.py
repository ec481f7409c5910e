"""Pure data: severities, records, findings and the report every reporter renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .stats import DatasetStats


class Severity(IntEnum):
    """How bad a finding is; ordered so that comparisons mean "at least as bad as"."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, name: str) -> Severity:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {name!r} (expected error, warning or info)") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong (or worth knowing) about a dataset, located by file, line and JSON Pointer."""

    code: str
    severity: Severity
    message: str
    validator: str
    path: str
    line: int | None = None
    pointer: str | None = None
    hint: str | None = None
    data: dict[str, Any] | None = None
    #: a hash of the record's canonical content (stamped by the engine); with code and path it
    #: identifies a finding across edits that move the record to another line (``--baseline``)
    fingerprint: str | None = None
    #: the start of the record, secrets masked, for reports that show the record (stamped by the engine)
    excerpt: str | None = None
    #: "new" or "unchanged" relative to a ``--baseline`` report; None without a baseline
    baseline: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.path,
            self.line is None,
            self.line or 0,
            self.pointer or "",
            self.code,
            self.message,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": str(self.severity),
            "validator": self.validator,
            "path": self.path,
            "line": self.line,
            "pointer": self.pointer,
            "message": self.message,
            "hint": self.hint,
        }
        if self.data is not None:
            out["data"] = self.data
        # added after the original keys and only when set, so older readers see the same shape
        for key in ("fingerprint", "excerpt", "baseline"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Rebuild a finding from its ``to_dict`` form (e.g. from a JSON report on disk)."""
        return cls(
            code=str(data["code"]),
            severity=Severity.parse(str(data["severity"])),
            message=str(data.get("message", "")),
            validator=str(data.get("validator", "")),
            path=str(data["path"]),
            line=data.get("line"),
            pointer=data.get("pointer"),
            hint=data.get("hint"),
            data=data.get("data"),
            fingerprint=data.get("fingerprint"),
            excerpt=data.get("excerpt"),
            baseline=data.get("baseline"),
        )


@dataclass(slots=True)
class Record:
    """One training example as parsed JSON plus where it came from.

    ``value`` is None when the line could not be parsed; ``problems`` then says why.
    """

    path: str
    line: int
    index: int
    value: Any = None
    raw: bytes = b""
    problems: tuple[Finding, ...] = ()
    format: str | None = None
    #: the raw line reduced to the bytes the cheap gates test (see dsqa.validators.rawsig)
    signature: bytes | None = None

    @property
    def ok(self) -> bool:
        return isinstance(self.value, dict)


@dataclass(slots=True)
class DatasetResult:
    """What one checked file contributed to a report."""

    path: str
    format: str | None
    #: every record read (non-blank lines or array elements); the stats blocks say how many of them they use
    records: int
    stats: DatasetStats = field(default_factory=lambda: DatasetStats())
    #: the split the file was checked as (train, validation, test...); None outside `dsqa check`
    split: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "format": self.format, "records": self.records, "stats": self.stats}
        if self.split is not None:
            out["split"] = self.split
        return out


FAIL_ON_CHOICES = ("error", "warning", "info", "never")


@dataclass(slots=True)
class BaselineSummary:
    """How a report compares with a baseline report: counts, and the findings that went away."""

    path: str
    new: int
    fixed: int
    unchanged: int
    fixed_findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "new": self.new,
            "fixed": self.fixed,
            "unchanged": self.unchanged,
            "fixed_findings": [f.to_dict() for f in sorted(self.fixed_findings, key=Finding.sort_key)],
        }


@dataclass(slots=True)
class Report:
    """All findings and per-dataset statistics of one check; ``to_dict`` is the one serialization."""

    findings: list[Finding]
    datasets: list[DatasetResult]
    fail_on: str = "error"
    version: str = "0.1.0"
    #: names of the validators that ran, in registry order (a JUnit test case each)
    validators: list[str] = field(default_factory=list)
    #: set by ``dsqa.baseline.apply_baseline``; then only new findings decide ``passed``
    baseline: BaselineSummary | None = None

    def summary(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            counts[str(f.severity)] += 1
        return counts

    @property
    def threshold(self) -> Severity | None:
        return None if self.fail_on == "never" else Severity.parse(self.fail_on)

    @property
    def passed(self) -> bool:
        threshold = self.threshold
        if threshold is None:
            return True
        gating = self.findings if self.baseline is None else [f for f in self.findings if f.baseline == "new"]
        return not any(f.severity >= threshold for f in gating)

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tool": "dsqa",
            "version": self.version,
            "passed": self.passed,
            "fail_on": self.fail_on,
            "summary": self.summary(),
            "datasets": [d.to_dict() for d in self.datasets],
            "findings": [f.to_dict() for f in self.sorted_findings()],
        }
        # later additions come after the original keys, so older readers see the same prefix
        if self.validators:
            out["validators"] = list(self.validators)
        if self.baseline is not None:
            out["baseline"] = self.baseline.to_dict()
        return out
