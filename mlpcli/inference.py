"""Using a trained model on data: the service behind ``mlp eval`` and ``mlp predict``.

Every path goes through one forward on *raw* inputs,
``saved.model.outputs(x, raw=True)``, which applies the saved input
transform (standardization, φ) chunk by chunk, exactly as training did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlpcli.data.dataset import Dataset
from mlpcli.data.loaders import csv_columns
from mlpcli.data.sources import detect_format, read_file
from mlpcli.data.targets import encode_classes, regression_targets
from mlpcli.errors import DataError
from mlpcli.files.model import SavedModel
from mlpcli.metrics import classification_report, data_loss, regression_report
from mlpcli.nn.heads import HEADS
from mlpcli.prepare import held_out_data


def outputs(saved: SavedModel, data: Dataset) -> np.ndarray:
    """The network's outputs (N, K) on the raw inputs of ``data``."""
    return saved.model.outputs(data.x, raw=True)


def report(saved: SavedModel, data: Dataset) -> dict:
    """``mlp eval``'s report: n, the data loss, and the task's metrics on ``data``."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model reports inf, quietly
        config, model = saved.config, saved.model
        head = HEADS[config.loss]()
        y = outputs(saved, data)
        out: dict = {"data": data.source, "n": len(data)}
        if config.data.task == "classification":
            indices, classes = encode_classes(data, saved.classes)
            out["loss"] = data_loss(head, y, head.encode(indices, len(classes), model.dtype))
            out.update(classification_report(head.predict(y), indices, classes))
            return out
        targets = regression_targets(data, model.dtype)
        if targets.shape[1] != model.n_outputs:
            raise DataError(
                f"{data.source}: {targets.shape[1]} target columns, but the model has "
                f"{model.n_outputs} outputs"
            )
        out["loss"] = data_loss(head, y, targets)
        out.update(regression_report(y, targets))
        return out


def predictions(saved: SavedModel, data: Dataset) -> tuple[list[str], list[list]]:
    """(header, rows) of ``mlp predict``: the class and its probabilities, or the values."""
    head = HEADS[saved.config.loss]()
    y = outputs(saved, data)
    if saved.config.data.task == "regression":
        return list(saved.target_names), y.tolist()
    classes = saved.classes
    labels = classes[head.predict(y)].tolist()
    probs = head.probabilities(y)
    if probs is None:
        return ["prediction"], [[label] for label in labels]
    header = ["prediction", *(f"p_{c}" for c in classes.tolist())]
    return header, [[label, *row] for label, row in zip(labels, probs.tolist())]


def dataset_for(
    saved: SavedModel, path: Path | None, *, targets: bool, labels: Path | None = None
) -> Dataset:
    """The data a command uses a model on: ``path`` (``--data``), or by default the
    run's own held-out data (its test set, else its validation set).

    CSV columns are matched by the training column names; a CSV whose
    other columns are exactly as many as the model's inputs is read by
    position. ``targets=False`` (prediction) accepts files without a target.
    IDX images need their ``labels`` file to be evaluated.
    """
    if path is None:
        return held_out_data(saved.config)
    path = Path(path)
    target = features = None
    if labels is None and detect_format(path) == "csv":
        columns = csv_columns(path)
        present = [t for t in saved.target_names if t in columns]
        if targets and not present:
            raise DataError(
                f"{path}: target column '{saved.target_names[0]}' not found "
                f"(columns: {', '.join(columns)})"
            )
        target = present or None
        features = saved.feature_names if all(f in columns for f in saved.feature_names) else None
    data, _ = read_file(path, dtype=saved.model.dtype, target=target, features=features,
                        targets=targets, labels=labels)  # fmt: skip
    data.check_width(len(saved.feature_names))
    return data
