"""The names of JSON types have one home (issue 15): the reader, the schema rules and the converters share them."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pytest

from dsqa import jsontypes, reading
from dsqa.convert import base
from dsqa.validators.schema import common

from helpers import run_cli


@pytest.mark.parametrize(
    "value,json_name,schema_name",
    [
        (None, "null", "null"), (True, "boolean", "boolean"), (3, "number", "integer"), (2.5, "number", "number"),
        ("x", "string", "string"), ([1], "array", "array"), ({"a": 1}, "object", "object"),
        # values of Parquet and Hugging Face rows
        (np.float64(1.5), "number", "number"), (datetime.date(2024, 1, 2), "date", "date"),
    ],
)
def test_names(value: object, json_name: str, schema_name: str) -> None:
    assert (jsontypes.json_type(value), jsontypes.schema_type(value)) == (json_name, schema_name)


def test_one_home() -> None:
    assert reading.json_type is jsontypes.json_type and base.json_type is jsontypes.json_type
    assert common.json_type is jsontypes.schema_type
    assert not hasattr(reading, "_json_type") and not hasattr(base, "_json_type")


def test_the_reader_and_the_converter_name_a_number_alike(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text('42\n', encoding="utf-8")
    report = json.loads(run_cli("check", str(data), "--format", "json").stdout)
    assert [(f["line"], f["data"]) for f in report["findings"] if f["code"] == "RDR006"] == [(1, {"type": "number"})]
    assert base.a_json_type(7) == "a number" and base.a_json_type([]) == "an array"
