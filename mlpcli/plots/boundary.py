"""What a trained network does to its input space, drawn over its data.

For 2-D classification, the decision regions: a grid of raw inputs over the
data's bounding box goes through the model's one forward on raw inputs
(``model.outputs(x, raw=True)``, which applies the saved standardization
and φ) and the head's decision rule; each region is tinted with its class's
colour and the boundary drawn in black; training points are filled,
validation points hollow, one marker shape per class. For 1-D regression,
the fitted curve y(x) over the data, with the target function where it is
known (the ``sine`` generator's sin x).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from mlpcli.data.dataset import Dataset
from mlpcli.data.targets import encode_classes, regression_targets
from mlpcli.errors import ConfigError, DataError
from mlpcli.files.model import SavedModel
from mlpcli.metrics import accuracy, mse
from mlpcli.nn.heads import HEADS
from mlpcli.plots import style

#: Grid points per axis for the decision regions.
RESOLUTION = 300
#: Margin around the data, as a fraction of its range.
MARGIN = 0.08
#: The splits drawn, and whether their markers are filled.
SHOWN = (("train", True), ("validation", False))
#: Classes named one by one in the legend; beyond, colours and markers repeat, so the
#: legend says only which points are training and which validation.
LEGEND_CLASSES = len(style.PALETTE)


@dataclass
class Panel:
    """One model over its data: the saved model, its raw splits and a title."""

    saved: SavedModel
    splits: Mapping[str, Dataset]
    title: str
    target: tuple[Callable[[np.ndarray], np.ndarray], str] | None = None  # f and its name


def check_drawable(saved: SavedModel, name: str) -> None:
    """Refuse a model whose input space has no picture: 2-D classification or 1-D regression."""
    n, task = saved.model.n_inputs, saved.config.data.task
    if (task, n) not in (("classification", 2), ("regression", 1)):
        raise ConfigError(
            f"{name}: --boundary draws 2-input classification or 1-input regression; "
            f"this is {task} on {n} inputs"
        )
    encoder = saved.model.inputs.encoder
    if encoder is not None and "t" in encoder.kinds:
        column = encoder.names[encoder.kinds.index("t")]
        raise ConfigError(f"{name}: --boundary needs numeric inputs; {column!r} is categorical")


def draw(ax: Axes, panel: Panel) -> None:
    """The panel's picture on ``ax``: decision regions or fitted curve."""
    if panel.saved.config.data.task == "classification":
        decision_regions(ax, panel.saved, panel.splits)
    else:
        fitted_curve(ax, panel.saved, panel.splits, panel.target)
    ax.set_title(panel.title)
    names = panel.saved.feature_names
    ax.set_xlabel(f"{names[0]} (raw input)")
    ax.grid(False)


def _extent(splits: Mapping[str, Dataset], column: int) -> tuple[float, float]:
    """The data's range in ``column``, padded; missing (NaN, imputed) cells do not count."""
    values = np.concatenate([d.x[:, column] for d in splits.values()]).astype(np.float64)
    values = values[~np.isnan(values)]
    if len(values) == 0:  # possible with data.missing {strategy: constant}
        name = next(iter(splits.values())).feature_names[column]
        raise DataError(f"--boundary: input '{name}' has no values to draw over (all missing)")
    lo, hi = float(values.min()), float(values.max())
    pad = MARGIN * (hi - lo) or 1.0
    return lo - pad, hi + pad


def _drawn(data: Dataset) -> np.ndarray:
    """(N,) bool: the rows with every input present (imputed ones have no place to sit)."""
    return ~np.isnan(np.asarray(data.x, dtype=np.float64)).any(axis=1)


def not_drawn(splits: Mapping[str, Dataset]) -> str | None:
    """``3 points with a missing input not drawn``, or None when every point is drawn."""
    n = sum(int((~_drawn(d)).sum()) for split, _ in SHOWN if (d := splits.get(split)) is not None)
    if n == 0:
        return None
    return f"{n} point{'s' if n > 1 else ''} with a missing input not drawn"


