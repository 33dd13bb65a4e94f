"""Metrics on arrays of outputs and labels: pure functions, no model and no files.

Classification: accuracy, per-class precision / recall / F1 and the
confusion matrix (rows: true class, columns: predicted). Regression: MSE and
MAE averaged over every target entry, and R² averaged over target columns
(scikit-learn's ``uniform_average``). The training loop uses them every
epoch; ``mlp eval`` for its report.
"""

from __future__ import annotations

import numpy as np

from mlpcli.engine import Node, no_grad
from mlpcli.nn.heads import Head

#: The headline metric of each task, as named in tables, metrics.csv and JSON.
METRIC = {"classification": "accuracy", "regression": "mse"}

#: Rows per loss evaluation in :func:`data_loss`: bounds its temporaries.
CHUNK = 8192


def data_loss(
    head: Head, outputs: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """The data term of E over all rows, no penalty: (1/N) Σ_n L(t_n, y_n), or with
    per-example weights the weighted mean Σ_n w_n L_n / Σ_n w_n."""
    total = 0.0
    with no_grad():
        for a in range(0, len(outputs), CHUNK):
            b = min(a + CHUNK, len(outputs))
            w = None if weights is None else Node(weights[a:b])
            total += float(head.loss(Node(outputs[a:b]), Node(targets[a:b]), w).value) * (b - a)
    return total / (len(outputs) if weights is None else float(np.sum(weights, dtype=np.float64)))


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predicted == labels))


def mse(outputs: np.ndarray, targets: np.ndarray) -> float:
    d = outputs.astype(np.float64) - targets
    return float(np.mean(d * d))


def metric(task: str, head: Head, outputs: np.ndarray, labels: np.ndarray) -> float:
    """The task's headline metric: accuracy of the predicted classes, or MSE."""
    if task == "classification":
        return accuracy(head.predict(outputs), labels)
    return mse(outputs, labels)


#: Up to this many classes the report carries the dense K×K confusion matrix; beyond,
#: only its non-zero entries (a dense 10 000-class matrix would be 800 MB).
DENSE_CONFUSION = 64


def confusion_pairs(predicted: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(M, 3) rows (true class, predicted class, count) of the non-zero confusion entries.

    O(N log N) time and O(M) memory, whatever the number of classes.
    """
    codes, counts = np.unique(labels.astype(np.int64) * n_classes + predicted, return_counts=True)
    return np.stack([codes // n_classes, codes % n_classes, counts], axis=1)


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) counts: entry [i, j] is the number of class-i examples predicted as j."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    pairs = confusion_pairs(predicted, labels, n_classes)
    cm[pairs[:, 0], pairs[:, 1]] = pairs[:, 2]
    return cm


def classification_report(predicted: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> dict:
    """Accuracy, per-class and macro-averaged precision/recall/F1, support, and the confusion
    matrix (dense up to :data:`DENSE_CONFUSION` classes, else ``confusion_pairs``).

    A class never predicted has precision 0 (scikit-learn's ``zero_division=0``).
    Time and memory grow with N and K, never with K².
    """
    k = len(classes)
    hits = labels == predicted
    tp = np.bincount(labels[hits], minlength=k).astype(np.float64)
    predicted_count = np.bincount(predicted, minlength=k)
    support = np.bincount(labels, minlength=k)
    precision = np.divide(tp, predicted_count, out=np.zeros_like(tp), where=predicted_count > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    report = {
        "accuracy": accuracy(predicted, labels),
        "macro": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
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
    }
    if k <= DENSE_CONFUSION:
        report["confusion_matrix"] = confusion_matrix(predicted, labels, k).tolist()
    else:
        report["confusion_pairs"] = confusion_pairs(predicted, labels, k).tolist()
    return report


def regression_report(outputs: np.ndarray, targets: np.ndarray) -> dict:
    """MSE, MAE and R² = 1 − SS_res / SS_tot (averaged over target columns)."""
    y, targets = outputs.astype(np.float64), targets.astype(np.float64)  # float32 sums overflow
    d = y - targets
    ss_res = (d * d).sum(axis=0)
    ss_tot = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return {"mse": float(np.mean(d * d)), "mae": float(np.mean(np.abs(d))), "r2": float(r2.mean())}
