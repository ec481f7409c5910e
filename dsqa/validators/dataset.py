"""Dataset-level rules: an empty file and too few examples to start a job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from ..model import Finding, Record, Severity
from ..wording import plural
from .base import Code, Validator


class DatasetValidator(Validator):
    """Dataset size: the number of examples in each file, against what a fine-tuning job needs."""

    name = "dataset"
    codes: ClassVar[dict[str, Code]] = {
        "DST001": Code(
            Severity.ERROR, "too few examples for a fine-tuning job",
            why="""
                A training file has fewer than min_examples examples. OpenAI refuses to start a
                job on fewer than 10 ("Training file has 7 example(s), but must have at least 10
                examples", invalid_n_examples). Every non-blank line counts as an example, parsable
                or not. The rule applies to training files only, not to a file passed with
                --validation. Add examples: 50 to 100 good ones is where fine-tuning starts to pay
                off.
            """,
            failing="a training file with 7 example lines",
            passing="a training file with 10 or more example lines, or a validation file of any size",
            options=("min_examples",),
        ),
        "DST002": Code(
            Severity.ERROR, "file holds no records",
            why="""
                The file is empty, or holds only blank lines or an empty JSON array, so there is
                nothing to train or validate on. Usually the wrong file was passed, or the export
                that made it failed.
            """,
            failing="an empty file",
            passing="a file with at least one record",
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "min_examples": {
                "type": "integer", "minimum": 0,
                "description": "the fewest examples a training file may have (OpenAI needs 10)",
            },
        },
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