def decision_regions(ax: Axes, saved: SavedModel, splits: Mapping[str, Dataset]) -> None:
    """Tinted regions of each predicted class, the boundary, and the points on top."""
    xs = np.linspace(*_extent(splits, 0), RESOLUTION)
    ys = np.linspace(*_extent(splits, 1), RESOLUTION)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    head = HEADS[saved.config.loss]()
    predicted = head.predict(saved.model.outputs(grid, raw=True)).reshape(RESOLUTION, RESOLUTION)
    k = len(saved.classes)
    ax.imshow(
        predicted, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), aspect="auto",
        cmap=ListedColormap([style.region_color(i) for i in range(k)]), vmin=-0.5,
        vmax=k - 0.5, interpolation="nearest",
    )  # fmt: skip
    ax.contour(xs, ys, predicted, levels=np.arange(k - 1) + 0.5, colors="black", linewidths=1.2)
    for split, filled in SHOWN:
        data = splits.get(split)
        if data is None:
            continue
        indices, _ = encode_classes(data, saved.classes)
        for i in range(k):
            rows = (indices == i) & _drawn(data)
            ax.scatter(
                data.x[rows, 0], data.x[rows, 1], marker=style.marker(i), s=24,
                color=style.color(i) if filled else "white",
                edgecolors="black" if filled else style.color(i),
                linewidths=0.5 if filled else 1.3,
                label=f"class {saved.classes[i]} ({split})" if k <= LEGEND_CLASSES else None,
            )  # fmt: skip
        if k > LEGEND_CLASSES:  # an empty scatter: a legend entry that draws nothing
            ax.scatter(
                [], [], marker="o", s=24, color="grey" if filled else "white",
                edgecolors="black" if filled else "grey", linewidths=0.5 if filled else 1.3,
                label=f"{split} points ({k} classes, colours repeat)",
            )  # fmt: skip
    ax.set_ylabel(f"{saved.feature_names[1]} (raw input)")


def fitted_curve(
    ax: Axes,
    saved: SavedModel,
    splits: Mapping[str, Dataset],
    target: tuple[Callable[[np.ndarray], np.ndarray], str] | None,
) -> None:
    """The network's y(x) on a fine grid, the data, and the target function if known."""
    xs = np.linspace(*_extent(splits, 0), 600)[:, None]
    outputs = saved.model.outputs(xs, raw=True)
    for j, name in enumerate(saved.target_names):
        for split, filled in SHOWN:
            data = splits.get(split)
            if data is None:
                continue
            rows = _drawn(data)
            t = regression_targets(data, saved.model.dtype)[rows, j]
            ax.scatter(
                data.x[rows, 0], t, s=14, marker=style.marker(j + 1),
                color=style.color(j + 1) if filled else "white",
                edgecolors="none" if filled else style.color(j + 1),
                label=f"{name} ({split})",
            )  # fmt: skip
        ax.plot(xs[:, 0], outputs[:, j], color=style.color(0), linewidth=2, label="network y(x)")
    if target is not None:
        f, formula = target
        ax.plot(xs[:, 0], f(xs[:, 0]), color="black", linestyle="--", label=f"target {formula}")
    ax.set_ylabel(f"{', '.join(saved.target_names)} (raw target)")


def accuracy_line(saved: SavedModel, splits: Mapping[str, Dataset]) -> str:
    """``accuracy 100 % train, 98 % validation`` (or MSE) on the points drawn."""
    head = HEADS[saved.config.loss]()
    parts = []
    for split, _ in SHOWN:
        data = splits.get(split)
        if data is None:
            continue
        y = saved.model.outputs(data.x, raw=True)
        if saved.config.data.task == "classification":
            indices, _ = encode_classes(data, saved.classes)
            parts.append(f"{accuracy(head.predict(y), indices):.0%} {split}")
        else:
            parts.append(f"{mse(y, regression_targets(data, saved.model.dtype)):.3g} {split}")
    metric = "accuracy" if saved.config.data.task == "classification" else "MSE"
    return f"{metric} " + ", ".join(parts)
