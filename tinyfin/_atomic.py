"""Atomic file replacement, for checkpoints (serialization.py) and the
Trainer's logs and plots (train/callbacks.py): a reader, or a crash at any
moment, sees the old file or the new one, never part of one."""
from __future__ import annotations

import os
import secrets
from typing import BinaryIO, Callable


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory fds."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, write: Callable[[BinaryIO], None]) -> None:
    """Replace the file at path with what write(f) writes to f: a new
    uniquely named temporary file in the same directory (a temp file a
    killed writer left never collides), flushed and fsync'ed, renamed over
    path, the directory fsync'ed. On any error (KeyboardInterrupt included)
    the temporary file is removed and an existing file at path is left as
    it was."""
    path = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)  # the umask applies, as for a file open() makes
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
