"""From raw targets to what the heads encode: class labels and regression values.

Class labels are the sorted distinct labels of the training data; a label's
index in that list is what the heads see (``nn/heads.py`` turns indices into
t ∈ {0, 1}, ±1, one-hot rows or the index itself). Regression targets are
real numbers, one column per target.
"""

from __future__ import annotations

import re

import numpy as np

from mlpcli.data.dataset import Dataset
from mlpcli.errors import DataError

_INTEGER = re.compile(r"^[+-]?\d+$")


def _shown(value: object) -> str:
    """A label or value as a message shows it: 'cat' or 5, never np.str_('cat')."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def class_labels(data: Dataset) -> np.ndarray:
    """The raw labels of ``data`` as integers where they all are, else as strings.

    CSV files give strings: '3' and '03' are the same class 3; 'cat' stays 'cat'.
    """
    y = data.y
    if y.ndim != 1:
        raise DataError(f"{data.source}: classification needs one target column, got {y.shape[1]}")
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            row = int(np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))[0])
            raise DataError(
                f"{data.source}: class label {_shown(y[row])} at {data.where(row)} "
                "is not an integer"
            )
        return y.astype(np.int64)
    labels = y.astype(str)
    if all(_INTEGER.match(s) for s in np.unique(labels)):
        return labels.astype(np.int64)
    return labels


def encode_classes(
    data: Dataset, classes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(class indices (N,), classes) for the labels of ``data``.

    With ``classes=None`` the classes are learned: the sorted distinct labels,
    at least two. Otherwise every label must be one of ``classes`` (the
    model's): an unseen label is an error naming it and its row.
    """
    labels = class_labels(data)
    if classes is None:
        classes = np.unique(labels)
        if len(classes) < 2:
            raise DataError(
                f"{data.source}: a single class ({_shown(classes[0])}) in the target; "
                "classification needs at least two"
            )
        return np.searchsorted(classes, labels), classes
    if classes.dtype.kind != labels.dtype.kind:  # '1' vs 1: compare as text
        classes_cmp, labels = classes.astype(str), labels.astype(str)
    else:
        classes_cmp = classes
    order = np.argsort(classes_cmp)
    pos = np.searchsorted(classes_cmp, labels, sorter=order)
    pos = np.minimum(pos, len(classes) - 1)
    found = classes_cmp[order[pos]] == labels
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        known = ", ".join(str(c) for c in classes)
        raise DataError(
            f"{data.source}: label {_shown(labels[row])} at {data.where(row)} was never seen "
            f"in training (the model knows: {known})"
        )
    return order[pos], classes


def regression_targets(data: Dataset, dtype: np.dtype | type) -> np.ndarray:
    """Real targets of shape (N, K) in ``dtype``; non-numbers and NaN are errors with their row."""
    y = data.y if data.y.ndim == 2 else data.y[:, None]
    try:
        out = y.astype(dtype)
    except ValueError:
        for row, col in np.ndindex(y.shape):
            try:
                float(y[row, col])
            except ValueError:
                raise DataError(
                    f"{data.source}: target {_shown(y[row, col])} at {data.where(row)} "
                    f"(column '{data.target_names[col]}') is not a number"
                ) from None
        raise
    bad = ~np.isfinite(out)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{data.source}: target contains NaN or infinity at {data.where(row)} "
            f"(column '{data.target_names[col]}')"
        )
    return out
