"""Signals that arrive before a command is ready for them: recorded, not raised.

``entry.py`` installs :func:`defer` for SIGINT and SIGTERM first thing, so a
Ctrl-C while typer, NumPy or pydantic load is kept in :data:`pending`; the
command takes it up at a safe point (``cli/common.py``). Imports nothing
beyond the standard library, so the console script stays light.
"""

from __future__ import annotations

import signal
import sys

#: Signals received before a command took over their handling, oldest first.
pending: list[int] = []


def defer(signum: int, frame: object) -> None:
    pending.append(signum)


def handled() -> tuple[int, ...]:
    """SIGINT and SIGTERM, except one the process was started with ignored: a job a
    non-interactive shell puts in the background ignores Ctrl-C, and so do we, as
    Python does."""
    return tuple(
        s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) != signal.SIG_IGN
    )


def defer_all() -> None:
    for sig in handled():
        signal.signal(sig, defer)


def take() -> int | None:
    """The oldest pending signal, now handled, or None."""
    return pending.pop(0) if pending else None


def report_unhandled(signum: int, as_json: bool) -> int:
    """Say that a signal ended the command; returns the exit code 128 + signum."""
    code = 128 + signum
    sys.stderr.write("interrupted\n")
    if as_json:
        sys.stdout.write(f'{{"error": "interrupted", "exit_code": {code}}}\n')
    return code
