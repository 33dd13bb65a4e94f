"""The ``mlp`` console script's entry point, kept free of imports.

The script imports this module before anything else: typer, rich and NumPy
load inside :func:`main`, so a Ctrl-C during start-up lands in our handler
(exit 130, one line, and a JSON document with ``--json``) instead of
printing a ``KeyboardInterrupt`` traceback. (A Ctrl-C while the interpreter
itself is still starting, before any of this runs, is Python's to report.)
"""

from __future__ import annotations

import sys


def main() -> None:
    as_json = "--json" in sys.argv[1:]
    try:
        from mlpcli.cli import run

        code = run(as_json)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        if as_json:
            sys.stdout.write('{"error": "interrupted", "exit_code": 130}\n')
        code = 130
    sys.exit(code)
