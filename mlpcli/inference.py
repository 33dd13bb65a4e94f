"""Using a trained model on data: the service behind ``mlp eval`` and ``mlp predict``.

Every path goes through one forward on *raw* inputs,
``saved.model.outputs(x, raw=True)``, which applies the saved input
transform (standardization, φ) chunk by chunk, exactly as training did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlpcli.config import Config, load_config
from mlpcli.data.dataset import Dataset
from mlpcli.data.loaders import csv_columns, read_columns, shown
from mlpcli.data.sources import detect_format, read_file
from mlpcli.data.targets import encode_classes, regression_targets
from mlpcli.errors import DataError, UsageError
from mlpcli.files.model import SavedModel
from mlpcli.metrics import classification_report, data_loss, regression_report
from mlpcli.nn.encoding import UnknownCategory
from mlpcli.nn.heads import HEADS
from mlpcli.prepare import held_out_data, named_columns

#: Output entries (rows × classes) per forward pass: memory stays bounded however many
#: rows and classes there are.
CHUNK_ENTRIES = 2**21


def outputs(saved: SavedModel, x: np.ndarray) -> np.ndarray:
    """The network's outputs (N, K) on raw inputs ``x``."""
    return saved.model.outputs(x, raw=True)


def report(saved: SavedModel, data: Dataset) -> dict:
    """``mlp eval``'s report: n, the data loss, and the task's metrics on ``data``.

    Outputs are computed a chunk of rows at a time and reduced at once (loss
    sum, predicted classes), so memory does not grow with N × K. A diverged
    model's infinite outputs are reported as they are (inf, or null in JSON).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _report(saved, data)


def _report(saved: SavedModel, data: Dataset) -> dict:
    config, model = saved.config, saved.model
    head = HEADS[config.loss]()
    out: dict = {"data": data.source, "n": len(data)}
    weights = None
    if config.data.task == "classification":
        indices, classes = encode_classes(data, saved.classes)
        targets = head.encode(indices, len(classes), model.dtype)
        if saved.class_weight is not None:  # the loss as training weighed it
            weights = saved.class_weight[indices].astype(model.dtype)
    else:
        targets = regression_targets(data, model.dtype)
        if targets.shape[1] != model.n_outputs:
            raise DataError(
                f"{data.source}: {targets.shape[1]} target columns, but the model has "
                f"{model.n_outputs} outputs"
            )
    loss_sum, kept = 0.0, []
    rows = max(1, CHUNK_ENTRIES // model.n_outputs)
    for a in range(0, len(data), rows):
        y = outputs(saved, data.x[a : a + rows])
        w = None if weights is None else weights[a : a + rows]
        loss_sum += data_loss(head, y, targets[a : a + rows], w) * (
            len(y) if w is None else float(w.sum(dtype=np.float64))
        )
        kept.append(head.predict(y) if config.data.task == "classification" else y)
    out["loss"] = loss_sum / (
        len(data) if weights is None else float(weights.sum(dtype=np.float64))
    )
    if config.data.task == "classification":
        out.update(classification_report(np.concatenate(kept), indices, classes))
    else:
        out.update(regression_report(np.concatenate(kept), targets))
    return out


def predictions(saved: SavedModel, data: Dataset) -> tuple[list[str], list[list]]:
    """(header, rows) of ``mlp predict``: the class and its probabilities, or the values.

    The predicted class or value is the column ``prediction`` (``prediction_<target>``
    for each of several regression targets), never the target's own name, so that
    ``--keep`` can put the true target beside it.
    """
    head = HEADS[saved.config.loss]()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model: inf and NaN, as they are
        y = outputs(saved, data.x)
    if saved.config.data.task == "regression":
        names = saved.target_names
        header = ["prediction"] if len(names) == 1 else [f"prediction_{n}" for n in names]
        return header, y.tolist()
    classes = saved.classes
    labels = classes[head.predict(y)].tolist()
    with np.errstate(over="ignore", invalid="ignore"):
        probs = head.probabilities(y)
    if probs is not None:
        header = ["prediction", *(f"p_{c}" for c in classes.tolist())]
        return header, [[label, *row] for label, row in zip(labels, probs.tolist())]
    scores = head.scores(y)
    if scores is None:
        return ["prediction"], [[label] for label in labels]
    names = ["score"] if scores.shape[1] == 1 else [f"score_{c}" for c in classes.tolist()]
    return ["prediction", *names], [[label, *row] for label, row in zip(labels, scores.tolist())]


def kept_columns(
    path: Path, names: list[str], header: list[str], rows: list[list]
) -> tuple[list[str], list[list]]:
    """``mlp predict --keep``: the named columns of the input file, as written there (less
    surrounding spaces), put before the predictions (identifiers, to join them back)."""
    if detect_format(path) != "csv":
        raise UsageError(f"--keep names CSV columns, but {path} is not a CSV file")
    taken = [n for n in names if n in header]
    if taken:
        raise UsageError(f"--keep {taken[0]}: the predictions have a column of that name")
    cells = read_columns(path, names)
    return [*names, *header], [[*k, *row] for k, row in zip(cells.tolist(), rows)]


def run_config(run: Path | None) -> Config:
    """The config of the run directory ``run``, as its ``config.yaml`` says: the only
    source of which data files a trained model's commands open by default.

    A model file's own metadata never decides that: a crafted one could name any
    file on the machine. A bare model file therefore needs ``--data``.
    """
    config_file = None if run is None else Path(run) / "config.yaml"
    if config_file is None or not config_file.is_file():
        raise UsageError(f"{run}: a model file alone names no data to use; pass --data PATH")
    return load_config(config_file)


def dataset_for(
    saved: SavedModel,
    path: Path | None,
    *,
    targets: bool,
    labels: Path | None = None,
    run: Path | None = None,
) -> Dataset:
    """The data a command uses a model on: ``path`` (``--data``), or by default the
    held-out data of the run directory ``run`` (its test set, else its validation set),
    as its ``config.yaml`` names them. A model file's own metadata never decides which
    files are opened: a crafted one could name any file on the machine.

    CSV columns are matched by the training column names, in any order; one that is
    missing is named. Only a model trained without column names (a generator, an
    .npz, IDX images: x1, x2, …) reads a CSV that has none of them by position.
    ``targets=False`` (prediction) accepts files without a target. IDX images need
    their ``labels`` file to be evaluated.
    """
    encoder, like = saved.model.inputs.encoder, saved.columns
    if path is None:
        return checked(saved, held_out_data(run_config(run), like, run))
    path = Path(path)
    target = features = None
    if labels is None and detect_format(path) == "csv":
        columns = csv_columns(path)
        present = [t for t in saved.target_names if t in columns]
        if targets and not present:
            raise DataError(
                f"{path}: target column '{saved.target_names[0]}' not found "
                f"(columns: {shown(columns)})"
            )
        target = present or None
        by_name = named_columns(saved.config) or any(f in columns for f in saved.feature_names)
        features = saved.feature_names if by_name else None
    data, _ = read_file(path, dtype=saved.model.dtype, target=target, features=features,
                        targets=targets, labels=labels, text=like.text, detect_text=False,
                        missing=encoder is not None and encoder.strategy is not None)  # fmt: skip
    data.check_width(len(saved.feature_names))
    return checked(saved, data)


def checked(saved: SavedModel, data: Dataset) -> Dataset:
    """``data``, after refusing a category the model never saw (unless it encodes those as
    zeros), named with its line, before any output is computed."""
    encoder = saved.model.inputs.encoder
    if encoder is not None:
        try:
            encoder.check(data.x)
        except UnknownCategory as e:
            raise DataError(f"{data.source}, {data.where(e.row)}, {e}") from None
    return data
