"""Reporters: one function per output format, registered by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from ..model import Report
from .github import render as render_github
from .htmlreport import render as render_html
from .jsonout import render as render_json
from .junit import render as render_junit
from .markdown import render as render_markdown
from .sarif import render as render_sarif
from .text import render as render_text
from .tokenstats import render_tokens as _render_tokens  # noqa: F401  (registers STAT_BLOCKS["tokens"])
from .dupstats import render_duplicates as _render_duplicates  # noqa: F401  (registers STAT_BLOCKS["duplicates"])
from .diversitystats import render_diversity as _render_diversity  # noqa: F401  (registers STAT_BLOCKS["diversity"])

Renderer = Callable[..., None]

REPORTERS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "html": render_html,
    "markdown": render_markdown,
    "sarif": render_sarif,
    "junit": render_junit,
    "github": render_github,
}


def render(name: str, report: Report, out: TextIO, *, color: bool = False, show_all: bool = False,
           max_findings: int | None = None) -> None:
    """Render ``report`` in the format ``name`` to ``out``.

    ``show_all`` and ``max_findings`` say how the text report lists the findings of a big run
    (every one, or at most that many, instead of grouped by code); the other formats list all.
    """
    if name == "text":
        render_text(report, out, color=color, show_all=show_all, max_findings=max_findings)
    else:
        REPORTERS[name](report, out, color=color)


__all__ = ["REPORTERS", "render"]
