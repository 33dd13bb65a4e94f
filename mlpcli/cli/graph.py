"""``mlp graph``: the computational graph of E, node by node, with values and gradients."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    QuietOption,
    SetOption,
    console,
    emit_json,
    reported_errors,
)
from mlpcli.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

    from mlpcli.graphview import GraphView

#: --out suffixes: written as DOT text, or rendered by Graphviz in that format.
DOT_SUFFIXES = {".dot", ".gv"}
RENDERED_SUFFIXES = {".png", ".svg", ".pdf"}


def graph(
    config: Annotated[
        Path | None, typer.Argument(help="YAML config file (or give --expr instead).")
    ] = None,
    set_: SetOption = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Examples in the batch the graph is built on.")
    ] = 1,
    values: Annotated[
        bool,
        typer.Option(
            "--values",
            help="Run one forward and one backward pass on the batch and show each node's "
            "value and ∂E/∂node, in the order backpropagation visits them.",
        ),
    ] = False,
    dot: Annotated[
        bool, typer.Option("--dot", help="Write Graphviz DOT on stdout (or into --out).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the graph to a file: .dot or .gv as DOT text; .png, .svg or .pdf "
            "drawn by Graphviz's dot (Debian package graphviz).",
        ),
    ] = None,
    expr: Annotated[
        str | None,
        typer.Option(
            "--expr",
            help='An arithmetic expression instead of a config, e.g. "x*y + z": numbers, '
            "names, + - * / and parentheses.",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="NAME=VALUE,...", help="The values of --expr's variables."),
    ] = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Show the computational graph of E for a configured network, node by node.

    Every node: the inputs x, targets t (and class weights c with
    data.class_weight), the parameters, each layer's
    pre-activations a = W h + b and activations h(a), the data loss, the
    penalty and E, with what computes it, its shape for a batch of --batch
    examples and the parameters it owns. --values adds each node's value and
    ∂E/∂node from one forward and one backward pass on real data; --expr does
    the same for an expression (the lecture's b = x·y + z).

    Examples:  mlp graph configs/mlp-xor.yaml --values  ·
    mlp graph configs/quickstart.yaml --batch 32 --out graph.png  ·
    mlp graph --expr "x*y + z" --at x=3,y=-5,z=2
    """
    with reported_errors(debug, json_):
        if dot and json_ and out is None:
            raise ConfigError("--dot and --json both write stdout: give --out FILE for the DOT")
        inputs = [config] if config is not None else []
        if out is not None:  # before any work: a format we write, never over an input
            from mlpcli.files.atomic import check_output

            _out_format(out)
            check_output(out, inputs=inputs)
        view, source, shown_values = _view(config, set_ or [], batch, values, expr, at)
        title = _title(view, source, batch, shown_values, expr is not None)
        console(quiet).print(_table(view, shown_values, title))
        if dot or out is not None:
            _write_dot(view, shown_values, out, inputs)
        if json_:
            emit_json(
                {
                    "source": source,
                    "batch": None if expr is not None else batch,
                    "root": view.root.name,
                    "n_nodes": len(view.nodes),
                    "n_params": view.n_params,
                    "nodes": [v.as_dict(shown_values) for v in view.nodes],
                    "backward_order": [v.name for v in view.backward_order()]
                    if shown_values
                    else None,
                }
            )


def _view(config, overrides, batch, values, expr, at) -> tuple[GraphView, str, bool]:
    """(the graph, what it was built from, whether it holds values and gradients)."""
    from mlpcli import graphview

    if expr is not None:
        if config is not None or overrides:
            raise ConfigError("--expr builds its own graph: drop CONFIG and --set")
        return graphview.expression_graph(expr, graphview.parse_assignments(at or "")), expr, True
    if config is None:
        raise ConfigError('missing CONFIG: mlp graph CONFIG (or --expr "x*y + z" --at ...)')
    if at is not None:
        raise ConfigError("--at gives the values of --expr's variables: add --expr")
    from mlpcli.config import load_config
    from mlpcli.prepare import prepare

    exp = prepare(load_config(config, overrides))
    return graphview.error_graph(exp, batch, backward=values), str(config), values


def _title(view: GraphView, source: str, batch: int, values: bool, expression: bool) -> str:
    what = f"Graph of {view.root.name} = {source}" if expression else f"Graph of E: {source}"
    if not expression:
        what += f" (batch of {batch}, {len(view.nodes)} nodes, {view.n_params:,} parameters)"
    if values:
        what += ": one forward and one backward pass, nodes in the order backpropagation visits"
    return what


def _table(view: GraphView, values: bool, title: str) -> Table:
    from rich.table import Table
    from rich.text import Text

    from mlpcli.graphview import describe_array, shape_text

    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("node", style="bold", no_wrap=True)
    table.add_column("computes")
    table.add_column("shape", justify="right")
    if values:
        table.add_column("value", justify="right")
        table.add_column(f"∂{view.root.name}/∂node", justify="right")
        nodes = view.backward_order()
    else:
        table.add_column("parameters owned")
        table.add_column("count", justify="right")
        nodes = view.nodes
    for i, v in enumerate(nodes, 1):
        shape = shape_text(v.shape)
        computes = Text(v.formula if v.kind == "op" else v.kind)
        if v.note and not values:
            computes.append(f"  ({v.note})", style="dim")
        if values:
            extra = [describe_array(v.node.value), describe_array(v.node.grad)]
        else:
            extra = [", ".join(v.params), f"{v.n_params:,}" if v.params else ""]
        table.add_row(str(i), Text(v.name), computes, shape, *map(Text, extra))
    if not values:
        table.add_row("", "total", "", "", "", f"{view.n_params:,}", style="bold")
    return table


def _out_format(out: Path) -> str:
    """``dot`` for DOT text, else the picture format Graphviz renders, from the suffix."""
    suffix = out.suffix.lower()
    if suffix in DOT_SUFFIXES:
        return "dot"
    if suffix in RENDERED_SUFFIXES:
        return suffix[1:]
    raise ConfigError(
        f"--out {out}: unknown picture format; use .dot or .gv (DOT text), .png, .svg or .pdf"
    )


def _write_dot(view: GraphView, values: bool, out: Path | None, inputs: list[Path]) -> None:
    import sys

    from mlpcli.files.atomic import write_output
    from mlpcli.graphview import render_dot, to_dot

    text = to_dot(view, values)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    kind = _out_format(out)
    data = text.encode() if kind == "dot" else render_dot(text, kind)
    write_output(out, data, inputs=inputs)
