"""``mlp eval`` and ``mlp predict``: use a trained run on data."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import typer

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    QuietOption,
    console,
    emit_json,
    reported_errors,
)

RunArgument = Annotated[Path, typer.Argument(help="A run directory or a model.safetensors file.")]
LabelsOption = Annotated[
    Path | None, typer.Option("--labels", help="IDX label file, when --data is IDX images.")
]


def _dataset(saved, data: Path | None, labels: Path | None, targets: bool):
    from mlpcli.experiment import evaluation_data, read_data_file

    if data is None:
        return evaluation_data(saved.config)
    return read_data_file(
        data,
        saved.feature_names,
        saved.target_names,
        saved.model.dtype,
        targets=targets,
        labels=labels,
    )


def eval_(
    run: RunArgument,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Data to evaluate on (default: the run's test set, else its validation set).",
        ),
    ] = None,
    labels: LabelsOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Evaluate a trained run: loss, accuracy or MSE, and a full report.

    Classification: accuracy, per-class precision/recall/F1 and the confusion
    matrix. Regression: MSE, MAE and R².

    Example:  mlp eval runs/quickstart-1 --data datasets/moons.csv --json
    """
    with reported_errors(debug, json_):
        from mlpcli.checkpoint import load_model
        from mlpcli.cli.render import eval_tables
        from mlpcli.evaluate import evaluate_dataset

        saved = load_model(run)
        report = evaluate_dataset(saved, _dataset(saved, data, labels, targets=True))
        eval_tables(console(quiet), report)
        if json_:
            emit_json(report)


def predict(
    run: RunArgument,
    data: Annotated[Path, typer.Option("--data", help="Inputs to predict (CSV, NPZ or IDX).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here instead of stdout.")
    ] = None,
    labels: LabelsOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Predict with a trained run: one CSV row per input row.

    Columns: the predicted class and, where the loss defines them, the class
    probabilities (p_<class>); for regression, the predicted values.

    Example:  mlp predict runs/quickstart-1 --data datasets/moons.csv --out predictions.csv
    """
    with reported_errors(debug):
        from mlpcli.checkpoint import atomic_write, load_model
        from mlpcli.evaluate import predictions

        saved = load_model(run)
        header, rows = predictions(saved, _dataset(saved, data, labels, targets=False))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[repr(v) if isinstance(v, float) else v for v in row] for row in rows])
        if out is None:
            typer.echo(buffer.getvalue(), nl=False)
        else:
            atomic_write(out, buffer.getvalue().encode())
            console(quiet).print(f"wrote {len(rows)} predictions to {out}")
