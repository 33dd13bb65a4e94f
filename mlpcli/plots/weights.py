"""What training did to the weights: per-layer histograms, and first-layer weights as images.

The histograms overlay runs (one colour and line style each) on a log count
axis, so the spike of exact zeros that L1 makes and the bell that L2 makes
both show; each legend entry gives the fraction of |w| < 10⁻³. For image
inputs (8×8 digits, 28×28 MNIST: inputs named ``pixel0`` … ``pixel{s²−1}``,
no basis functions) each first-layer unit's weight vector is drawn as an
s×s image: the pattern of (standardized) pixels the unit responds to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from mlpcli.files.model import SavedModel
from mlpcli.plots import style

#: |w| below this counts as zero (the threshold of the regularizers example).
ZERO = 1e-3
#: Histogram bins per layer (odd: one bin is centred on 0).
BINS = 81
#: First-layer units drawn as images, at most.
MAX_UNITS = 64


def image_side(saved: SavedModel) -> int | None:
    """s when the model reads s×s images (inputs ``pixel0`` … ``pixel{s²−1}``, no φ), else None."""
    n = saved.model.n_inputs
    side = math.isqrt(n)
    pixels = all(re.fullmatch(r"pixel\d+", name) for name in saved.feature_names)
    if side < 4 or side * side != n or not pixels or saved.model.inputs.basis is not None:
        return None
    return side


def weights_figure(runs: Sequence[SavedModel], labels: Sequence[str], title: str) -> Figure:
    """Histograms (top row, one panel per layer) and, for image inputs, one grid per run."""
    n_layers = max(len(s.model.layers) for s in runs)
    images = [(s, label) for s, label in zip(runs, labels) if image_side(s)]
    width = max(3.4 * n_layers, 4.6 * len(images), 6.0)
    fig = style.figure(width, 3.6 + 4.6 * bool(images))
    top, bottom = fig.subfigures(2, 1, height_ratios=[3.6, 4.6]) if images else (fig, None)
    axes = np.atleast_1d(top.subplots(1, n_layers, squeeze=False)[0])
    for j, ax in enumerate(axes):
        _histograms(ax, [s for s in runs if j < len(s.model.layers)], labels, j)
    if bottom is not None:
        grids = bottom.subplots(1, len(images), squeeze=False)[0]
        for ax, (saved, label) in zip(grids, images):
            _first_layer_images(bottom, ax, saved, label)
    style.suptitle(fig, title)
    return fig


def _histograms(ax: Axes, runs: Sequence[SavedModel], labels: Sequence[str], j: int) -> None:
    values = [s.model.layers[j].weight.value.astype(np.float64).ravel() for s in runs]
    reach = max(float(np.abs(v).max()) for v in values) or 1.0
    edges = np.linspace(-reach, reach, BINS + 1)
    for i, (w, label) in enumerate(zip(values, labels)):
        counts, _ = np.histogram(w, edges)
        # zero counts go below the axis (a log axis has no 0): the line drops to the edge
        ax.stairs(np.maximum(counts, 0.5), edges, color=style.color(i), linewidth=1.6,
                  linestyle=style.LINESTYLES[i % len(style.LINESTYLES)], baseline=0.5,
                  label=f"{label}: {np.mean(np.abs(w) < ZERO):.0%} |w| < 10⁻³")  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.8)
    out_features, in_features = runs[0].model.layers[j].weight.shape
    ax.set_title(f"layers.{j}.weight ({out_features} × {in_features})")
    ax.set_xlabel("weight value")
    ax.set_ylabel("number of weights")
    ax.legend(loc="upper right", fontsize=8)


def _first_layer_images(fig: SubFigure, ax: Axes, saved: SavedModel, label: str) -> None:
    """Up to :data:`MAX_UNITS` rows of W₀, each as an s×s tile, on one shared colour scale."""
    side = image_side(saved)
    w = saved.model.layers[0].weight.value.astype(np.float64)[:MAX_UNITS]
    cols = math.ceil(math.sqrt(len(w)))
    rows = math.ceil(len(w) / cols)
    mosaic = np.full((rows * (side + 1) - 1, cols * (side + 1) - 1), np.nan)
    for u, unit in enumerate(w):
        r, c = divmod(u, cols)
        mosaic[r * (side + 1) : r * (side + 1) + side, c * (side + 1) : c * (side + 1) + side] = (
            unit.reshape(side, side)
        )
    reach = float(np.abs(w).max()) or 1.0
    cmap = _colormap()
    image = ax.imshow(mosaic, cmap=cmap, vmin=-reach, vmax=reach, interpolation="nearest")
    ax.set_axis_off()
    total = saved.model.layers[0].out_features
    ax.set_title(f"{label}\nfirst-layer weights: {len(w)} of {total} units, {side}×{side} pixels")
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight on a standardized pixel")


def _colormap():
    from matplotlib import colormaps

    return colormaps[style.SEQUENTIAL].with_extremes(bad="white")  # the gaps between tiles
