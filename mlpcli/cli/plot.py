"""``mlp plot``: pictures of runs as image files (matplotlib, imported by this command only)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    LabelsOption,
    QuietOption,
    console,
    emit_json,
    reported_errors,
)
from mlpcli.errors import ConfigError

#: --out suffixes matplotlib writes.
SUFFIXES = (".png", ".svg", ".pdf")


class XAxis(str, Enum):
    epoch = "epoch"
    step = "step"


def plot(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories; several overlay (curves, weights) or sit side "
            "by side (boundary, confusion)."
        ),
    ],
    boundary: Annotated[
        bool,
        typer.Option(
            "--boundary",
            help="Decision regions of a 2-input classifier with its training (filled) and "
            "validation (hollow) points, or the fitted curve of a 1-input regression.",
        ),
    ] = False,
    weights: Annotated[
        bool,
        typer.Option(
            "--weights",
            help="Histograms of each layer's weights; for image inputs also the first "
            "layer's weights as images.",
        ),
    ] = False,
    confusion: Annotated[
        bool,
        typer.Option(
            "--confusion",
            help="The confusion matrix as a heat map with counts, on the run's test split "
            "(else its validation split) or --data.",
        ),
    ] = False,
    x: Annotated[
        XAxis, typer.Option("--x", help="Learning curves over epochs or SGD steps.")
    ] = XAxis.epoch,
    data: Annotated[
        Path | None, typer.Option("--data", help="Data for --confusion (CSV, NPZ or IDX).")
    ] = None,
    labels: LabelsOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Image file: .png, .svg or .pdf (default: <run>-<picture>.png here).",
        ),
    ] = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Draw runs as pictures: learning curves, or --boundary, --weights, --confusion.

    The learning curves show the training and validation loss on a log axis,
    the task metric, the learning rate and the batch size. Runs drawn together
    are labelled by the config fields that differ between them (η=0.1, η=1, ...).

    Examples:  mlp plot runs/quickstart-1  ·
    mlp sweep configs/learning-rate-quadratic.yaml --grid train.lr=0.1,1,3 --out runs/regimes
    then mlp plot runs/regimes/*/ --out regimes.png  ·
    mlp plot runs/perceptron-xor-1 runs/mlp-xor-1 --boundary  ·
    mlp plot runs/digits-mlp-1 --weights
    """
    with reported_errors(debug, json_):
        chosen = [k for k, on in (("boundary", boundary), ("weights", weights),
                                  ("confusion", confusion)) if on]  # fmt: skip
        if len(chosen) > 1:
            raise ConfigError("give one of --boundary, --weights and --confusion")
        kind = chosen[0] if chosen else "curves"
        if (data is not None or labels is not None) and kind != "confusion":
            raise ConfigError("--data and --labels are for --confusion")
        out = out or default_out(runs, kind)
        if out.suffix.lower() not in SUFFIXES:
            raise ConfigError(f"--out {out}: use a .png, .svg or .pdf file")
        from mlpcli.files.atomic import check_output

        inputs = [p for p in (data, labels) if p is not None]
        check_output(out, inputs=inputs)  # before any drawing: never over an input or a run file
        size = _draw(kind, runs, out, x.value, data, labels, inputs)
        console(quiet).print(f"wrote {out} ({size[0]}×{size[1]} pixels)")
        if json_:
            emit_json({"picture": kind, "out": str(out), "width": size[0], "height": size[1],
                       "runs": [str(r) for r in runs]})  # fmt: skip


def default_out(runs: list[Path], kind: str) -> Path:
    """``<run>-<kind>.png`` in the current directory (runs joined by ``+``, or counted)."""
    from mlpcli.compare import run_name

    names = [run_name(r) for r in runs]
    joined = "+".join(names)
    if len(joined) > 80:
        joined = f"{names[0]}+{len(names) - 1}-more"
    return Path(f"{joined}-{kind}.png")


def _draw(kind, runs, out, x, data, labels, inputs) -> tuple[int, int]:
    """Draw the picture, save it to ``out``; its size in pixels."""
    from mlpcli.plots import pictures, style

    options = {"curves": {"x": x}, "confusion": {"data": data, "labels": labels}}
    with style.context():
        fig = pictures.PICTURES[kind](runs, **options.get(kind, {}))
        return style.save(fig, out, inputs)
