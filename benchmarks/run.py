"""Benchmark `dsqa check` against the cookbook baseline on generated data, in the same run.

    python benchmarks/run.py [--quick] [--sizes 10000,100000,1000000] [--repeat N] [--ablate N] [--json OUT]
    python benchmarks/run.py --before REF [--sizes 100000] [--repeat N]

For each size it generates (or reuses) benchmarks/data/chat-N.jsonl, then runs the baseline and
`dsqa check` (default pack, default --jobs) alternately --repeat times, and `dsqa check --jobs 1`
as well, so that the parallel speed-up is measured too. It prints examples and MB per second, the
median time ratio dsqa/baseline, the peak RSS of each, and the recall and precision of each
planted defect class for both tools. `--ablate N` also times `dsqa check` on the N-example file
without the duplicates validator, without its near-duplicate search, and without the content
checks, with `--jobs 1` and with the default `--jobs`, and prints what each adds in time and peak
RSS. Times are wall-clock medians; compare ratios, not seconds.

`--before REF` measures a change instead: it exports the git revision REF (e.g. `main~5`) to a
temporary directory and times its `dsqa check` against this tree's, alternated on the same files,
with `--jobs 1` and with the default `--jobs`, and prints the medians and the ratio after/before.
The JSON reports of the two are compared too, and where they differ the codes whose counts differ are listed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Sequence
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
DATA = HERE / "data"
SEED = 20261126

#: which dsqa codes detect each planted defect class (a finding of one of them at the line)
DSQA_CODES: dict[str, tuple[str, ...]] = {
    "broken_json": ("RDR001",),
    "missing_assistant": ("SCH010",),
    "empty_content": ("CNT001",),
    "overlong": ("TOK001",),
    "secret": ("SEC",),
    "exact_duplicate": ("DUP001",),
    "near_duplicate": ("DUP002",),
    "conflicting_answer": ("DUP003",),
}
#: which of the baseline's counts detect each class (the baseline knows no duplicates or secrets)
BASELINE_KEYS: dict[str, tuple[str, ...]] = {
    "broken_json": ("invalid_json",),
    "missing_assistant": ("example_missing_assistant_message",),
    "empty_content": ("missing_content",),
    "overlong": ("too_long",),
}


def _timed(cmd: list[str]) -> tuple[float, int, int]:
    """Run a command; return wall seconds, peak RSS in bytes and the exit status."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with exit {proc.returncode}:\n{err}")
    return elapsed, usage.ru_maxrss * 1024, proc.returncode


def _dataset(n: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"chat-{n}.jsonl"
    truth = path.with_name(path.name + ".truth.json")
    from generate import GENERATOR_VERSION

    meta = json.loads(truth.read_text()) if truth.is_file() else {}
    if not (path.is_file() and meta.get("seed") == SEED and meta.get("version") == GENERATOR_VERSION):
        print(f"generating {n} examples …", flush=True)
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(n), str(path), "--seed", str(SEED)], check=True)
    return path


def _truth_lines(truth: dict[str, Any]) -> dict[str, set[int]]:
    out = {}
    for name, items in truth["truth"].items():
        out[name] = {item["line"] if isinstance(item, dict) else item for item in items}
    return out


def _score(found: set[int], expected: set[int]) -> tuple[float | None, float | None]:
    hit = len(found & expected)
    recall = hit / len(expected) if expected else None
    precision = hit / len(found) if found else None
    return recall, precision


def _dsqa_lines(report: dict[str, Any], codes: tuple[str, ...]) -> set[int]:
    return {f["line"] for f in report["findings"] if f["line"] is not None and f["code"].startswith(codes)}


def _baseline_lines(result: dict[str, Any], keys: tuple[str, ...]) -> set[int]:
    lines: set[int] = set()
    for key in keys:
        if key == "invalid_json":
            lines.update(result["invalid_json_lines"])
        elif key == "too_long":
            lines.update(result["too_long_lines"])
        else:
            lines.update(result["error_lines"].get(key, []))
    return lines


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


