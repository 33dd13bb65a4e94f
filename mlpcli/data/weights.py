"""Class weights c_k for imbalanced classification (``data.class_weight``).

``balanced`` is scikit-learn's rule, c_k = n / (K · n_k) over the n training
rows, so every class carries the same total weight; a mapping gives c_k by
label (classes it leaves out weigh 1). Either way the weights are then scaled
so that their mean over the training rows is 1, Σ_k n_k c_k = n: the weighted
data term (1/|B|) Σ_{n∈B} c_{t_n} L_n estimates Σ c L / Σ c without bias, and
a learning rate means the same with and without weights.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mlpcli.errors import DataError


def class_weights(
    spec: str | Mapping[object, float], indices: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """c (K,) float64 for the training rows' class ``indices`` (n,) of ``classes`` (K,).

    Raises DataError for a mapping key that is no class of the training data, and
    for ``balanced`` when a class has no training rows (n_k = 0: no weight exists).
    """
    counts = np.bincount(indices, minlength=len(classes)).astype(np.float64)
    if spec == "balanced":
        if not counts.all():
            label = classes[int(np.flatnonzero(counts == 0)[0])]
            raise DataError(
                f"data.class_weight: balanced weighs class k by n / (K · n_k), but class "
                f"{str(label)!r} has no rows in the training split; hold out fewer rows "
                "or give the weights as a mapping {label: weight}"
            )
        c = len(indices) / (len(classes) * counts)
    else:
        c = np.ones(len(classes))
        for key, value in spec.items():
            k = class_index(key, classes)
            if k is None:
                known = ", ".join(str(v) for v in classes[:20].tolist())
                raise DataError(
                    f"data.class_weight: {key!r} is not a class of the training data "
                    f"(classes: {known}{', …' if len(classes) > 20 else ''})"
                )
            c[k] = value
    # Relative to the largest weight of a class the training rows have, so that Σ n_k c_k
    # below cannot overflow whatever the scale of the weights given.
    with np.errstate(over="ignore"):
        c = c / c[counts > 0].max()
    if not np.isfinite(c).all():
        raise DataError("data.class_weight: the weights span too many orders of magnitude")
    return c * (len(indices) / np.dot(counts, c))


def class_index(key: object, classes: np.ndarray) -> int | None:
    """The position of the label ``key`` in ``classes``, matched by value (1, '1', '01'
    and 1.0 are one numeric class), or None."""
    if classes.dtype.kind in "iu":
        try:
            value = float(str(key).strip())
        except ValueError:
            return None
        hit = np.flatnonzero(classes == value)
    else:
        hit = np.flatnonzero(classes == str(key).strip())
    return int(hit[0]) if len(hit) else None
