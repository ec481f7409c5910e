"""Documentation of the code the engine reports when a validator itself fails."""

from __future__ import annotations

from typing import ClassVar

from ..model import Severity
from .base import Code, Validator

ENGINE = "engine"


class EngineCodes(Validator):
    """Engine: problems of dsqa itself while checking a record.

    A validator (built-in or plugin) that raises on a record does not stop the run: the record is
    reported with DSQ001 naming the validator and the exception, and the other validators and
    records are still checked. Please report DSQ001 findings as bugs.

    Codes:
      DSQ001  a validator failed on this record
    """

    name = ENGINE
    codes: ClassVar[dict[str, Code]] = {"DSQ001": Code(Severity.ERROR, "a validator failed on this record")}
