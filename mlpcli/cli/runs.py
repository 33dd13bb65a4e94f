"""``mlp runs``: a table of every run under some directories."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlpcli.cli.common import DebugOption, JsonOption, QuietOption, console, emit_json
from mlpcli.cli.common import reported_errors as _errors
from mlpcli.errors import UsageError

if TYPE_CHECKING:
    from rich.table import Table

SortOption = Annotated[
    str | None,
    typer.Option(
        "--sort",
        metavar="COLUMN",
        help="Rank by this column, best first: val_accuracy, test_loss, time, a config field "
        "such as train.lr.initial or the heading shown for it, lr.initial... (default: "
        "validation accuracy or MSE, else the loss).",
    ),
]


def runs(
    dirs: Annotated[
        list[Path], typer.Argument(help="Directories holding run directories (searched below).")
    ],
    sort: SortOption = None,
    json_: JsonOption = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Print the table as CSV on stdout.")] = False,
    curve: Annotated[
        bool | None,
        typer.Option(
            "--curve/--no-curve",
            help="With one run: its loss curve under the table (default: on a terminal).",
        ),
    ] = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare runs: the config fields that differ, status, final/best/test metrics, time.

    Status is finished, early-stopped, diverged, interrupted, running (a process
    holds its lock) or failed.

    Example:  mlp runs runs/digits-mlp --sort test_accuracy   (one run: mlp runs runs/quickstart-1)
    """
    with _errors(debug, json_):
        from mlpcli import runtable

        if csv_ and json_:
            raise UsageError("--csv and --json both write stdout: give one of them")
        for d in dirs:
            if not d.is_dir():
                raise UsageError(f"{d}: {'not a' if d.exists() else 'no such'} directory")
        infos = runtable.read_runs(dirs)
        base = dirs[0] if len(dirs) == 1 else None
        columns, rows = runtable.table(infos, base)
        for r, info in zip(rows, infos):  # for scripts: the directory, usable from here
            r["path"] = str(info.path)
        rows = ranked(rows, columns, sort)
        if json_:
            emit_json(rows)
        elif csv_:
            typer.echo(runtable.to_csv([*columns, "path"], rows), nl=False)
        out = console(quiet or json_ or csv_)
        if out.quiet:
            return
        if not rows:
            out.print(f"no run directories under {', '.join(map(str, dirs))}")
            return
        print_wide(out, runs_table(columns, rows, f"{len(rows)} run{'s' * (len(rows) != 1)}"))
        if len(infos) == 1:
            from mlpcli.cli.render import show_curve

            show_curve(out, infos[0].path, curve)


def ranked(rows: list[dict], columns: list[str], sort: str | None) -> list[dict]:
    """The rows best first by ``sort`` (a column or its heading), or by the default column."""
    from mlpcli import runtable

    key = sort_column(sort, columns) or runtable.default_sort(columns)
    return runtable.sort_rows(rows, key) if key else rows


def sort_column(sort: str | None, columns: list[str]) -> str | None:
    """The column ``--sort`` names: a column, the heading the table shows for it
    (:func:`headings`: ``lr`` for ``train.lr``), or the one column whose dotted name ends
    with it; refuses anything else, and a suffix several columns end with (naming them)."""
    if sort is None or sort in columns:
        return sort
    by_heading = {h: c for c, h in headings(columns).items()}
    if sort in by_heading:
        return by_heading[sort]
    matches = [c for c in columns if c.endswith("." + sort)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"--sort {sort}: ambiguous, one of {', '.join(matches)}")
    shown = ", ".join(c for c in columns if c != "run")
    raise UsageError(f"--sort {sort}: not a column of this table ({shown})")


def headings(columns: list[str]) -> dict[str, str]:
    """Column -> the heading the table shows: config fields (between ``run`` and
    ``status``) by their short names, the others as they are."""
    from mlpcli.overrides import short_keys

    fields = columns[columns.index("run") + 1 : columns.index("status")]
    return {**{c: c for c in columns}, **short_keys(fields, set(columns) - set(fields))}


#: Columns of the JSON and CSV that the table for people leaves out.
NOT_SHOWN = {"best_value", "test_loss"}

STATUS_STYLE = {
    "finished": "green",
    "early-stopped": "green",
    "diverged": "bold red",
    "failed": "bold red",
    "damaged": "bold red",
    "interrupted": "yellow",
    "running": "cyan",
    "waiting": "cyan",
    "queued": "dim",
}


def runs_table(columns: list[str], rows: list[dict], title: str) -> Table:
    """Rows of ``runtable.table`` (or a sweep's) as a rich table; config fields by short names."""
    from rich.table import Table
    from rich.text import Text

    names = headings(columns)
    shown = [c for c in columns if c not in NOT_SHOWN]
    table = Table(title=title, title_justify="left")
    for c in shown:
        left = c in ("run", "status", "warnings", "error")
        width = 60 if c == "error" else None  # a long message folds instead of widening all
        table.add_column(names[c], justify="left" if left else "right", overflow="fold",
                         max_width=width)  # fmt: skip
    for r in rows:
        style = STATUS_STYLE.get(r.get("status"), "")
        table.add_row(
            *(Text(show(c, r.get(c)), style=style if c == "status" else "") for c in shown)
        )
    return table


def print_wide(out, renderable) -> None:
    """Print a wide table whole when stderr is a file or a pipe (rich would squeeze it
    to 80 columns); a terminal keeps its own width."""
    from rich.measure import Measurement

    if out.is_terminal:
        out.print(renderable)
        return
    unbounded = out.options.update_width(10_000)
    width = max(out.width, Measurement.get(out, unbounded, renderable).maximum)
    before, out.width = out.width, width  # print(width=) can only narrow
    try:
        out.print(renderable)
    finally:
        out.width = before


def show(column: str, value: Any) -> str:
    """A cell for people: accuracies in %, numbers to 4 digits, lists compact."""
    from mlpcli.cli.render import duration, num, pct

    if value is None:
        return "-"
    if column.endswith("accuracy"):
        return pct(value)
    if column == "time":
        return duration(value)
    if isinstance(value, list):
        return ",".join(show("", v) for v in value) or "[]"
    if isinstance(value, dict):
        return " ".join(f"{k}={show('', v)}" for k, v in value.items())
    if isinstance(value, float):
        return num(value)
    return str(value)
