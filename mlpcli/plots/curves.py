"""Learning curves: loss, task metric, learning rate and batch size over epochs or steps.

Several runs overlay, one colour and marker each; training is drawn solid and
validation dashed. The loss axis is logarithmic (linear when a loss is
negative, or none is positive: a log axis has no place for them). A run whose loss runs away
(η too large) is cut at ten times the largest starting loss and marked where
it leaves the picture, so the runs that converge keep the scale they need.
Values beyond ±:data:`HUGE` are drawn as ±inf are: off the picture (matplotlib's
axis arithmetic overflows near the float64 limit).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from mlpcli.history import History
from mlpcli.plots import style

#: The x axis by --x: the column of metrics.csv and its label.
X_AXES = {"epoch": ("epoch", "epoch"), "step": ("step", "step (SGD updates)")}

#: A run is cut at this multiple of the largest loss of any run's first epoch.
CUT = 10.0
#: Values of larger magnitude are drawn as ±inf: off the picture, never an overflow.
HUGE = 1e100


def learning_curves(
    histories: Sequence[History], labels: Sequence[str], title: str, x: str = "epoch"
) -> Figure:
    """Four panels for the runs in ``histories``, labelled by ``labels`` in the legend."""
    column, xlabel = X_AXES[x]
    fig = style.figure(10, 6.4)
    (loss, metric), (lr, batch) = fig.subplots(2, 2, sharex=True)
    for i, h in enumerate(histories):
        xs = h[column]
        for ax, name in ((loss, "loss"), (metric, h.metric)):
            _pair(ax, xs, h, name, i)
        _line(lr, xs, h["lr"], i, "-")
        _line(batch, xs, h["batch_size"], i, "-")
    loss.set_ylabel("data loss (mean per example)")
    _log_axis_cut(loss, histories, "loss")
    _metric_axis(metric, histories)
    lr.set_ylabel("learning rate η (per step)")
    _log_if_wide(lr, [h["lr"] for h in histories])
    batch.set_ylabel("batch size (examples per step)")
    _log_if_wide(batch, [h["batch_size"] for h in histories], base=2)
    for ax in (lr, batch):
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs, steps
    _legend(fig, loss, labels, any(h.has("val_loss") for h in histories))
    style.suptitle(fig, title)
    return fig


def _pair(ax: Axes, xs: np.ndarray, h: History, name: str, i: int) -> None:
    """Training (solid) and validation (dashed) values of one run."""
    _line(ax, xs, h[f"train_{name}"], i, "-")
    if h.has(f"val_{name}"):
        _line(ax, xs, h[f"val_{name}"], i, "--")


def drawable(ys: np.ndarray) -> np.ndarray:
    """``ys`` as float64 with values beyond ±:data:`HUGE` made ±inf (NaN stays NaN)."""
    ys = np.asarray(ys, dtype=np.float64)
    return np.where(np.abs(ys) > HUGE, np.copysign(np.inf, ys), ys)


def _line(ax: Axes, xs: np.ndarray, ys: np.ndarray, i: int, linestyle: str) -> None:
    every = max(1, len(xs) // 8)  # a few markers: the run is told apart in greyscale too
    ax.plot(
        xs, drawable(ys), color=style.color(i), linestyle=linestyle, marker=style.marker(i),
        markevery=every, markersize=5, linewidth=1.6,
    )  # fmt: skip


def _log_axis_cut(ax: Axes, histories: Sequence[History], name: str) -> None:
    """A log axis for ``train_/val_<name>``, cut above :data:`CUT` × the largest first value;
    linear and uncut when a value is negative or none is positive."""
    column = f"train_{name}"
    drawn = [h[c] for h in histories for c in (column, f"val_{name}") if h.has(c)]
    finite = drawable(np.concatenate(drawn))
    finite = finite[np.isfinite(finite)]
    if not (finite > 0).any() or (finite < 0).any():  # zeros alone are left out, as on any log axis
        return
    ax.set_yscale("log")
    values = drawable(np.concatenate([h[column] for h in histories]))
    values = values[np.isfinite(values) & (values > 0)]
    firsts = [float(f) for h in histories if len(h) and np.isfinite(f := drawable(h[column][0]))]
    if not firsts:
        return
    top = CUT * max(firsts)
    if values.max() > top:  # a run runs away: cut it, and mark where it leaves
        ax.set_ylim(values.min() / 2, top)
        for i, h in enumerate(histories):
            _mark_runaway(ax, h, column, top, i)


def _mark_runaway(ax: Axes, h: History, column: str, top: float, i: int) -> None:
    ys = h[column]
    above = np.flatnonzero(~(ys <= top))  # NaN and inf count as above
    if len(above) == 0:
        return
    x = h["epoch"][above[0]]
    ax.annotate(
        "diverges ↑", xy=(x, top), xytext=(4, -14), textcoords="offset points",
        color=style.color(i), fontsize=9, annotation_clip=False,
    )  # fmt: skip


def _metric_axis(ax: Axes, histories: Sequence[History]) -> None:
    if histories[0].metric == "accuracy":
        ax.set_ylabel("accuracy (fraction correct)")
        ax.set_ylim(-0.02, 1.02)
    else:
        ax.set_ylabel("mean squared error")
        _log_axis_cut(ax, histories, "mse")


def _log_if_wide(ax: Axes, columns: Sequence[np.ndarray], base: float = 10) -> None:
    """A log axis when the values span more than a factor of ten, else a linear one from 0."""
    values = drawable(np.concatenate(columns))
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() > 10 * values.min():
        ax.set_yscale("log", base=base)
    elif len(values):
        ax.set_ylim(0, 1.15 * values.max())


def _legend(fig: Figure, ax: Axes, labels: Sequence[str], validation: bool) -> None:
    handles = [
        Line2D([], [], color=style.color(i), marker=style.marker(i), label=label)
        for i, label in enumerate(labels)
    ]
    kinds = [Line2D([], [], color="black", linestyle="-", label="training")]
    if validation:
        kinds.append(Line2D([], [], color="black", linestyle="--", label="validation"))
    if len(labels) > 1:
        handles += kinds
    else:
        handles = kinds
    longest = max(len(h.get_label()) for h in handles)  # a row holds ~110 characters
    columns = max(1, min(len(handles), 4, 110 // (longest + 8)))
    fig.legend(handles=handles, loc="outside lower center", ncol=columns)
