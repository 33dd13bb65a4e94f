"""The confusion matrix as a heat map: rows the true class, columns the predicted one.

Each cell shows its count; its colour is the fraction of the true class it
holds (the row's recall on the diagonal), so classes of different sizes
compare at a glance. ``cividis`` keeps its order in greyscale.

Beyond :data:`MAX_CLASSES` classes a K×K map has cells too small to read, so
the picture keeps the :data:`MAX_CLASSES` classes most involved in errors
(as true or as predicted class) and says so; fractions stay fractions of the
whole true class, so a row's cells no longer add up to one.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mlpcli.plots import style

#: The most classes drawn: a cell of about 0.3 inch still holds a three-digit count.
MAX_CLASSES = 30


def confusion_panel(fig: Figure, ax: Axes, report: dict, title: str) -> None:
    """One run's matrix from its ``mlp eval`` report (``inference.report``)."""
    support = np.array([c["support"] for c in report["per_class"]])
    pairs = pairs_of(report)
    shown = most_confused(pairs, len(support), MAX_CLASSES)
    counts = _submatrix(pairs, len(support), shown)
    names = [str(report["per_class"][i]["class"]) for i in shown]
    totals = support[shown][:, None]
    fraction = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    image = ax.imshow(fraction, cmap=style.SEQUENTIAL, vmin=0, vmax=1)
    small = len(names) > 6
    for (i, j), n in np.ndenumerate(counts):
        ax.text(
            j, i, str(n), ha="center", va="center", fontsize=8 if small else 10,
            color="black" if fraction[i, j] > 0.6 else "white",
        )  # fmt: skip
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, names, rotation=90 if len(names) > 12 else 0)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.grid(False)
    which = "" if len(shown) == len(support) else (
        f"\nthe {len(shown)} most confused of {len(support)} classes"
    )  # fmt: skip
    ax.set_title(f"{title}\naccuracy {report['accuracy']:.1%} on {report['n']} examples{which}")
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")


def pairs_of(report: dict) -> np.ndarray:
    """(M, 3) int rows (true, predicted, count) of the report's non-zero confusion entries,
    from its dense ``confusion_matrix`` or its ``confusion_pairs`` (many classes)."""
    if "confusion_pairs" in report:
        return np.asarray(report["confusion_pairs"], dtype=np.int64).reshape(-1, 3)
    dense = np.asarray(report["confusion_matrix"], dtype=np.int64)
    where = np.argwhere(dense)
    return np.column_stack([where, dense[where[:, 0], where[:, 1]]])


def most_confused(pairs: np.ndarray, k: int, n: int) -> np.ndarray:
    """(min(k, n),) sorted class indices: all k classes, or the n with the most errors
    (off-diagonal counts as true plus as predicted class; ties to the lower index)."""
    if k <= n:
        return np.arange(k)
    errors = pairs[pairs[:, 0] != pairs[:, 1]]
    score = np.bincount(errors[:, 0], errors[:, 2], minlength=k)
    score += np.bincount(errors[:, 1], errors[:, 2], minlength=k)
    return np.sort(np.argsort(-score, kind="stable")[:n])


def _submatrix(pairs: np.ndarray, k: int, shown: np.ndarray) -> np.ndarray:
    """(S, S) counts among the ``shown`` classes only."""
    position = np.full(k, -1)
    position[shown] = np.arange(len(shown))
    i, j = position[pairs[:, 0]], position[pairs[:, 1]]
    inside = (i >= 0) & (j >= 0)
    counts = np.zeros((len(shown), len(shown)), dtype=np.int64)
    counts[i[inside], j[inside]] = pairs[inside, 2]
    return counts
