"""JUnit XML: a test suite per dataset, a test case per validator, a failure per gating finding."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, TextIO

from ..model import Report
from ..safetext import for_humans
from .common import gating_ids, where

# characters XML 1.0 cannot carry at all, even escaped
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _describe(f: dict[str, Any]) -> str:
    lines = [f"{where(f)}: {f['code']} {f['severity']} {f['message']}"]
    if f["pointer"]:
        lines.append(f"at: {f['pointer']}")
    if f["hint"]:
        lines.append(f"hint: {f['hint']}")
    if f.get("excerpt"):
        lines.append(f"record: {f['excerpt']}")
    return _clean("\n".join(lines))


def to_junit(report: Report) -> ET.Element:
    """The report as a ``<testsuites>`` element.

    Findings below ``--fail-on`` (or unchanged relative to a ``--baseline``) do not fail a test
    case; they are listed in its ``system-out`` so nothing is hidden.
    """
    report = for_humans(report)
    data = report.to_dict()
    gating = gating_ids(data)
    root = ET.Element("testsuites", name="dsqa")
    total_tests = total_failures = 0
    for ds in data["datasets"]:
        mine = [f for f in data["findings"] if f["path"] == ds["path"]]
        names = list(data.get("validators", []))
        names += sorted({f["validator"] for f in mine} - set(names))
        suite = ET.SubElement(root, "testsuite", name=_clean(ds["path"]))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="format", value=str(ds["format"]))
        ET.SubElement(props, "property", name="records", value=str(ds["records"]))
        ET.SubElement(props, "property", name="fail_on", value=data["fail_on"])
        failures = 0
        for name in names:
            case = ET.SubElement(suite, "testcase", classname=_clean(ds["path"]), name=name)
            own = [f for f in mine if f["validator"] == name]
            quiet = []
            for f in own:
                if id(f) in gating:
                    failure = ET.SubElement(case, "failure", type=f["code"], message=_clean(f"{where(f)}: {f['code']} {f['message']}"))
                    failure.text = _describe(f)
                    failures += 1
                else:
                    quiet.append(_describe(f))
            if quiet:
                ET.SubElement(case, "system-out").text = "\n\n".join(quiet)
        suite.set("tests", str(len(names)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total_tests += len(names)
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    return root


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    root = to_junit(report)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
