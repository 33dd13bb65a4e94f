"""The ``mlp`` console script's entry point, kept free of heavy imports.

Its first act is to defer Ctrl-C and SIGTERM (``signals.py``): a signal that
arrives while typer, rich, NumPy or pydantic are still loading is recorded,
never raised in the middle of an import. The command takes it up at a safe
point: training stops after its first step and saves (``StopFlag``); any
other command stops with one line, exit 130 or 143, and a JSON document with
``--json`` (``cli/common.py: reported_errors``). A Ctrl-C while the
interpreter itself is still starting, before this module runs, is Python's
to report. Once the command has returned, its exit code stands: a signal
while the interpreter shuts down is ignored (Python restores the default
handlers as it finalizes, which would let a late Ctrl-C kill a command that
had already finished and saved everything).
"""

from __future__ import annotations

import signal
import sys

from mlpcli import signals


def main() -> None:
    signals.defer_all()
    as_json = "--json" in sys.argv[1:]
    try:
        from mlpcli.cli import run

        code = run(as_json)
    except KeyboardInterrupt:  # only if a command restored the default handler and lost it
        code = signals.report_unhandled(signal.SIGINT, as_json)
    for sig in signals.handled():
        signal.signal(sig, signal.SIG_IGN)
    sys.exit(code)
