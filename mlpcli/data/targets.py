"""From raw targets to what the heads encode: class labels and regression values.

Class labels are the sorted distinct labels of the training data; a label's
index in that list is what the heads see (``nn/heads.py`` turns indices into
t ∈ {0, 1}, ±1, one-hot rows or the index itself). Regression targets are
real numbers, one column per target.
"""

from __future__ import annotations

import numpy as np

from mlpcli.data.dataset import Dataset
from mlpcli.errors import DataError


def _shown(value: object) -> str:
    """A label or value as a message shows it: 'cat' or 5, never np.str_('cat')."""
    return repr(value.item() if isinstance(value, np.generic) else value)


#: Integer labels beyond this are not exact in float64.
_EXACT = 2**53


def class_labels(data: Dataset, as_text: bool = False) -> np.ndarray:
    """The raw labels of ``data``, one value per class: integers where they are numbers,
    else stripped strings.

    A label is a class by its value, not by its spelling: ``1``, ``01`` and
    ``1.0`` are the same class 1; ``cat`` stays ``cat``. Numbers that are not
    whole (``0.5``), not finite, or empty cells are refused with their row,
    unless ``as_text`` (a model whose classes are text, such as ``low``, ``2.5``
    and ``high``): then every label is text, numbers spelled one way.
    """
    y = data.y
    if y.ndim == 2 and y.shape[1] == 1:  # a column vector of labels
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{data.source}: classification needs one target column, got {y.shape[1]}")
    if y.dtype.kind == "u" and len(y) and y.max() >= 2**63:  # beyond int64: refused by value
        return _integer_labels(data, y.astype(np.float64))
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        return _integer_labels(data, y.astype(np.float64))
    if y.dtype.kind not in "US":
        raise DataError(
            f"{data.source}: class labels of dtype {y.dtype} are neither numbers nor text"
        )
    labels = np.char.strip(y.astype(str))
    empty = np.flatnonzero(labels == "")
    if len(empty):
        raise DataError(f"{data.source}: empty class label at {data.where(int(empty[0]))}")
    unique, inverse = np.unique(labels, return_inverse=True)
    values = [_number(s) for s in unique.tolist()]
    if all(v is not None for v in values) and not as_text:
        return _integer_labels(data, np.asarray(values, dtype=np.float64)[inverse])
    if any(v is not None for v in values):  # text and numbers: 1 and 1.0 still one class
        spelled = [s if v is None else _canonical(v) for s, v in zip(unique.tolist(), values)]
        return np.asarray(spelled)[inverse]
    return labels


def _canonical(value: float) -> str:
    """One spelling per number: '1' for 1, 1.0 and 01; '0.5' for .5 and 0.50."""
    return str(int(value)) if np.isfinite(value) and value == int(value) else repr(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _integer_labels(data: Dataset, y: np.ndarray) -> np.ndarray:
    """Numeric labels (float64) as int64 classes, refusing those that are not whole numbers."""
    bad = ~np.isfinite(y) | (y != np.round(y)) | (np.abs(y) >= _EXACT)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{data.source}: class label {_shown(data.y[row])} at {data.where(row)} is not a "
            "whole number; classes are integers or text (for real-valued targets use "
            "loss: squared_error)"
        )
    return y.astype(np.int64)


def encode_classes(
    data: Dataset, classes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(class indices (N,), classes) for the labels of ``data``.

    With ``classes=None`` the classes are learned: the sorted distinct labels,
    at least two. Otherwise every label must be one of ``classes`` (the
    model's): an unseen label is an error naming it and its row.
    """
    labels = class_labels(data, as_text=classes is not None and classes.dtype.kind in "US")
    if classes is None:
        classes = np.unique(labels)
        if len(classes) < 2:
            raise DataError(
                f"{data.source}: a single class ({_shown(classes[0])}) in the target; "
                "classification needs at least two"
            )
        return np.searchsorted(classes, labels), classes
    if classes.dtype.kind != labels.dtype.kind:  # text labels against numeric classes
        classes_cmp, labels = classes.astype(str), labels.astype(str)
    else:
        classes_cmp = classes
    order = np.argsort(classes_cmp)
    pos = np.searchsorted(classes_cmp, labels, sorter=order)
    pos = np.minimum(pos, len(classes) - 1)
    found = classes_cmp[order[pos]] == labels
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        known = ", ".join(str(c) for c in classes[:20]) + (", …" if len(classes) > 20 else "")
        raise DataError(
            f"{data.source}: label {_shown(labels[row])} at {data.where(row)} was never seen "
            f"in training (the model knows: {known})"
        )
    return order[pos], classes


def regression_targets(data: Dataset, dtype: np.dtype | type) -> np.ndarray:
    """Real targets of shape (N, K) in ``dtype``; non-numbers and NaN are errors with their row."""
    y = data.y if data.y.ndim == 2 else data.y[:, None]
    if y.shape[1] == 0:
        raise DataError(f"{data.source}: no target column (targets of shape {data.y.shape})")
    if y.dtype.kind not in "biufUS":
        raise DataError(f"{data.source}: targets of dtype {y.dtype} are not numbers")
    try:
        with np.errstate(over="ignore"):  # a value beyond the dtype's range becomes inf: below
            out = y.astype(dtype)
    except ValueError:
        raise _not_a_number(data, y) from None
    bad = ~np.isfinite(out)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{data.source}: target {_shown(y[row, col])} at {data.where(row)} "
            f"(column '{data.target_names[col]}') is NaN, infinite or too large for {out.dtype}"
        )
    return out


def _not_a_number(data: Dataset, y: np.ndarray) -> DataError:
    """The first target NumPy cannot read as a number, named with its row and column."""
    for row, col in np.ndindex(y.shape):
        try:
            np.array([y[row, col]]).astype(np.float64)
        except ValueError:
            return DataError(
                f"{data.source}: target {_shown(y[row, col])} at {data.where(row)} "
                f"(column '{data.target_names[col]}') is not a number"
            )
    return DataError(f"{data.source}: the targets are not numbers")
