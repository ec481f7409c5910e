"""Documentation of the code the engine reports when a validator itself fails."""

from __future__ import annotations

from typing import ClassVar

from ..model import Severity
from .base import Code, Validator

ENGINE = "engine"


class EngineCodes(Validator):
    """Engine: problems of dsqa itself while checking a record."""

    name = ENGINE
    codes: ClassVar[dict[str, Code]] = {
        "DSQ001": Code(
            Severity.ERROR, "a validator failed on this record",
            why="""
                A validator (built in or a plugin) raised an exception on this record, or while
                finishing the dataset. The run does not stop: the finding names the validator and
                the exception, and every other validator and record is still checked, but what the
                failed validator would have found here is missing. This is a bug in dsqa or in the
                plugin, not in your data: please report it with the record that triggers it.
            """,
            failing="a plugin validator whose check raises KeyError on a record without a system message",
            passing="every record, when no validator fails",
        ),
    }
