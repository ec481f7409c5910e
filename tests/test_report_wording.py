"""Reports that read right (issue 16): every figure shown, one count per file, plain English, big runs."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from dsqa.model import DatasetResult, Finding, Report, Severity
from dsqa.reporters import render
from dsqa.reporters.dupstats import render_duplicates
from dsqa.reporters.text import GROUP_ABOVE
from dsqa.stats import DuplicatesStats
from dsqa.wording import article, plural, similarity
from helpers import ROOT, chat, run_cli, write_jsonl

DEFECTS = str(ROOT / "sample_data" / "defects.jsonl")


def test_plural_and_article() -> None:
    assert plural(1, "example") == "1 example" and plural(2, "example") == "2 examples"
    assert plural(1, "epoch") == "1 epoch" and plural(0, "file") == "0 files" and plural(12_345, "record") == "12,345 records"
    assert plural(3, "info") == "3 info" and plural(1, "info") == "1 info"
    assert article("assistant message") == "an assistant message"
    assert article("user message") == "a user message"
    assert article("system message") == "a system message" and article("tool message") == "a tool message"
    assert article("image") == "an image" and article("hour") == "an hour"


def test_similarity_is_cut_so_it_stays_below_the_threshold() -> None:
    assert similarity(0.896) == "0.896"
    assert similarity(0.8999) == "0.899"  # rounding would print 0.900, as if it reached 0.9
    assert similarity(0.9) == "0.900" and similarity(1.0) == "1.000" and similarity(0.95) == "0.950"
    stats: DuplicatesStats = {
        "records": 3, "scope": "conversation", "threshold": 0.9, "exact_duplicates": 0, "exact_groups": 0,
        "near_duplicates": 2, "clusters": 1, "largest_cluster": 3, "candidate_pairs": 2, "conflicts": 0,
        "top_clusters": [{"representative": 1, "size": 3, "members": [
            {"line": 2, "similarity": 0.95}, {"line": 3, "similarity": 0.896}]}],
    }
    lines = render_duplicates(stats, 3)
    assert "  cluster at line 1: 2 (0.950), 3 (0.896)" in lines
    assert "0.90)" not in "\n".join(lines)
    assert "  0 exact duplicates in 0 groups; 2 near-duplicates in 1 cluster, the largest of 3; 0 conflicting answers" in lines


def test_one_count_per_file_and_the_others_explained() -> None:
    text = run_cli("check", DEFECTS).stdout
    assert f"{DEFECTS}: 27 records (openai-chat): 27 errors, 4 warnings, 0 info" in text
    assert "21 of the 27 records counted (only chat and preference records that parse): 810 tokens" in text
    assert "23 of the 27 records compared (only records that parse as a known format)" in text
    assert "22 of the 27 records looked at (only chat, preference and completion records that parse)" in text
    # no block counts "examples" of its own any more
    assert not re.search(r"\b\d+ examples\b", text)
    md = run_cli("check", DEFECTS, "-f", "markdown").stdout
    assert f"| `{DEFECTS}` | openai-chat | 27 | 27 | 4 | 0 |" in md
    assert "- 21 of the 27 records counted (only chat and preference records that parse): 810 tokens" in md


def test_markdown_tokens_and_cost_are_not_cut() -> None:
    md = run_cli("check", DEFECTS, "-f", "markdown").stdout
    section = md.split("### Tokens and cost\n\n", 1)[1].split("###", 1)[0]
    assert "(gpt-4o-mini-2024-07-18, o200k_base, limit 65,536 per example; default target, set --model)" in section
    assert "- tokens per example: min 3, p10 18, median 29, p90 94, max 106 (nearest-rank)" in section
    assert "- 4 epochs (auto): 3,240 billed tokens ≈ $0.01 at $3.00 per 1M training tokens" in section


def test_plurals_in_a_one_record_run(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "one.jsonl", [chat(1)])
    out = run_cli("check", str(path), "--epochs", "1").stdout
    assert f"{path}: 1 record (openai-chat): 1 error, 0 warnings, 0 info" in out
    assert "the 1 record counted: " in out and "1 epoch (set): " in out
    assert "in 1 file, 1 record (fail-on: error)" in out
    assert "(s)" not in out


def test_over_limit_and_duplicates_in_the_singular(tmp_path: Path) -> None:
    records = [chat(i) for i in range(11)] + [chat(3)]
    records[5]["messages"][1]["content"] = "word " * 70_000
    out = run_cli("check", str(write_jsonl(tmp_path / "d.jsonl", records))).stdout
    assert "  1 example over the limit is truncated from the end" in out
    assert "  1 exact duplicate in 1 group; " in out
    assert "(s)" not in out


def test_thousands_separators(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", [chat(i) for i in range(1_200)])
    out = run_cli("check", str(path), "--jobs", "1").stdout
    assert f"{path}: 1,200 records (openai-chat)" in out
    assert "in 1 file, 1,200 records (fail-on: error)" in out
    assert "all 1,200 records counted" in out and "1200" not in out
    md = run_cli("check", str(path), "--jobs", "1", "-f", "markdown").stdout
    assert "| 1,200 |" in md and "1,200 records" in md


def test_articles_in_messages(tmp_path: Path) -> None:
    record = chat(1)
    record["messages"][2]["content"] = "Dear {{name}}, hello."
    user_weight = chat(2)
    user_weight["messages"][1]["weight"] = 1
    out = run_cli("check", str(write_jsonl(tmp_path / "a.jsonl", [record, user_weight]))).stdout
    assert "in an assistant message" in out
    assert "not on a user message" in out and "an user" not in out and "a assistant" not in out


def test_convert_says_no_none(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    proc = run_cli("convert", str(empty), "-o", str(tmp_path / "out.jsonl"))
    assert proc.stdout.splitlines() == [
        "read 0, wrote 0, rejected 0 (no record to tell the formats from)",
        "not checked: no record was converted",
    ]
    assert "None" not in proc.stdout + proc.stderr and "unknown -> auto" not in proc.stdout


# -- big runs ---------------------------------------------------------------------------------------


def _big(n: int) -> Report:
    path = "big.jsonl"
    findings = [Finding("SCH003", Severity.ERROR, f"unknown role 'bot' #{i}", "schema", path, i + 1, "/messages/0/role",
                        "use user or assistant") for i in range(n)]
    findings += [Finding("RDR005", Severity.WARNING, "blank line", "reader", path, n + 1 + i) for i in range(5)]
    return Report(findings=findings, datasets=[DatasetResult(path, "openai-chat", n + 5)])


def _text(report: Report, **options: object) -> str:
    buf = io.StringIO()
    render("text", report, buf, **options)  # type: ignore[arg-type]
    return buf.getvalue()


def test_big_run_is_grouped_by_code() -> None:
    out = _text(_big(GROUP_ABOVE + 100))
    lines = out.splitlines()
    assert lines[0] == "big.jsonl: 305 findings by code (--show-all lists every one):"
    assert lines[1] == "  SCH003 error ×300: role unknown or not allowed"
    assert lines[2:5] == [f"    line {i}: unknown role 'bot' #{i - 1} (at /messages/0/role)" for i in (1, 2, 3)]
    assert lines[5] == "    … and 297 more"
    assert lines[6] == "    hint: use user or assistant"
    assert lines[7] == "  RDR005 warning ×5: blank line"
    assert len(lines) < 20
    assert lines[-1] == "FAILED: 300 errors, 5 warnings, 0 info in 1 file, 305 records (fail-on: error)"


def test_small_run_lists_every_finding() -> None:
    out = _text(_big(GROUP_ABOVE - 5))
    assert out.count("SCH003 error unknown role") == GROUP_ABOVE - 5 and "by code" not in out


def test_show_all_and_max_findings() -> None:
    report = _big(GROUP_ABOVE + 100)
    every = _text(report, show_all=True)
    assert every.count("big.jsonl:") - every.count("big.jsonl: ") == 305  # one "path:line:" per finding
    capped = _text(report, max_findings=4)
    assert capped.count("SCH003 error unknown role") == 4
    assert "… 301 more findings not shown (--max-findings 4; --show-all lists every one)" in capped
    one = _text(_big(1), max_findings=10)
    assert "not shown" not in one and one.count("big.jsonl:") - one.count("big.jsonl: ") == 6


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = [chat(i) for i in range(GROUP_ABOVE + 50)]
    for r in records:
        r["messages"][1]["role"] = "bot"
    return write_jsonl(tmp_path_factory.mktemp("many") / "many.jsonl", records)


def test_cli_big_run_options(many: Path) -> None:
    grouped = run_cli("check", str(many), "--jobs", "1")
    assert grouped.returncode == 1 and "SCH003 error ×250: role unknown or not allowed" in grouped.stdout
    every = run_cli("check", str(many), "--jobs", "1", "--show-all")
    assert every.stdout.count(": SCH003 error unknown role 'bot'") == 250
    capped = run_cli("check", str(many), "--jobs", "1", "--max-findings", "7")
    assert capped.stdout.count(": SCH003 error unknown role 'bot'") == 7 and "more findings not shown" in capped.stdout
    both = run_cli("check", str(many), "--show-all", "--max-findings", "7")
    assert both.returncode == 2 and "--show-all and --max-findings" in both.stderr
    written = run_cli("check", str(many), "--jobs", "1", "--show-all", "-o", str(many.with_suffix(".txt")))
    assert written.returncode == 1 and written.stdout == ""
    assert many.with_suffix(".txt").read_text(encoding="utf-8").count(": SCH003 error unknown role 'bot'") == 250


def test_cli_statistics(many: Path) -> None:
    proc = run_cli("check", str(many), "--jobs", "1", "--statistics")
    assert proc.returncode == 1  # the exit status is the check's
    lines = proc.stdout.splitlines()
    assert "250  SCH003  error    role unknown or not allowed" in lines
    assert all(re.fullmatch(r"\s*[\d,]+  [A-Z]{3}\d{3}\s+(error|warning|info)\s+.+", line) for line in lines), lines
    codes = [line.split()[1] for line in lines]
    assert len(codes) == len(set(codes))
    target = many.with_suffix(".json")
    written = run_cli("check", str(many), "--jobs", "1", "--statistics", "-f", "json", "-o", str(target), "-q")
    assert written.returncode == 1 and written.stdout.splitlines() == lines
    assert len(json.loads(target.read_text(encoding="utf-8"))["findings"]) == sum(int(x.split()[0].replace(",", "")) for x in lines)


def test_grouped_lines_keep_the_baseline_mark() -> None:
    report = _big(GROUP_ABOVE + 1)
    report.findings[1] = dataclasses.replace(report.findings[1], baseline="new")
    lines = _text(report).splitlines()
    assert lines[2:4] == ["    line 1: unknown role 'bot' #0 (at /messages/0/role)",
                          "    line 2: unknown role 'bot' #1 (at /messages/0/role) [new]"]
