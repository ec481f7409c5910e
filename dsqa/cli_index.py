"""`dsqa index build`: a contamination index of your own evaluation sets, for the CTM001 check."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import DsqaError


@click.group()
def index() -> None:
    """Contamination indexes: build one from your evaluation sets."""


@index.command()
@click.argument("files", nargs=-1, required=True, metavar="[NAME=]FILE...")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the index (e.g. evals.idx).")
def build(files: tuple[str, ...], output: Path) -> int:
    """Index the texts of evaluation FILEs (JSONL or a JSON array, .gz too) for CTM001.

    Each record becomes items: GSM8K-style question and answer, HumanEval-style prompt and
    canonical_solution, a chat record's user and assistant turns, or else each string field. NAME=
    names the set in findings (default: the file name up to its first dot). Use the index with
    `validators: {contamination: {indexes: [FILE]}}` in a rule pack.
    """
    from .contamination import build as build_index
    from .contamination import parts_of_file
    from .inputs import Inputs

    parts = []
    with Inputs() as inputs:  # .gz, .bz2, .xz, .zst and pipes, decompressed or spooled and removed after
        for spec in files:
            name, sep, path = spec.partition("=")
            if not sep:
                name, path = "", spec
            src = Path(path)
            if not src.is_file():
                raise DsqaError(f"{src}: cannot read: No such file or directory")
            local = inputs.open(str(src)).path
            for benchmark, item, part, text in parts_of_file(local, src.name.split(".")[0]):
                parts.append((name or benchmark, item, part, text))
    idx = build_index(parts, ", ".join(Path(spec.partition("=")[2] or spec).name for spec in files))
    idx.save(output)
    sets = len({i.benchmark for i in idx.items})
    click.echo(f"indexed {len(idx.items):,} texts of {sets:,} evaluation set{'s' if sets != 1 else ''} "
               f"({len(idx.hashes):,} runs of eight words) into {output}")
    return 0
