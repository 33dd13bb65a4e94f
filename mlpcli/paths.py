"""Checks on the paths a user gives, before anything is opened.

Reading: a path must name an existing *regular* file (a FIFO, a device such
as ``/dev/zero`` or a socket has no size to bound a read by, and a directory
is not a file); symlinks are followed. Any path with a NUL byte is refused
(the operating system cannot represent it). Each check raises the caller's
error type with a one-line message naming the path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlpcli.errors import MlpError

#: What a non-regular file is, for messages.
_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def kind_of(mode: int) -> str:
    """'a regular file', 'a directory', 'a FIFO (named pipe)', ... for an ``st_mode``."""
    return _KINDS.get(stat.S_IFMT(mode), "a regular file")


def check_name(path: str | Path, error: type[MlpError] = MlpError) -> Path:
    """``path`` as a Path, refusing one the file system cannot hold (a NUL byte)."""
    if "\0" in os.fspath(path):
        raise error(f"{os.fspath(path)!r}: a path cannot contain a NUL byte")
    return Path(path)


def regular_file(path: str | Path, what: str, error: type[MlpError] = MlpError) -> os.stat_result:
    """The ``stat`` of ``path`` if it is an existing regular file (symlinks followed).

    ``what`` names the role in messages: "is a directory, not a config file".
    """
    path = check_name(path, error)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: is {kind_of(st.st_mode)}, not {what}")
    return st


def read_regular(
    path: str | Path, what: str, limit: int, error: type[MlpError] = MlpError
) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes
    (a FIFO or ``/dev/zero`` is refused before it is opened)."""
    regular_file(path, what, error)
    return read_bounded(Path(path), limit, error)


def read_bounded(path: Path, limit: int, error: type[MlpError] = MlpError) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read without trusting its size.

    At most ``limit`` + 1 bytes are read, so a file that grows, or lies about its
    size, cannot make us read more.
    """
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path}: larger than {limit:,} bytes; refusing to read it")
    return data
