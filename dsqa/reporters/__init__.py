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


def render(name: str, report: Report, out: TextIO, *, color: bool = False) -> None:
    """Render ``report`` in the format ``name`` to ``out``."""
    REPORTERS[name](report, out, color=color)


__all__ = ["REPORTERS", "render"]
