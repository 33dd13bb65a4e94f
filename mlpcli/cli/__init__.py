"""The ``mlp`` command line: thin commands that parse, call the library and render.

Every command module imports only typer and the standard library at the top;
the engine and numpy load inside the command that needs them, so
``mlp --help`` starts fast.
"""

from __future__ import annotations

import typer

from mlpcli import __version__
from mlpcli.cli import common
from mlpcli.cli.common import emit_json
from mlpcli.cli.eval import eval_
from mlpcli.cli.gradcheck import gradcheck
from mlpcli.cli.graph import graph
from mlpcli.cli.lr import lr
from mlpcli.cli.plot import plot
from mlpcli.cli.predict import predict
from mlpcli.cli.runs import runs
from mlpcli.cli.sweep import sweep
from mlpcli.cli.train import train

app = typer.Typer(
    name="mlp",
    help="Train and understand multi-layer perceptrons from YAML config files.\n\n"
    "Example:  mlp train configs/quickstart.yaml && mlp eval runs/quickstart-1",
    no_args_is_help=True,
    # typer's own --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    add_completion=True,
    # click's plain help: flags read as flags (typer's rich panels show every bool option
    # as "--quiet <bool>", which suggests "--quiet true")
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.command("train")(train)
app.command("eval")(eval_)
app.command("predict")(predict)
app.command("gradcheck")(gradcheck)
app.command("graph")(graph)
app.command("plot")(plot)
app.command("lr")(lr)
app.command("runs")(runs)
app.command("sweep")(sweep)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlp {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Train and understand multi-layer perceptrons from YAML config files."""


def run(as_json: bool = False) -> int:
    """Run the app on ``sys.argv``; returns the exit code.

    Usage errors (an unknown option, a missing argument, ``--samples 0``) are
    shown as typer shows them, and with ``--json`` also as one JSON document
    on stdout, like every other error. A signal no command took up (Ctrl-C
    during ``--help``) still ends in 130 or 143.
    """
    from mlpcli import signals

    common.json_requested = as_json
    try:
        code = app(standalone_mode=False)
    except Exception as e:  # typer's (or click's) usage errors carry these two
        if not (hasattr(e, "exit_code") and hasattr(e, "format_message")):
            raise
        e.show()
        if as_json:
            emit_json({"error": e.format_message(), "exit_code": e.exit_code})
        return e.exit_code
    if signals.pending and not common.document_out:  # after the document: the result stands
        return signals.report_unhandled(signals.pending[0], as_json)
    return code if isinstance(code, int) else 0
