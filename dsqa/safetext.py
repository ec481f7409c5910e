"""Make what a finding says safe to print: secrets masked (every format), control characters escaped (human formats)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .model import Finding, Report
from .redact import find_secrets, mask_secrets

#: no kind of secret or personal data fits in fewer characters (``a@b.io`` is the shortest)
MIN_SECRET_CHARS = 6
#: strings already masked, so a pointer or hint that thousands of findings share is searched once
_MASKED: dict[str, str] = {}
_MASKED_MAX = 20_000


def _strings(value: Any, out: list[str]) -> None:
    """Every string in ``value`` (a finding's ``data``), keys included, in no particular order."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            out.extend(k for k in node if isinstance(k, str))
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def may_hold_secret(finding: Finding) -> bool:
    """The prefilter of ``mask_finding``: a search of the finding's new strings only.

    Strings seen before (a pointer or hint many findings share) and strings too short to hold a
    secret are left out. A yes only means each string is masked.
    """
    texts = [finding.message]
    if finding.pointer:
        texts.append(finding.pointer)
    if finding.hint:
        texts.append(finding.hint)
    if finding.data:
        _strings(finding.data, texts)
    fresh = [t for t in texts if len(t) >= MIN_SECRET_CHARS and _MASKED.get(t) != t]
    if not fresh:
        return False
    # each string on its own: some kinds depend on what is near them (card words, "=" beside a
    # digit run), so strings joined could hide a secret that one string alone shows
    if any(find_secrets(t) for t in fresh):
        return True
    if len(_MASKED) + len(fresh) > _MASKED_MAX:
        _MASKED.clear()
    _MASKED.update((t, t) for t in fresh)  # known clean from now on
    return False


def _mask_text(text: str) -> str:
    masked = _MASKED.get(text)
    if masked is None:
        masked = mask_secrets(text) if len(text) >= MIN_SECRET_CHARS else text
        if len(_MASKED) >= _MASKED_MAX:
            _MASKED.clear()
        _MASKED[text] = masked
    return masked


def _map_strings(value: Any, mask: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask(k) if isinstance(k, str) else k: _map_strings(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, mask) for v in value]
    if isinstance(value, tuple):
        return tuple(_map_strings(v, mask) for v in value)
    return value


def mask_finding(finding: Finding, *, reference: bool = False) -> Finding:
    """The finding with every secret in its message, pointer, hint, excerpt and ``data`` masked.

    A record's key, role, id or weight can be a secret that another rule quotes (an unknown
    role, an unexpected key): every finding passes through here, whatever rule made it.
    ``reference``: no prefilter and no cache, each string searched on its own (for tests).
    """
    if reference:
        mask: Any = mask_secrets
    elif may_hold_secret(finding):
        mask = _mask_text
    else:
        return finding
    changes: dict[str, Any] = {}
    for name in ("message", "pointer", "hint", "excerpt"):
        value = getattr(finding, name)
        if value:
            masked = mask(value)
            if masked != value:
                changes[name] = masked
    if finding.data:
        data = _map_strings(finding.data, mask)
        if data != finding.data:
            changes["data"] = data
    return dataclasses.replace(finding, **changes) if changes else finding


def mask_stats(stats: dict[str, Any], *, reference: bool = False) -> dict[str, Any]:
    """A dataset's stats blocks with every secret masked: a role, an opening or a cluster's text
    quoted from a record is shown in reports as a finding's message is."""
    texts: list[str] = []
    _strings(stats, texts)
    if not reference and not find_secrets("\n".join(t for t in texts if len(t) >= MIN_SECRET_CHARS)):
        return stats
    masked: dict[str, Any] = _map_strings(stats, mask_secrets)
    return masked


# C0 controls but tab, DEL, C1 controls (NEL, CSI...), line and paragraph separators, the
# bidirectional marks, embeddings, overrides and isolates that reorder what a terminal shows, and
# lone surrogates (a JSON "\ud800" escape), which no UTF-8 output can write
_UNSAFE = [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F,
           0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0xD800, 0xE000)]
_ESCAPES = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _UNSAFE}


def printable(text: str) -> str:
    """``text`` on one line with nothing a terminal or viewer acts on: ``\\n`` -> ``\\x0a``, ESC -> ``\\x1b``."""
    return text.translate(_ESCAPES) if not text.isprintable() else text


def _printable_finding(f: Finding) -> Finding:
    fields = {name: printable(getattr(f, name)) for name in ("message", "path", "pointer", "hint", "excerpt")
              if getattr(f, name)}
    if all(fields[name] == getattr(f, name) for name in fields):
        return f
    return dataclasses.replace(f, **fields)


def _printable_value(value: Any) -> Any:
    """``value`` (a stats block) with every string in it, keys included, made printable."""
    texts: list[str] = []
    _strings(value, texts)
    if all(t.isprintable() for t in texts):
        return value
    return _map_strings(value, printable)


def for_humans(report: Report) -> Report:
    """The report as the human formats (text, Markdown, HTML, JUnit, GitHub) print it: each
    finding's message, path, pointer, hint and excerpt, each dataset path and the strings of its
    stats (roles, openings quoted from the records) on one line and free of control characters,
    so a record cannot forge or hide report lines."""
    findings = [_printable_finding(f) for f in report.findings]
    datasets = [dataclasses.replace(d, path=printable(d.path), stats=_printable_value(d.stats)) for d in report.datasets]
    baseline = report.baseline
    if baseline is not None:
        baseline = dataclasses.replace(
            baseline, path=printable(baseline.path), fixed_findings=[_printable_finding(f) for f in baseline.fixed_findings])
    return dataclasses.replace(report, findings=findings, datasets=datasets, baseline=baseline)


__all__ = ["for_humans", "mask_finding", "mask_stats", "may_hold_secret", "printable"]
