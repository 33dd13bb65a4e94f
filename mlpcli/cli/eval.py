"""``mlp eval``: a trained run's loss and metrics on data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    LabelsOption,
    QuietOption,
    RunArgument,
    console,
    emit_json,
    reported_errors,
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
        from mlpcli.cli.render import eval_tables
        from mlpcli.files.model import load_model
        from mlpcli.inference import dataset_for, report

        saved = load_model(run)
        result = report(saved, dataset_for(saved, data, targets=True, labels=labels, run=run))
        eval_tables(console(quiet), result)
        if json_:
            emit_json(result)
