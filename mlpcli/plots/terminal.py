"""The loss curve drawn in the terminal, for the end of ``mlp train`` (and ``mlp runs RUN``).

Drawn by plotext (pure Python, no dependencies), imported only here: the
training loss in braille dots, the validation loss in bullets, so the two
stay apart without colour. The y axis is logarithmic when the loss spans
more than a decade.
"""

from __future__ import annotations

import numpy as np

from mlpcli.history import History

#: A y axis spanning more than this ratio is drawn logarithmic.
DECADE = 10.0


def loss_curve(history: History, width: int = 72, height: int = 14) -> str:
    """The training and validation loss of ``history`` over epochs, as text with ANSI colours.

    ``width`` and ``height`` are in terminal cells; non-finite losses (a
    diverged run's last epochs) are left out. Empty when nothing is finite.
    """
    import plotext as plt

    epochs = history["epoch"]
    series = [("train", history["train_loss"], "braille", "blue")]
    if history.has("val_loss"):
        series.append(("validation", history["val_loss"], "dot", "orange"))
    kept = [np.isfinite(ys) & (ys > 0) for _, ys, _, _ in series]
    if not any(k.any() for k in kept):
        return ""
    values = np.concatenate([ys[k] for (_, ys, _, _), k in zip(series, kept)])
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")  # the terminal's own background and text colour
    for (label, ys, marker, color), k in zip(series, kept):
        plt.plot(epochs[k].tolist(), ys[k].tolist(), label=label, marker=marker, color=color)
    if values.max() > DECADE * values.min():
        plt.yscale("log")
        lo, hi = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
        powers = 10.0 ** np.arange(lo, hi + 1, max(1, np.ceil((hi - lo) / 5)))
        plt.yticks(powers.tolist(), [f"{p:.0e}" for p in powers])
    else:
        levels = np.linspace(values.min(), values.max(), 5)
        plt.yticks(levels.tolist(), [f"{v:.3g}" for v in levels])
    ticks = np.unique(np.round(np.linspace(epochs[0], epochs[-1], 5)))
    plt.xticks(ticks.tolist(), [f"{t:g}" for t in ticks])
    plt.title("loss")
    plt.xlabel("epoch")
    return plt.build()
