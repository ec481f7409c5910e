"""What `dsqa rules` prints: one line per code, and one code's documentation from its ``Code``."""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Mapping
from typing import Any

from .validators.base import Code, Validator


def code_line(code: str, info: Code, validator: str) -> str:
    """The line of ``dsqa rules`` for one code."""
    return f"{code:<8} {str(info.severity):<8} {validator:<10} {info.summary}"


def _plain(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return json.dumps(value, ensure_ascii=False)


def _block(title: str, text: str) -> list[str]:
    if not text:
        return []
    body = inspect.cleandoc(text)
    return [f"{title}:", textwrap.indent(body, "  "), ""]


def options_text(cls: type[Validator], names: tuple[str, ...]) -> str:
    """The named options of ``cls`` with their defaults and descriptions, one per line."""
    props: Mapping[str, Any] = cls.options_schema.get("properties", {})
    lines = []
    for name in names:
        spec = props.get(name, {})
        default = _plain(cls.defaults.get(name))
        desc = spec.get("description", "")
        lines.append(f"{name} (default {default})" + (f": {desc}" if desc else ""))
    return "\n".join(lines)


def code_doc(code: str, info: Code, cls: type[Validator]) -> str:
    """Everything ``dsqa rules CODE`` prints, made from the code's one home, its ``Code``."""
    out = [f"{code}: {info.summary}", f"Default severity: {info.severity}.  Validator: {cls.name}.", ""]
    if not (info.why or info.failing or info.passing):
        # a plugin written before codes documented themselves: its docstring is its documentation
        out += [inspect.cleandoc(cls.__doc__ or "(no documentation)"), ""]
    out += _block("Why", info.why)
    if info.options:
        out += _block(f"Options (validators.{cls.name} in a rule pack)", options_text(cls, info.options))
    out += _block("Failing", info.failing)
    out += _block("Passing", info.passing)
    return "\n".join(out).rstrip() + "\n"


def validator_doc(cls: type[Validator]) -> str:
    """``dsqa rules NAME`` for a validator: its description, its options and the codes it reports."""
    doc = inspect.cleandoc(cls.__doc__ or "(no documentation)")
    out = [f"Validator {cls.name}", "", doc, ""]
    names = tuple(cls.options_schema.get("properties", {}))
    if names:
        out += _block(f"Options (validators.{cls.name} in a rule pack)", options_text(cls, names))
    if cls.codes:
        codes = "\n".join(code_line(c, info, cls.name) for c, info in cls.codes.items())
        out += ["Codes (`dsqa rules CODE` documents each):", codes, ""]
    return "\n".join(out).rstrip() + "\n"
