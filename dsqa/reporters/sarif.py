"""SARIF 2.1.0 for code-scanning dashboards: one rule per code, one result per finding."""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, TextIO
from urllib.parse import quote

from ..model import Report
from .common import rule_docs

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
#: the key of ``partialFingerprints``; versioned so that a change of the hash can get a new key
FINGERPRINT_KEY = "dsqaRecordHash/v1"


def artifact_uri(path: str) -> str:
    """A relative URI reference for a dataset path (absolute paths become file: URIs)."""
    posix = path.replace("\\", "/") if PureWindowsPath(path).drive == "" else PureWindowsPath(path).as_posix()
    if PurePosixPath(posix).is_absolute():
        return "file://" + quote(posix)
    return quote(posix)


def _rule(code: str, index_doc: dict[str, Any]) -> dict[str, Any]:
    doc = index_doc.get(code)
    if doc is None:  # a code from a plugin that is not installed here
        return {"id": code, "shortDescription": {"text": code}}
    return {
        "id": code,
        "name": f"{doc.validator}/{code}",
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": f"{doc.summary}. See `dsqa rules {code}`."},
        "help": {"text": doc.doc or doc.summary},
        "defaultConfiguration": {"level": LEVELS[doc.severity]},
        "properties": {"validator": doc.validator, "tags": [code[:3]]},
    }


def to_sarif(report: Report) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a dict ready for JSON)."""
    data = report.to_dict()
    docs = rule_docs()
    ran = set(data.get("validators", []))
    codes = {code for code, d in docs.items() if d.validator in ran} | {f["code"] for f in data["findings"]}
    rules = [_rule(code, docs) for code in sorted(codes)]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in data["findings"]:
        location: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(f["path"])}}
        if f["line"] is not None:
            location["region"] = {"startLine": f["line"]}
        text = f["message"] + (f" (at {f['pointer']})" if f["pointer"] else "")
        result: dict[str, Any] = {
            "ruleId": f["code"],
            "ruleIndex": index[f["code"]],
            "level": LEVELS[f["severity"]],
            "message": {"text": text},
            "locations": [{"physicalLocation": location}],
        }
        if f.get("fingerprint"):
            result["partialFingerprints"] = {FINGERPRINT_KEY: f["fingerprint"]}
        if f.get("baseline"):
            result["baselineState"] = f["baseline"]
        props = {k: f[k] for k in ("pointer", "hint", "excerpt") if f.get(k)}
        if props:
            result["properties"] = props
        results.append(result)
    for f in (data.get("baseline") or {}).get("fixed_findings", []):
        results.append({
            "ruleId": f["code"],
            "ruleIndex": index[f["code"]] if f["code"] in index else _add_rule(rules, index, f["code"], docs),
            "level": LEVELS[f["severity"]],
            "message": {"text": f["message"]},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(f["path"])}}}],
            "baselineState": "absent",
            "kind": "pass",
        })
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "dsqa", "version": data["version"], "semanticVersion": data["version"], "rules": rules}},
            "results": results,
            "properties": {"passed": data["passed"], "failOn": data["fail_on"], "summary": data["summary"]},
        }],
    }


def _add_rule(rules: list[dict[str, Any]], index: dict[str, int], code: str, docs: dict[str, Any]) -> int:
    rules.append(_rule(code, docs))
    index[code] = len(rules) - 1
    return index[code]


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    json.dump(to_sarif(report), out, indent=2, ensure_ascii=False)
    out.write("\n")
