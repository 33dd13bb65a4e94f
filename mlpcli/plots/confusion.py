"""The confusion matrix as a heat map: rows the true class, columns the predicted one.

Each cell shows its count; its colour is the fraction of the true class it
holds (the row's recall on the diagonal), so classes of different sizes
compare at a glance. ``cividis`` keeps its order in greyscale.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mlpcli.plots import style


def confusion_panel(fig: Figure, ax: Axes, report: dict, title: str) -> None:
    """One run's matrix from its ``mlp eval`` report (``inference.report``)."""
    counts = np.asarray(report["confusion_matrix"])
    names = [str(c["class"]) for c in report["per_class"]]
    totals = counts.sum(axis=1, keepdims=True)
    fraction = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    image = ax.imshow(fraction, cmap=style.SEQUENTIAL, vmin=0, vmax=1)
    small = len(names) > 6
    for (i, j), n in np.ndenumerate(counts):
        ax.text(
            j, i, str(n), ha="center", va="center", fontsize=8 if small else 10,
            color="black" if fraction[i, j] > 0.6 else "white",
        )  # fmt: skip
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, names)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.grid(False)
    ax.set_title(f"{title}\naccuracy {report['accuracy']:.1%} on {report['n']} examples")
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")
