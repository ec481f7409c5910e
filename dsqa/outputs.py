"""Streaming output files that appear under their final name only when complete."""

from __future__ import annotations

import base64
import codecs
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from .errors import DsqaError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: a temporary file of ours: `.NAME.dsqa-PID.RANDOM.tmp`, so a later run knows whose it was
_TEMP = re.compile(r"\.(?P<name>.+)\.dsqa-(?P<pid>\d+)\.[^.]+\.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is another user's
        return True
    return True


def sweep_stale(directory: Path) -> list[Path]:
    """Remove the temporary files that killed dsqa runs left in ``directory``; return them.

    Only files of dsqa's own naming whose process is gone are removed.
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.fullmatch(entry.name)
        if m is None or int(m["pid"]) == os.getpid() or _alive(int(m["pid"])):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


class AtomicOutput:
    """A file written through a temporary sibling and renamed over ``path`` on ``commit``.

    Until ``commit`` nothing exists under ``path`` (an old file there stays untouched); leaving
    the ``with`` block without committing, or on an exception or interrupt, removes the temporary
    file. The temporary file is in the same directory, so the rename is atomic.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        directory = self.path.parent if str(self.path.parent) else Path(".")
        sweep_stale(directory)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.dsqa-{os.getpid()}.", suffix=".tmp", dir=directory)
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

    def flush(self) -> None:
        """Put everything written so far on disk, under the temporary name."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def commit(self) -> None:
        """Flush to disk and rename the temporary file to the final name."""
        if not self.file.closed:
            self.flush()
        os.replace(self.tmp, self.path)
        self.done = True

    def discard(self) -> None:
        """Drop what was written; the final name is left as it was."""
        if self.done:
            return
        try:
            if not self.file.closed:
                self.file.close()  # raises on a full disk: the temporary file must go all the same
        except OSError:
            pass
        finally:
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


def write_entry_with_content(out: AtomicOutput, head: str, chunks: Callable[[], Iterable[bytes]]) -> None:
    """Write one JSONL line: the JSON object ``head`` with the bytes ``chunks()`` yields added, streamed.

    The bytes go in ``"text"``; when they are not valid UTF-8, ``"text"`` shows them with
    replacement characters and ``"raw_base64"`` holds them exactly. ``chunks`` is called once to
    test the encoding and once per field written, so a record of any size takes bounded memory.
    """
    valid = True
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        for chunk in chunks():
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        valid = False
    out.write(head.rstrip()[:-1].encode("utf-8") + (b', "text": "' if head.rstrip() != "{}" else b'"text": "'))
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    for chunk in chunks():
        out.write(json.dumps(decoder.decode(chunk), ensure_ascii=False)[1:-1].encode("utf-8"))
    out.write(json.dumps(decoder.decode(b"", final=True), ensure_ascii=False)[1:-1].encode("utf-8") + b'"')
    if not valid:
        out.write(b', "raw_base64": "')
        rest = b""
        for chunk in chunks():
            data = rest + chunk
            cut = len(data) - len(data) % 3  # whole 3-byte groups, so the pieces join into one base64 text
            out.write(base64.b64encode(data[:cut]))
            rest = data[cut:]
        out.write(base64.b64encode(rest) + b'"')
    out.write(b"}")
    out.write_line(b"")


def commit_together(outputs: Sequence[AtomicOutput], stale: Sequence[Path] = ()) -> None:
    """Commit files that belong together so that no reader ever sees a new one beside an old one.

    Everything is on disk under temporary names first. Then the old files of all outputs but the
    first (and the ``stale`` files, which belonged to the old set) are removed, and the outputs are
    renamed in order. A kill at any point leaves the old set, the old or new first file alone, or
    the new set: never a new file next to an old one (such as a new train.jsonl beside the
    validation.jsonl of an earlier split).
    """
    for out in outputs:
        if not out.file.closed:
            out.flush()
    for path in [*(o.path for o in outputs[1:]), *stale]:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    for out in outputs:
        out.commit()
    if outputs:
        _sync_directory(outputs[0].path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory if str(directory) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
