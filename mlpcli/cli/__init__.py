"""The ``mlp`` command line: thin commands that parse, call the library and render."""

from __future__ import annotations

import typer

from mlpcli import __version__

app = typer.Typer(
    name="mlp",
    help="Train and understand multi-layer perceptrons from YAML config files.\n\n"
    "Example:  mlp --version",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
