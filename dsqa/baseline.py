"""The baseline gate: compare a report with an earlier JSON report and fail only on new findings."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path

from .errors import DsqaError
from .model import BaselineSummary, Finding, Report

Key = tuple[str, str, str | None]


def finding_key(finding: Finding) -> Key:
    """What identifies a finding across edits: code, file and the record's content, not its line.

    Findings without a record (dataset-level, blank lines, line endings) match by code and file.
    """
    return (finding.code, finding.path, finding.fingerprint)


def load_baseline(path: Path) -> list[Finding]:
    """The findings of a JSON report written by `dsqa check --format json`; DsqaError if unusable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DsqaError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise DsqaError(f"{path}: baseline is not a JSON report: {exc}") from None
    if not isinstance(data, dict) or data.get("tool") != "dsqa" or not isinstance(data.get("findings"), list):
        raise DsqaError(f"{path}: baseline is not a dsqa JSON report (write one with --format json)")
    try:
        findings = [Finding.from_dict(f) for f in data["findings"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DsqaError(f"{path}: baseline has a malformed finding: {exc}") from None
    located = [f for f in findings if f.line is not None and f.validator != "reader"]
    if located and all(f.fingerprint is None for f in located):
        raise DsqaError(f"{path}: baseline findings have no fingerprints; write it again with this version of dsqa")
    return findings


def apply_baseline(report: Report, old: list[Finding], path: str) -> Report:
    """The report with each finding marked new or unchanged and the counts of new, fixed, unchanged.

    Matching is a multiset: two identical records with the same finding need two old findings.
    """
    pool: dict[Key, list[Finding]] = defaultdict(list)
    for f in sorted(old, key=Finding.sort_key):
        pool[finding_key(f)].append(f)
    marked: list[Finding] = []
    new = unchanged = 0
    for f in report.sorted_findings():
        bucket = pool.get(finding_key(f))
        if bucket:
            bucket.pop(0)
            unchanged += 1
            marked.append(dataclasses.replace(f, baseline="unchanged"))
        else:
            new += 1
            marked.append(dataclasses.replace(f, baseline="new"))
    fixed = [f for bucket in pool.values() for f in bucket]
    summary = BaselineSummary(path=path, new=new, fixed=len(fixed), unchanged=unchanged, fixed_findings=fixed)
    return dataclasses.replace(report, findings=marked, baseline=summary)
