"""Reporters: one function per output format, registered by name."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, TextIO

from ..model import Report

Renderer = Callable[..., None]

#: the module that renders each format; a run imports only the one it writes (the HTML
#: report's charts alone took longer to import than a small file takes to check)
_MODULES = {
    "text": "text",
    "json": "jsonout",
    "html": "htmlreport",
    "markdown": "markdown",
    "sarif": "sarif",
    "junit": "junit",
    "github": "github",
}


def _renderer(module: str) -> Renderer:
    def run(*args: Any, **kwargs: Any) -> None:
        getattr(import_module(f".{module}", __name__), "render")(*args, **kwargs)

    return run


REPORTERS: dict[str, Renderer] = {name: _renderer(module) for name, module in _MODULES.items()}


def render(name: str, report: Report, out: TextIO, *, color: bool = False, show_all: bool = False,
           max_findings: int | None = None) -> None:
    """Render ``report`` in the format ``name`` to ``out``.

    ``show_all`` and ``max_findings`` say how the text report lists the findings of a big run
    (every one, or at most that many, instead of grouped by code); the other formats list all.
    """
    if name == "text":
        from .text import render as render_text

        render_text(report, out, color=color, show_all=show_all, max_findings=max_findings)
    else:
        REPORTERS[name](report, out, color=color)


__all__ = ["REPORTERS", "render"]
