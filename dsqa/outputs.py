"""Streaming output files that appear under their final name only when complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from .errors import DsqaError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicOutput:
    """A file written through a temporary sibling and renamed over ``path`` on ``commit``.

    Until ``commit`` nothing exists under ``path`` (an old file there stays untouched); leaving
    the ``with`` block without committing, or on an exception or interrupt, removes the temporary
    file. The temporary file is in the same directory, so the rename is atomic.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        directory = self.path.parent if str(self.path.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise DsqaError(f"{self.path}: cannot write: {exc.strerror or exc}") from None
        self.tmp = Path(tmp)
        os.chmod(self.tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result should look like any new file
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.count = 0
        self.done = False

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def write_line(self, data: bytes) -> None:
        """Write one JSONL line (the newline is added) and count it."""
        self.file.write(data)
        self.file.write(b"\n")
        self.count += 1

    def commit(self) -> None:
        """Flush to disk and rename the temporary file to the final name."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.tmp, self.path)
        self.done = True

    def discard(self) -> None:
        """Drop what was written; the final name is left as it was."""
        if self.done:
            return
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        self.done = True

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so that readers see either the old or the complete new content, never a part."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with AtomicOutput(Path(path)) as out:
        out.write(payload)
        out.commit()


def check_writable(path: Path, what: str = "output") -> None:
    """Fail now, with one line naming ``path``, if an output file could not be written there later."""
    path = Path(path)
    if path.is_dir():
        raise DsqaError(f"{path}: cannot write {what}: is a directory")
    try:
        AtomicOutput(path).discard()
    except DsqaError as exc:
        raise DsqaError(f"{path}: cannot write {what}: {str(exc).rpartition(': ')[2]}") from None
