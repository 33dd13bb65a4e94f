"""What every command shares: options, the error boundary, JSON output, signals.

Imports stay light here (no numpy, no engine): ``mlp --help`` must start fast.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlpcli import signals
from mlpcli.errors import MlpError

if TYPE_CHECKING:
    from rich.console import Console


def _assignments(values: list[str] | None) -> list[str] | None:
    """Refuse ``--set train.lr 0.1`` (a space for the ``=``) before its value is taken for
    an extra argument: click runs this callback before it complains about extra arguments."""
    for value in values or []:
        key, sep, _ = value.partition("=")
        if not sep or not key.strip():
            name = key.strip() if key.strip() and not key.startswith("-") else "train.lr"
            raise typer.BadParameter(
                f"{value!r}: expected KEY=VALUE, e.g. --set {name}=0.1 (no spaces around '=')"
            )
    return values


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        callback=_assignments,
        help="Override a config field, the value read as YAML (repeatable): "
        "--set train.lr=0.05 --set model.hidden=[64,64]",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else there.")
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="BLAS threads for the matrix products (default: $MLP_THREADS, else one per core).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No human output on stderr.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show a traceback on errors.")]
RunArgument = Annotated[Path, typer.Argument(help="A run directory or a model.safetensors file.")]
LabelsOption = Annotated[
    Path | None, typer.Option("--labels", help="IDX label file, when --data is IDX images.")
]


def console(quiet: bool = False) -> Console:
    """The human-output console: stderr, plain lines when stderr is not a terminal."""
    from rich.console import Console

    return Console(stderr=True, quiet=quiet, highlight=False, soft_wrap=True)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def emit_json(document: Any) -> None:
    """Write exactly one JSON document (and a newline) to stdout.

    Ctrl-C and SIGTERM wait while it is written (a handler that raised mid-write
    would leave half a document); once it is out, the command's result stands and
    a late signal adds nothing (:data:`document_out`), never a second document.
    """
    global document_out
    text = json.dumps(_finite(document), allow_nan=False) + "\n"
    held = signal.pthread_sigmask(signal.SIG_BLOCK, signals.handled())
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
        document_out = True
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


#: Whether this command has written its JSON document (reset by the error boundary).
document_out = False


#: Whether the command line asked for JSON at all, even where an option swallowed it
#: (``--set --json``): set by the entry point, read by the error boundary.
json_requested = False


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised where a command's work can stop at once."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    # A handler that runs inside a callback Python calls for itself (a weakref callback
    # of the import system, say) has its exception dropped: see _unraisable_quietly.
    raise Interrupted(signum)


def _unraisable_quietly(hook):
    """``sys.unraisablehook`` that lets an ``Interrupted`` Python dropped go without a
    traceback on stderr, and passes anything else to ``hook``.

    Python drops what a callback of its own raises (a weakref callback of the import
    system, run just when the handler ran). Sending the signal again would only run
    the handler inside this hook; the command goes on instead, and the next Ctrl-C
    stops it as usual.
    """

    def quiet(unraisable) -> None:
        if not isinstance(unraisable.exc_value, Interrupted):
            hook(unraisable)

    return quiet


def _interrupted_by(e: BaseException) -> int | None:
    """The signal behind ``e``: raised by it, or during an import it broke (pydantic
    wraps what interrupts it building a schema). None when ``e`` is something else."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, Interrupted):
            return seen.signum
        if isinstance(seen, KeyboardInterrupt):
            return signal.SIGINT
        seen = seen.__cause__ or seen.__context__
    return None


@contextlib.contextmanager
def _interruptible(enabled: bool) -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Interrupted`` here; one that came earlier, at once."""
    if not enabled:
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in signals.handled()}
    hook, sys.unraisablehook = sys.unraisablehook, _unraisable_quietly(sys.unraisablehook)
    try:
        signum = signals.take()
        if signum is not None:
            raise Interrupted(signum)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook


@contextlib.contextmanager
def reported_errors(debug: bool, as_json: bool = False, signals: bool = True) -> Iterator[None]:
    """The CLI's one error boundary: a library error becomes one message and its exit code.

    With ``signals`` (every command but training, which has its ``StopFlag``),
    Ctrl-C or SIGTERM stops the command with "interrupted" and exit 130 or 143
    (and a JSON document with ``--json``), wherever it lands.

    Inside it, NumPy floating-point overflow, invalid operations and division
    by zero raise instead of warning: the library handles the ones it expects
    (``np.errstate`` where it checks the results itself), and any other is an
    error with one line, never a RuntimeWarning on stderr.
    """
    global document_out
    as_json, document_out = as_json or json_requested, False
    try:
        with _interruptible(signals), _numpy_raises():
            yield
    except (Interrupted, KeyboardInterrupt) as e:
        if debug:
            raise
        if document_out:  # after the result was written: it stands, as after the command
            return
        _fail("interrupted", 128 + _interrupted_by(e), as_json)
    except MlpError as e:
        if debug:
            raise
        _fail(str(e), e.exit_code, as_json)
    except MemoryError:
        if debug:
            raise
        _fail("out of memory: try a smaller model, batch or dataset", 2, as_json)
    except FloatingPointError as e:
        if debug:
            raise
        _fail(f"numerical error ({e}): an input or setting far out of range?", 2, as_json)
    except OSError as e:  # permissions, full disk: name the file
        if debug:
            raise
        if _interrupted_by(e) is not None:
            _fail("interrupted", 128 + _interrupted_by(e), as_json)
        where = f"{e.filename}: " if e.filename else ""
        _fail(f"{where}{e.strerror or e}", 2, as_json)
    except Exception as e:  # e.g. pydantic's SchemaError around an interrupted import
        signum = _interrupted_by(e)
        if debug or signum is None:
            raise
        _fail("interrupted", 128 + signum, as_json)


@contextlib.contextmanager
def _numpy_raises() -> Iterator[None]:
    import numpy as np  # here, not at the top: `mlp --help` must not load NumPy

    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        yield


def _fail(message: str, code: int, as_json: bool) -> None:
    from rich.text import Text

    console().print(Text("error: ", style="bold red") + Text(message))
    if as_json and not document_out:  # one document on stdout, whatever happens after it
        emit_json({"error": message, "exit_code": code})
    raise typer.Exit(code)


class StopFlag:
    """SIGINT/SIGTERM handler: the first signal asks training to stop after the current
    step (state is saved); a second one exits at once (files stay intact: every write is
    atomic). Call the instance to ask whether a stop was requested."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            os._exit(128 + signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    def __enter__(self) -> StopFlag:
        for sig in signals.handled():
            self.previous[sig] = signal.signal(sig, self._handle)
        self.signum = signals.take()  # one that came while mlp was starting: stop at once
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
