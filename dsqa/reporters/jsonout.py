"""The JSON report: a stable contract for other tools (see README, "JSON report")."""

from __future__ import annotations

import json
from typing import TextIO

from ..model import Report


def render(report: Report, out: TextIO, *, color: bool = False) -> None:
    json.dump(report.to_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")
