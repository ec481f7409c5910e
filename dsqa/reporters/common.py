"""Helpers shared by the reporters: rule documentation by code, and reading optional stats."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple


class RuleDoc(NamedTuple):
    """What a reporter may say about a finding code."""

    code: str
    validator: str
    severity: str
    summary: str
    doc: str


@lru_cache(maxsize=1)
def rule_docs() -> dict[str, RuleDoc]:
    """Every known code (built-in and plugin validators) with its summary and what `dsqa rules CODE` prints."""
    from ..redact import mask_secrets
    from ..ruledoc import code_doc
    from ..validators import all_validators

    out: dict[str, RuleDoc] = {}
    for name, cls in all_validators().items():
        for code, info in cls.codes.items():
            # the SEC codes' examples hold made-up keys and numbers: a report shows none in full
            out[code] = RuleDoc(code, name, str(info.severity), info.summary, mask_secrets(code_doc(code, info, cls)))
    return out


def findings_at_or_above(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of a report dict that decide the exit code (only new ones with a baseline)."""
    order = {"info": 1, "warning": 2, "error": 3}
    threshold = order.get(data["fail_on"])
    if threshold is None:
        return []
    gated = [f for f in data["findings"] if order[f["severity"]] >= threshold]
    if "baseline" in data:
        gated = [f for f in gated if f.get("baseline") == "new"]
    return gated


def gating_ids(data: dict[str, Any]) -> set[int]:
    """``id()`` of each finding dict of ``data`` that counts towards failing the run."""
    return {id(f) for f in findings_at_or_above(data)}


def where(finding: dict[str, Any]) -> str:
    """``path:line`` or ``path`` for dataset-level findings; ``path:line (record N)`` for a record of
    a JSON array, several of which may share a line."""
    if finding.get("line") is None:
        return str(finding["path"])
    return f"{finding['path']}:{finding['line']}{record_suffix(finding.get('data'))}"


def record_suffix(data: Any) -> str:
    """" (record N)" when a finding's ``data`` names a JSON array's record, else ""."""
    index = data.get("record") if isinstance(data, dict) else None
    return f" (record {index:,})" if isinstance(index, int) and not isinstance(index, bool) else ""


def scalar_stats(value: Any, limit: int = 12) -> list[tuple[str, Any]]:
    """The top-level numbers and strings of a stats block (e.g. token totals and cost), in order."""
    if not isinstance(value, dict):
        return []
    out = [(k, v) for k, v in value.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    return out[:limit]


def fmt_number(value: Any) -> str:
    """A number with thousands separators (floats with up to 4 significant decimals)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
