"""The ``mlp`` console script's entry point, kept free of imports.

The script imports this module before anything else. Its first act is to
defer Ctrl-C and SIGTERM: a signal that arrives while typer, rich, NumPy or
pydantic are still loading is only recorded (``pending``), never raised in
the middle of an import. The command then takes it up at a safe point: the
training loop stops after its first step and saves (``StopFlag``); any other
command stops at the start of its work with one line, exit 130 or 143, and a
JSON document with ``--json`` (``cli/common.py: reported_errors``). (A
Ctrl-C while the interpreter itself is still starting, before this module
runs, is Python's to report.)
"""

from __future__ import annotations

import signal
import sys

#: Signals received before a command took over their handling, oldest first.
pending: list[int] = []


def _defer(signum: int, frame: object) -> None:
    pending.append(signum)


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _defer)
    as_json = "--json" in sys.argv[1:]
    try:
        from mlpcli.cli import run

        code = run(as_json)
    except KeyboardInterrupt:  # only if a command restored the default handler and lost it
        code = interrupted(signal.SIGINT, as_json)
    sys.exit(code)


def interrupted(signum: int, as_json: bool) -> int:
    """Report an interruption that no command handled; returns the exit code."""
    code = 128 + signum
    sys.stderr.write("interrupted\n")
    if as_json:
        sys.stdout.write(f'{{"error": "interrupted", "exit_code": {code}}}\n')
    return code
