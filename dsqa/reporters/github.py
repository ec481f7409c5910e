"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` annotation per finding."""

from __future__ import annotations

from typing import TextIO

from ..model import Report
from ..safetext import for_humans

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message as the Actions runner expects (actions/toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value (actions/toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    report = for_humans(report)
    data = report.to_dict()
    for f in data["findings"]:
        props = [f"file={escape_property(f['path'])}"]
        if f["line"] is not None:
            props.append(f"line={f['line']}")
        title = f["code"] + (" (new)" if f.get("baseline") == "new" else "")
        props.append(f"title={escape_property(title)}")
        message = f["message"] + (f" (at {f['pointer']})" if f["pointer"] else "")
        if f["hint"]:
            message += f"\nhint: {f['hint']}"
        out.write(f"::{LEVELS[f['severity']]} {','.join(props)}::{escape_data(message)}\n")