def bench(n: int, repeat: int, jobs: int | None) -> dict[str, Any]:
    path = _dataset(n)
    truth = json.loads(path.with_name(path.name + ".truth.json").read_text())
    size_mb = path.stat().st_size / 1e6
    tmp = Path(tempfile.mkdtemp(prefix="dsqa-bench-"))
    report_path, baseline_path = tmp / "report.json", tmp / "baseline.json"
    jobs_flag = ["--jobs", str(jobs)] if jobs else []
    dsqa = [sys.executable, "-m", "dsqa", "check", str(path), "--format", "json", "-o", str(report_path), *jobs_flag]
    dsqa_one = [sys.executable, "-m", "dsqa", "check", str(path), "--format", "json", "-o", str(tmp / "one.json"), "--jobs", "1"]
    baseline = [sys.executable, str(HERE / "baseline_cookbook.py"), str(path), "--json", str(baseline_path)]
    times: dict[str, list[float]] = {"baseline": [], "dsqa": [], "dsqa --jobs 1": []}
    rss: dict[str, int] = {k: 0 for k in times}
    for i in range(repeat):
        order = [("baseline", baseline), ("dsqa", dsqa), ("dsqa --jobs 1", dsqa_one)]
        if i % 2:
            order.reverse()  # alternate, so that neither side always runs on a warmer machine
        for name, cmd in order:
            seconds, peak, _ = _timed(cmd)
            times[name].append(seconds)
            rss[name] = max(rss[name], peak)
            print(f"  {n:>8} {name:<14} run {i + 1}: {seconds:7.2f} s  {peak / 1e6:7.0f} MB", flush=True)
    report = json.loads(report_path.read_text())
    result = json.loads(baseline_path.read_text())
    one = json.loads((tmp / "one.json").read_text())
    expected = _truth_lines(truth)
    quality = {}
    for name, lines in expected.items():
        quality[name] = {
            "planted": len(lines),
            "dsqa": _score(_dsqa_lines(report, DSQA_CODES.get(name, ())), lines) if name in DSQA_CODES else (None, None),
            "baseline": _score(_baseline_lines(result, BASELINE_KEYS[name]), lines) if name in BASELINE_KEYS else (0.0, None),
        }
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "examples": n,
        "mb": size_mb,
        "median_seconds": medians,
        "peak_rss_mb": {k: v / 1e6 for k, v in rss.items()},
        "ratio_dsqa_baseline": medians["dsqa"] / medians["baseline"],
        "speedup_jobs": medians["dsqa --jobs 1"] / medians["dsqa"],
        "jobs_identical": report["findings"] == one["findings"] and report["datasets"] == one["datasets"],
        "quality": quality,
        "validators": sorted({f["validator"] for f in report["findings"]}),
    }


#: what each measured part switches off, as `validators:` tables of a pack that extends default
#: (issue 5: the duplicates validator and its near-duplicate search; issue 6: the content checks)
ABLATIONS: dict[str, dict[str, dict[str, bool]]] = {
    "duplicates": {"duplicates": {"enabled": False}},
    "near-duplicate detection": {"duplicates": {"near": False}},
    "content, sensitive, diversity": {v: {"enabled": False} for v in ("content", "sensitive", "diversity")},
}


def ablate(n: int, repeat: int, jobs: int | None = 1) -> list[dict[str, Any]]:
    """Time `dsqa check --jobs JOBS` (None: dsqa's default) with and without each group of validators; return what each adds."""
    from dsqa.engine import default_jobs

    path = _dataset(n)
    tmp = Path(tempfile.mkdtemp(prefix="dsqa-ablate-"))
    packs = {}
    for label, tables in ABLATIONS.items():
        pack = tmp / f"without-{len(packs)}.yaml"
        pack.write_text(json.dumps({"extends": "default", "validators": tables}))  # JSON is YAML
        packs[label] = pack
    base = [sys.executable, "-m", "dsqa", "check", str(path), "--format", "json", "-o", str(tmp / "r.json")]
    if jobs is not None:
        base += ["--jobs", str(jobs)]
    runs: dict[str, list[tuple[float, int]]] = {"all validators": [], **{label: [] for label in packs}}
    for i in range(repeat):
        order = list(runs)
        if i % 2:
            order.reverse()
        for label in order:
            cmd = base if label == "all validators" else [*base, "--rules", str(packs[label])]
            seconds, peak, _ = _timed(cmd)
            runs[label].append((seconds, peak))
            print(f"  {n:>8} --jobs {jobs or 'default'} {label:<30} run {i + 1}: {seconds:7.2f} s  {peak / 1e6:7.0f} MB", flush=True)
    full = statistics.median(t for t, _ in runs["all validators"])
    full_rss = max(m for _, m in runs["all validators"])
    out = []
    for label in packs:
        without = statistics.median(t for t, _ in runs[label])
        out.append({
            "validators": label,
            "jobs": jobs or default_jobs(),
            "seconds_without": without,
            "added_seconds": full - without,
            "added_share": (full - without) / without,
            "added_rss_mb": (full_rss - max(m for _, m in runs[label])) / 1e6,
        })
    return out


