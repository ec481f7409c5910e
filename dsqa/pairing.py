"""Which files of a run are training, validation or other split files (test...), and which training file a validation file is checked against."""

from __future__ import annotations

import fnmatch
import glob
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

#: a file-name part that marks a validation file: `val.jsonl`, `support_val.jsonl`,
#: `sft.validation.jsonl`, `valid-2.jsonl`, `dev.jsonl` (parts are split at `.`, `_` and `-`)
_VALIDATION_PART = re.compile(r"(?<![A-Za-z0-9])(validation|valid|val|dev)(?![A-Za-z0-9])", re.I)
_GLOB_CHARS = frozenset("*?[")
#: a split name of --split NAME=FILE: a word such as test, holdout, eval-2024
_SPLIT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


@dataclass
class Roles:
    """The training and validation files of a run, and what was inferred about them."""

    train: list[str] = field(default_factory=list)
    validation: list[str] = field(default_factory=list)
    #: the files of other splits (--split test=test.jsonl), as (name, path), in the order given
    splits: list[tuple[str, str]] = field(default_factory=list)
    #: plain-English notes on each inference, for the status line
    notes: list[str] = field(default_factory=list)


def is_pattern(entry: str) -> bool:
    """Whether a config ``validation:`` entry is a glob rather than one file."""
    return any(c in _GLOB_CHARS for c in entry)


def expand(entries: Sequence[str]) -> list[str]:
    """The files a config's ``validation:`` entries name: globs expanded (sorted), plain paths kept."""
    out: list[str] = []
    for entry in entries:
        if is_pattern(entry):
            out.extend(m for m in sorted(glob.glob(entry, recursive=True)) if m not in out)
        elif entry not in out:
            out.append(entry)
    return out


def validation_by_name(path: str) -> bool:
    """Whether the file name says validation (see ``_VALIDATION_PART``); directories do not count."""
    return _VALIDATION_PART.search(Path(path).name) is not None


def training_partner(path: str) -> str | None:
    """The training file beside a validation file by name (`val` → `train`), when it exists."""
    p = Path(path)
    for word in ("train", "training"):
        candidate = p.with_name(_VALIDATION_PART.sub(word, p.name, count=1))
        if candidate != p and candidate.is_file():
            return str(candidate)
    return None


def parse_split(spec: str) -> tuple[str, str]:
    """The (name, file) of a ``--split NAME=FILE`` value, or a usage error that says what is wrong."""
    name, sep, path = spec.partition("=")
    name = name.strip().lower()
    if not sep or not path:
        raise UsageError(f"--split {spec}: expected NAME=FILE, e.g. --split test=test.jsonl")
    if not _SPLIT_NAME.fullmatch(name):
        raise UsageError(
            f"--split {spec}: the split name must start with a letter and hold only letters, digits, - and _ (at most 40)"
        )
    return name, path


def _matches(path: str, patterns: Sequence[str]) -> bool:
    norm = Path(path)
    try:
        norm = norm.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    for pattern in patterns:
        if fnmatch.fnmatch(str(norm), pattern) or fnmatch.fnmatch(path, pattern):
            return True
        if not is_pattern(pattern) and Path(pattern).resolve() == Path(path).resolve():
            return True
    return False


def assign_roles(
    paths: Sequence[str], validation: Sequence[str], config_validation: Sequence[str], splits: Sequence[str] = (),
) -> Roles:
    """Split the files given to ``dsqa check`` into training and validation files.

    A file is a validation file when it is given with ``--validation``, when it matches an entry of
    the config's ``validation:`` (a path or a glob), or when its name has a part ``val``,
    ``valid``, ``validation`` or ``dev``. A validation file named on the command line is checked for
    leakage against the training files of the run and against the file beside it whose name says
    ``train`` instead (``val.jsonl`` → ``train.jsonl``, ``qa_dev.jsonl`` → ``qa_train.jsonl``),
    which is added to the run when it is not in it. When no validation file is named at all, the
    config's entries are checked alongside, as before.

    ``splits`` are ``--split NAME=FILE`` values: ``train`` and ``validation`` add to those roles,
    any other name (test, holdout...) is a split of its own, checked after them. A file may be in
    one split only.
    """
    named_splits = [parse_split(spec) for spec in splits]
    validation = [*validation, *(p for name, p in named_splits if name == "validation")]
    paths = [*paths, *(p for name, p in named_splits if name == "train" and p not in paths)]
    roles = Roles(validation=list(dict.fromkeys(validation)))
    for p in paths:
        if p in roles.validation:
            continue
        if _matches(p, config_validation) or validation_by_name(p):
            roles.validation.append(p)
        else:
            roles.train.append(p)
    named = list(roles.validation)
    if not roles.validation:
        roles.validation = expand(config_validation)
    for p in named:
        if p in paths:
            roles.notes.append(f"{p} is checked as a validation file")
    for p in named:
        partner = training_partner(p)
        if partner is not None and partner not in roles.train:
            roles.train.append(partner)
            roles.notes.append(f"{p} is checked for leakage against {partner}, which is checked too")
    roles.splits = [(name, p) for name, p in dict.fromkeys(named_splits) if name not in ("train", "validation")]
    _one_split_each(roles)
    return roles


def _one_split_each(roles: Roles) -> None:
    """Stop when one file is given as two splits: every example would be reported as leaked."""
    seen: dict[str, str] = {}
    for name, p in [*(("train", p) for p in roles.train), *(("validation", p) for p in roles.validation), *roles.splits]:
        key = p if p == "-" else str(Path(p).resolve())
        if key in seen and seen[key] != name:
            raise UsageError(f"{p} is given as both the {seen[key]} and the {name} split; give each file once")
        seen.setdefault(key, name)
