"""Writing files: atomically where the file is ours, through where it is not.

:func:`atomic_write` (every file of a run): the bytes go to a temporary file
in the same directory, are fsynced, and the file is renamed over the target
(``os.replace`` is atomic on POSIX), so a reader sees the old file or the new
one, never half of one. On Linux the temporary file is anonymous
(``O_TMPFILE``) until it is complete, so a process killed while writing
leaves no partial file at all. Errors name the target, never a temporary.

:func:`write_output` (a file the user names with ``--out``): a symlink is
followed and its target written; a device or FIFO (``/dev/null``, a named
pipe) is written through, as a shell redirection would; a regular file is
replaced atomically; and a file the same command reads (its data, its model,
a run's own files) is refused.
"""

from __future__ import annotations

import ctypes
import glob
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from mlpcli.errors import UsageError
from mlpcli.files import RUN_FILES
from mlpcli.paths import check_name, kind_of


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` always holds a complete file.

    The bytes go to a temporary file in the same directory, are fsynced, and the
    file is renamed over ``path`` (atomic on POSIX). On Linux the temporary file
    is anonymous (``O_TMPFILE``) until it is complete, so a process killed while
    writing leaves no partial file at all; elsewhere a killed writer may leave a
    ``.name.*.tmp`` file, removed by :func:`remove_stale_temporaries`.
    """
    path = Path(path)
    try:
        if _write_anonymous_then_link(path, data):
            return
        _write_named_then_replace(path, data)
    except OSError as e:  # ENOSPC, EACCES...: name the user's file, not our temporary one
        raise OSError(e.errno, e.strerror, str(path)) from None
    _fsync_dir(path.parent)


def _write_named_then_replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output(path: str | Path, *, inputs: Iterable[Path] = ()) -> Path:
    """The file a write to ``path`` would land in, or a refusal, before any work is done.

    A symlink is followed. ``inputs`` are the files the same command reads:
    writing over one of them is refused; so is writing a run's own files.
    """
    path = check_name(path, UsageError)
    target = Path(os.path.realpath(path))
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
        if not target.parent.is_dir():
            raise UsageError(f"{path}: no such directory {target.parent}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: is a directory; give a file name")
    for source in inputs if st is not None else ():
        if _same_file(st, source):
            raise UsageError(
                f"{path}: is {source}, which this command reads; refusing to overwrite it"
            )
    if target.name in (*RUN_FILES, ".lock") and is_run_dir(target.parent):
        raise UsageError(
            f"{path}: is a file of the run in {target.parent}; refusing to overwrite it"
        )
    return target


def write_output(path: str | Path, data: bytes, *, inputs: Iterable[Path] = ()) -> None:
    """Write ``data`` to a file the user named (``--out``), never destroying what it should not.

    After :func:`check_output`: a device or FIFO (``/dev/null``, a named pipe)
    is written through, as a shell redirection would; anything else is
    replaced atomically.
    """
    target = check_output(path, inputs=inputs)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG
    if stat.S_ISREG(mode):
        atomic_write(target, data)
        return
    try:
        with open(target, "wb") as f:
            f.write(data)
    except OSError as e:
        raise OSError(
            e.errno, f"cannot write to {kind_of(mode)} ({e.strerror})", str(path)
        ) from None


def _same_file(st: os.stat_result, other: Path) -> bool:
    try:
        o = os.stat(other)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (o.st_dev, o.st_ino)


def is_run_dir(directory: Path) -> bool:
    """A run's directory: it holds its lock (training) or any file of a run."""
    return any((directory / name).exists() for name in (*RUN_FILES, ".lock"))


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
            os.replace(tmp, path)
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
    """Delete temporary files a killed writer left behind (``.config.yaml.xxxx.tmp``):
    only those of a run's own files, never a user's ``.notes.tmp``."""
    for name in RUN_FILES:
        for tmp in Path(directory).glob(f".{glob.escape(name)}.*.tmp"):
            tmp.unlink(missing_ok=True)
