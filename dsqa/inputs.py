"""Datasets as local files: standard input and pipes are spooled, compressed files decompressed.

The reader needs a regular file: it reads a file's head twice, ``--jobs`` seeks to byte
offsets, and findings are stamped and duplicates verified by reading lines again at the end.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

from .errors import InputError
from .reading import COMPRESSED, data_suffix

#: the argument that means standard input, and the name its findings carry
STDIN = "-"
STDIN_NAME = "<stdin>"
_COPY = 1 << 20

#: names of the datasets being checked that are read from a local copy: name -> the copy
_LOCAL: dict[str, Path] = {}


def local_path(name: str) -> Path:
    """The file to read (again) for the dataset ``name``: its local copy while it is open, else itself."""
    return _LOCAL.get(name, Path(name))


class Source(NamedTuple):
    """A dataset as the engine reads it: its name in findings and a regular file holding its text."""

    name: str
    path: Path


def _open_compressed(path: Path, suffix: str) -> BinaryIO:
    if suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")
    if suffix == ".bz2":
        import bz2

        return bz2.open(path, "rb")
    if suffix == ".xz":
        import lzma

        return lzma.open(path, "rb")
    try:
        import zstandard
    except ImportError:
        raise InputError(f"{path}: reading .zst files needs the zstandard package: pip install 'dsqa[zstd]'") from None
    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)  # noqa: SIM115


def _decompress_errors() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib

    errors: list[type[BaseException]] = [OSError, EOFError, lzma.LZMAError, zlib.error]
    try:
        import zstandard
    except ImportError:
        pass
    else:
        errors.append(zstandard.ZstdError)
    return tuple(errors)


def _spool(name: str, opener: Callable[[], BinaryIO], what: str) -> Path:
    """Copy what ``opener`` reads into a temporary file named with the data suffix of ``name``."""
    fd, tmp = tempfile.mkstemp(prefix="dsqa-", suffix=data_suffix(name))
    try:
        with os.fdopen(fd, "wb") as out, opener() as src:
            shutil.copyfileobj(src, out, _COPY)
    except BaseException as exc:  # an interrupt too: the copy must not outlive the run
        os.unlink(tmp)
        if isinstance(exc, InputError) or not isinstance(exc, _decompress_errors()):
            raise
        raise InputError(f"{name}: cannot {what}: {_reason(exc, name)}") from None
    return Path(tmp)


def _reason(exc: BaseException, name: str) -> str:
    """Why a copy failed, in words (the libraries' own messages quote bytes as Python sees them)."""
    if isinstance(exc, EOFError):
        return "the compressed data ends early; the file may be truncated"
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.strerror or str(exc)
    return f"it is not valid {Path(name).suffix.lstrip('.')} data"


def _is_regular(path: Path) -> bool:
    """Whether ``path`` can be read in place: a regular file (a directory or a missing file too, so
    that the reader names the error), not a pipe or a device."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def _stdin() -> BinaryIO:
    return os.fdopen(os.dup(sys.stdin.fileno()), "rb")


class Inputs:
    """The datasets of one run, opened as local files; ``close`` removes the temporary copies.

    A copy stays until the end of the run: leakage checks read the training file again while the
    validation file is checked.
    """

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.copies: list[Path] = []

    def open(self, arg: str | Path) -> Source:
        """The dataset ``arg`` (a path, or "-" for standard input) as a regular local file."""
        text = str(arg)
        if text in self.sources:
            return self.sources[text]
        path = Path(text)
        suffix = path.suffix.lower()
        if text == STDIN:
            local = _spool(STDIN_NAME, _stdin, "read")
            text = STDIN_NAME
        elif suffix in COMPRESSED and path.exists() and not path.is_dir():
            local = _spool(text, lambda: _open_compressed(path, suffix), "decompress")
        elif not _is_regular(path):
            local = _spool(text, lambda: _open_pipe(path), "read")
        else:
            local = path
        source = Source(text, local)
        self.sources[str(arg)] = source
        if local != path:
            self.copies.append(local)
            _LOCAL[text] = local
        return source

    def close(self) -> None:
        for source in self.sources.values():
            if _LOCAL.get(source.name) == source.path:
                del _LOCAL[source.name]
        for copy in self.copies:
            try:
                os.unlink(copy)
            except OSError:
                pass
        self.copies.clear()

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _open_pipe(path: Path) -> BinaryIO:
    """A pipe or a device, opened for one sequential read."""
    try:
        return open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
