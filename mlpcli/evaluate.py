"""Metrics, and forward passes over whole splits without recording a graph.

Classification: accuracy, per-class precision / recall / F1 and the
confusion matrix (rows: true class, columns: predicted). Regression: MSE and
MAE averaged over every target entry, and R² averaged over target columns
(scikit-learn's ``uniform_average``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mlpcli.checkpoint import SavedModel
from mlpcli.data.dataset import Dataset
from mlpcli.data.preprocess import encode_classes, regression_targets
from mlpcli.engine import Node, no_grad
from mlpcli.errors import DataError
from mlpcli.nn.losses import LOSSES, Loss
from mlpcli.nn.model import MLP

#: Rows per forward pass when evaluating: bounds the memory of activations.
CHUNK = 8192

#: The headline metric of each task, as named in tables, metrics.csv and JSON.
METRIC = {"classification": "accuracy", "regression": "mse"}


def chunks(n: int, size: int = CHUNK) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)


def forward(model: MLP, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Outputs (N, K) of the network on prepared inputs ``x`` (or its ``rows``), in chunks."""
    n = len(x) if rows is None else len(rows)
    out = np.empty((n, model.n_outputs), dtype=model.dtype)
    with no_grad():
        for a, b in chunks(n):
            xb = x[a:b] if rows is None else x[rows[a:b]]
            out[a:b] = model.forward(Node(xb)).value
    return out


def data_loss(loss: Loss, outputs: np.ndarray, targets: np.ndarray) -> float:
    """(1/N) Σ_n L(t_n, y_n): the data term of E, no penalty."""
    total = 0.0
    with no_grad():
        for a, b in chunks(len(outputs)):
            total += float(loss(Node(outputs[a:b]), targets[a:b]).value) * (b - a)
    return total / len(outputs)


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predicted == labels))


def mse(outputs: np.ndarray, targets: np.ndarray) -> float:
    d = outputs.astype(np.float64) - targets
    return float(np.mean(d * d))


def metric(task: str, loss: Loss, outputs: np.ndarray, labels: np.ndarray) -> float:
    """The task's headline metric: accuracy of the predicted classes, or MSE."""
    if task == "classification":
        return accuracy(loss.predict(outputs), labels)
    return mse(outputs, labels)


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) counts: entry [i, j] is the number of class-i examples predicted as j."""
    return np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def classification_report(predicted: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> dict:
    """Accuracy, per-class precision/recall/F1/support, and the confusion matrix.

    A class never predicted has precision 0 (scikit-learn's ``zero_division=0``).
    """
    cm = confusion_matrix(predicted, labels, len(classes))
    tp = np.diag(cm).astype(np.float64)
    predicted_count, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted_count, out=np.zeros_like(tp), where=predicted_count > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "accuracy": accuracy(predicted, labels),
        "per_class": [
            {
                "class": c.item(),
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for c, p, r, f, s in zip(classes, precision, recall, f1, support)
        ],
        "confusion_matrix": cm.tolist(),
    }


def regression_report(outputs: np.ndarray, targets: np.ndarray) -> dict:
    """MSE, MAE and R² = 1 − SS_res / SS_tot (averaged over target columns)."""
    y = outputs.astype(np.float64)
    d = y - targets
    ss_res = (d * d).sum(axis=0)
    ss_tot = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return {"mse": float(np.mean(d * d)), "mae": float(np.mean(np.abs(d))), "r2": float(r2.mean())}


def raw_outputs(model: MLP, x: np.ndarray) -> np.ndarray:
    """Outputs on raw inputs (standardization and φ applied chunk by chunk)."""
    out = np.empty((len(x), model.n_outputs), dtype=model.dtype)
    with no_grad():
        for a, b in chunks(len(x)):
            out[a:b] = model.forward(Node(model.prepare(x[a:b]))).value
    return out


def evaluate_dataset(saved: SavedModel, data: Dataset) -> dict:
    """``mlp eval``'s report: n, the data loss, and the task's metrics on ``data``."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model reports inf, quietly
        return _evaluate(saved, data)


def _evaluate(saved: SavedModel, data: Dataset) -> dict:
    config, model = saved.config, saved.model
    loss = LOSSES[config.loss]()
    outputs = raw_outputs(model, data.x)
    report: dict = {"data": data.source, "n": len(data)}
    if config.data.task == "classification":
        indices, classes = encode_classes(data, saved.classes)
        targets = loss.encode(indices, len(classes), model.dtype)
        report["loss"] = data_loss(loss, outputs, targets)
        report.update(classification_report(loss.predict(outputs), indices, classes))
    else:
        targets = regression_targets(data, model.dtype)
        if targets.shape[1] != model.n_outputs:
            raise DataError(
                f"{data.source}: {targets.shape[1]} target columns, but the model has "
                f"{model.n_outputs} outputs"
            )
        report["loss"] = data_loss(loss, outputs, targets)
        report.update(regression_report(outputs, targets))
    return report


def predictions(saved: SavedModel, data: Dataset) -> tuple[list[str], list[list]]:
    """(header, rows) of ``mlp predict``: the class and its probabilities, or the values."""
    config, model = saved.config, saved.model
    loss = LOSSES[config.loss]()
    outputs = raw_outputs(model, data.x)
    if config.data.task == "regression":
        return list(saved.target_names), outputs.tolist()
    classes = saved.classes
    labels = classes[loss.predict(outputs)].tolist()
    probs = loss.probabilities(outputs)
    if probs is None:
        return ["prediction"], [[label] for label in labels]
    header = ["prediction", *(f"p_{c}" for c in classes.tolist())]
    return header, [[label, *row] for label, row in zip(labels, probs.tolist())]
