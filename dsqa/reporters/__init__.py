"""Reporters: one function per output format, registered by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from ..model import Report
from .jsonout import render as render_json
from .text import render as render_text

Renderer = Callable[..., None]

REPORTERS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
}


def render(name: str, report: Report, out: TextIO, *, color: bool = False) -> None:
    """Render ``report`` in the format ``name`` to ``out``."""
    REPORTERS[name](report, out, color=color)


__all__ = ["REPORTERS", "render"]