def _export(ref: str) -> Path:
    """Export git revision ``ref`` of this repository to a new temporary directory."""
    out = Path(tempfile.mkdtemp(prefix="dsqa-before-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def _code_counts(report: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in report["findings"]:
        counts[f["code"]] = counts.get(f["code"], 0) + 1
    return counts


def compare(ref: str, n: int, repeat: int, after_args: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Time `dsqa check` of revision ``ref`` and of this tree on N examples, alternated; return medians.

    ``after_args`` are added to this tree's command only (e.g. ``--rules`` with a pack that turns
    off the validators the revision did not have, to measure a restructuring on its own).
    """
    path = _dataset(n)
    before_root = _export(ref)
    tmp = Path(tempfile.mkdtemp(prefix="dsqa-compare-"))
    roots = {"before": before_root, "after": ROOT}
    out = []
    for jobs in ("1", None):
        runs: dict[str, list[float]] = {"before": [], "after": []}
        for i in range(repeat):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            for label in order:
                cmd = [sys.executable, "-c", "import sys, runpy; sys.path.insert(0, sys.argv.pop(1)); "
                       "runpy.run_module('dsqa', run_name='__main__', alter_sys=True)", str(roots[label]),
                       "check", str(path), "--format", "json", "-o", str(tmp / f"{label}.json")]
                if jobs is not None:
                    cmd += ["--jobs", jobs]
                if label == "after":
                    cmd += list(after_args)
                seconds, _, _ = _timed(cmd)
                runs[label].append(seconds)
                print(f"  {n:>8} --jobs {jobs or 'default'} {label:<6} run {i + 1}: {seconds:7.2f} s", flush=True)
        before, after = (json.loads((tmp / f"{k}.json").read_text()) for k in ("before", "after"))
        cb, ca = _code_counts(before), _code_counts(after)
        out.append({
            "examples": n,
            "jobs": jobs or "default",
            "before": statistics.median(runs["before"]),
            "after": statistics.median(runs["after"]),
            "changed_codes": {c: (cb.get(c, 0), ca.get(c, 0)) for c in sorted(set(cb) | set(ca)) if cb.get(c) != ca.get(c)},
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 10,000-example file")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated example counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool per size (files of 1M: at most 1 unless given)")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for the main dsqa runs (default: dsqa's default)")
    parser.add_argument("--json", type=Path, help="write the results as JSON too")
    parser.add_argument("--ablate", type=int, metavar="N", help="also measure, on N examples with --jobs 1 and with the default --jobs, what the duplicates and the content checks add")
    parser.add_argument("--before", metavar="REF", help="compare this tree's dsqa check with git revision REF's, in the same run")
    parser.add_argument("--after-rules", metavar="PACK", help="with --before: check this tree with this rule pack (e.g. one that turns new validators off)")
    args = parser.parse_args(argv)
    sizes = [10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.before:
        after = ["--rules", args.after_rules] if args.after_rules else []
        rows = [row for n in sizes for row in compare(args.before, n, args.repeat, after)]
        print(f"\n| examples | --jobs | before ({args.before}) median s | after median s | after/before | codes whose counts changed |")
        print("|---:|---|---:|---:|---:|---|")
        for r in rows:
            changed = ", ".join(f"{c} {b:,}→{a:,}" for c, (b, a) in r["changed_codes"].items()) or "none"
            print(f"| {r['examples']:,} | {r['jobs']} | {r['before']:.2f} | {r['after']:.2f} | {r['after'] / r['before']:.3f} | {changed} |")
        if args.json:
            args.json.write_text(json.dumps({"compare": rows}, indent=1) + "\n")
        return 0

    sys.path.insert(0, str(ROOT))
    from dsqa.engine import default_jobs
    from dsqa.validators import all_validators

    print(f"dsqa validators: {', '.join(all_validators())}; default --jobs {args.jobs or default_jobs()}", flush=True)
    results = []
    for n in sizes:
        repeat = args.repeat if n < 1_000_000 or "--repeat" in (argv or sys.argv) else 1
        results.append(bench(n, repeat, args.jobs))

    print("\n| examples | MB | tool | median s | examples/s | MB/s | peak RSS MB |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for r in results:
        for tool, seconds in r["median_seconds"].items():
            print(f"| {r['examples']:,} | {r['mb']:.0f} | {tool} | {seconds:.2f} | {r['examples'] / seconds:,.0f} | "
                  f"{r['mb'] / seconds:.1f} | {r['peak_rss_mb'][tool]:.0f} |")
    print("\n| examples | ratio dsqa/baseline (median) | speed-up --jobs N vs 1 | --jobs N == --jobs 1 |")
    print("|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['examples']:,} | {r['ratio_dsqa_baseline']:.2f} | {r['speedup_jobs']:.2f} | {r['jobs_identical']} |")
    print("\n| examples | defect class | planted | dsqa recall | dsqa precision | baseline recall | baseline precision |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        for name, q in r["quality"].items():
            print(f"| {r['examples']:,} | {name} | {q['planted']} | {_fmt(q['dsqa'][0])} | {_fmt(q['dsqa'][1])} | "
                  f"{_fmt(q['baseline'][0])} | {_fmt(q['baseline'][1])} |")
    ablations = []
    if args.ablate:
        # per core (--jobs 1), and as a user runs it (the default --jobs), where the serial part of
        # a run (start-up, the duplicates search, the report) weighs more
        ablations = ablate(args.ablate, args.repeat, 1)
        if default_jobs() > 1:
            ablations += ablate(args.ablate, args.repeat, None)
    if ablations:
        print(f"\n| switched off ({args.ablate:,} examples) | --jobs | median s without | added s | added share | added peak RSS MB |")
        print("|---|---:|---:|---:|---:|---:|")
        for a in ablations:
            print(f"| {a['validators']} | {a['jobs']} | {a['seconds_without']:.2f} | {a['added_seconds']:.2f} | "
                  f"{a['added_share']:.0%} | {a['added_rss_mb']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"sizes": results, "ablations": ablations}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
