"""Exclusive locks on a directory: an ``flock`` held on a file in it that names our pid.

A run directory is locked by ``.lock`` while ``mlp train`` writes it, a sweep
directory by ``.sweep.lock`` while ``mlp sweep`` runs its trials. The kernel
drops an ``flock`` when its process dies, however it dies, so a lock file left
by a killed process is simply free. The file is unlinked on release; a process
that opened it just before must find the same file still in place after
locking it, or it tries again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from mlpcli.errors import MlpError


def take(path: Path, error: type[MlpError]) -> int:
    """Lock ``path`` (created if need be) exclusively for this process; returns its file
    descriptor. Raises ``error`` naming the holder's pid when another process has it,
    and for a lock file that is not a regular file (a symlink is never followed)."""
    for _ in range(100):
        try:  # O_NOFOLLOW: a lock that is a symlink would make us truncate its target
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise error(f"{path}: cannot use it as a lock ({e.strerror})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise error(f"{path}: is not a regular file; cannot use it as a lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise error(
                f"{path.parent}: in use by another mlp process (pid {holder(path)}); "
                "wait for it to finish or choose another --out"
            ) from None
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current != os.fstat(fd).st_ino:  # released and unlinked meanwhile
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as e:  # a full disk: name the file, leave nothing behind
            os.close(fd)
            path.unlink(missing_ok=True)
            raise OSError(e.errno, e.strerror, str(path)) from None
        return fd
    raise error(f"{path.parent}: could not take the lock {path}")


def holder(path: Path) -> str:
    """The pid the lock file ``path`` names (its holder's, while held), or "unknown".
    A symlink is not followed and a FIFO not waited on: only a pid is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return "unknown"
    try:
        return os.read(fd, 32).decode(errors="replace").strip() or "unknown"
    except OSError:
        return "unknown"
    finally:
        os.close(fd)


def release(path: Path, fd: int) -> None:
    """Unlink ``path`` while still holding it (see the module docstring), then let go."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(fd)


@contextlib.contextmanager
def held(path: Path, error: type[MlpError]):
    """``with held(dir / ".sweep.lock", UsageError):`` the lock for the block's duration."""
    fd = take(path, error)
    try:
        yield
    finally:
        release(path, fd)
