"""Dataset-level rules: an empty file and too few examples to start a job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from ..model import Finding, Record, Severity
from ..wording import plural
from .base import Code, Validator


class DatasetValidator(Validator):
    """Dataset size: OpenAI refuses a training file with fewer than 10 examples.

    A job on a training file with fewer examples fails with ``invalid_n_examples`` ("Training file
    has 7 example(s), but must have at least 10 examples"). Every non-blank line counts as an
    example, parsable or not. The rule applies to training files only, not to a file passed with
    ``--validation``.

    Codes:
      DST001  fewer than ``min_examples`` examples in a training file
      DST002  the file holds no records at all

    Options (``validators.dataset``):
      min_examples: 10

    Passing:  a training file with 10 or more example lines
    Failing:  a training file with 7 example lines   -> DST001
    """

    name = "dataset"
    codes: ClassVar[dict[str, Code]] = {
        "DST001": Code(Severity.ERROR, "too few examples for a fine-tuning job"),
        "DST002": Code(Severity.ERROR, "file holds no records"),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"min_examples": {"type": "integer", "minimum": 0}},
        "additionalProperties": False,
    }
    defaults = {"min_examples": 10}
    wants_invalid = True

    count = 0

    def check(self, record: Record) -> Iterator[Finding]:
        self.count += 1
        return iter(())

    def merge(self, other: Validator) -> None:
        assert isinstance(other, DatasetValidator)
        self.count += other.count

    def finish(self) -> Iterator[Finding]:
        if self.count == 0:
            yield self.finding("DST002", None, "file holds no records", hint="is this the right file?")
            return
        minimum = self.options["min_examples"]
        if self.context.role == "train" and self.count < minimum:
            yield self.finding(
                "DST001", None,
                f"{plural(self.count, 'record')}; OpenAI needs at least {minimum:,} examples in a training file",
                hint="add examples; 50 to 100 good ones is where fine-tuning starts to pay off",
                data={"examples": self.count, "minimum": minimum},
            )
