"""Atomic writes: a file is either its old complete self or its new complete self.

The bytes go to a temporary file in the same directory, are fsynced, and the
file is renamed over the target (``os.replace`` is atomic on POSIX), so a
reader sees the old file or the new one, never half of one. On Linux the
temporary file is anonymous (``O_TMPFILE``) until it is complete, so a
process killed while writing leaves no partial file at all.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` always holds a complete file.

    The bytes go to a temporary file in the same directory, are fsynced, and the
    file is renamed over ``path`` (atomic on POSIX). On Linux the temporary file
    is anonymous (``O_TMPFILE``) until it is complete, so a process killed while
    writing leaves no partial file at all; elsewhere a killed writer may leave a
    ``.name.*.tmp`` file, removed by :func:`remove_stale_temporaries`.
    """
    path = Path(path)
    if _write_anonymous_then_link(path, data):
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _replace(tmp: Path | str, path: Path) -> None:
    """os.replace, but a failure names the user's file, not our temporary one."""
    try:
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None


_AT_FDCWD, _AT_SYMLINK_FOLLOW = -100, 0x400


def _linkat():
    """libc's linkat, which can give an O_TMPFILE file a name (os.link cannot), or None."""
    if not hasattr(os, "O_TMPFILE"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).linkat
    except (OSError, AttributeError):
        return None


_LINKAT = _linkat()


def _write_anonymous_then_link(path: Path, data: bytes) -> bool:
    """The O_TMPFILE route of :func:`atomic_write`; False when the system does not offer it."""
    if _LINKAT is None:
        return False
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o644)
    except OSError:  # file system without O_TMPFILE
        return False
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
            os.fsync(fd)
        tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        source = f"/proc/self/fd/{fd}".encode()
        if _LINKAT(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(tmp), _AT_SYMLINK_FOLLOW) != 0:
            return False  # e.g. no /proc: fall back to a named temporary file
        try:
            _replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    finally:
        os.close(fd)
    _fsync_dir(path.parent)
    return True


def _fsync_dir(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is on disk.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files a killed writer left behind (``.name.xxxx.tmp``)."""
    for tmp in Path(directory).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
