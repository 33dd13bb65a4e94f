"""The ``mlp`` command line: thin commands that parse, call the library and render.

Every command module imports only typer and the standard library at the top;
the engine and numpy load inside the command that needs them, so
``mlp --help`` starts fast.
"""

from __future__ import annotations

import typer

from mlpcli import __version__
from mlpcli.cli.eval import eval_
from mlpcli.cli.gradcheck import gradcheck
from mlpcli.cli.lr import lr
from mlpcli.cli.predict import predict
from mlpcli.cli.train import train

app = typer.Typer(
    name="mlp",
    help="Train and understand multi-layer perceptrons from YAML config files.\n\n"
    "Example:  mlp train configs/quickstart.yaml && mlp eval runs/quickstart-1",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("train")(train)
app.command("eval")(eval_)
app.command("predict")(predict)
app.command("gradcheck")(gradcheck)
app.command("lr")(lr)


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


def main() -> None:
    app()
