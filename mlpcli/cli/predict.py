"""``mlp predict``: a trained run's predictions, one CSV row per input row."""

from __future__ import annotations

import csv
import io
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


def predict(
    run: RunArgument,
    data: Annotated[Path, typer.Option("--data", help="Inputs to predict (CSV, NPZ or IDX).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here instead of stdout.")
    ] = None,
    labels: LabelsOption = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="COLUMNS",
            help="Copy these input columns (comma-separated, e.g. id,name; or --keep "
            "repeated) into the output, first.",
        ),
    ] = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Predict with a trained run: one CSV row per input row.

    Columns: the predicted class and the class probabilities (p_<class>), or
    for hinge loss the decision scores (score, or score_<class>); for
    regression, the predicted values. --keep puts input columns first. With
    --json, stdout holds one JSON document instead: {"columns", "rows"}, or
    with --out {"out", "n"}.

    Example:  mlp predict runs/quickstart-1 --data datasets/moons.csv --out predictions.csv
    """
    with reported_errors(debug, json_):
        from mlpcli.errors import UsageError
        from mlpcli.files.atomic import check_output, write_output
        from mlpcli.files.model import load_model
        from mlpcli.inference import dataset_for, kept_columns, predictions

        inputs = [p for p in (run, run / "model.safetensors", data, labels) if p is not None]
        if out is not None:
            check_output(out, inputs=inputs)  # before any work: never overwrite an input
        saved = load_model(run)
        names = [n.strip() for given in keep or [] for n in given.split(",")]
        if not all(names):
            raise UsageError(
                f"--keep {','.join(keep)!r}: expected column names separated by commas"
            )
        if len(set(names)) < len(names):
            raise UsageError(f"--keep {','.join(keep)!r}: a column named twice")
        header, rows = predictions(saved, dataset_for(saved, data, targets=False, labels=labels))
        if names:
            header, rows = kept_columns(data, names, header, rows)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[repr(v) if isinstance(v, float) else v for v in row] for row in rows])
        if out is not None:
            write_output(out, buffer.getvalue().encode(), inputs=inputs)
            console(quiet).print(f"wrote {len(rows)} predictions to {out}")
        if json_:
            where = {"columns": header, "rows": rows} if out is None else {"out": str(out)}
            emit_json({**where, "n": len(rows)} if out is not None else where)
        elif out is None:
            typer.echo(buffer.getvalue(), nl=False)
