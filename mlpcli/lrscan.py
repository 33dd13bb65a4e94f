"""The learning-rate scan of ``mlp lr --scan``: a short run at each η of a log-spaced grid.

Each run starts from the same initial weights, trains the configured network
as configured (optimizer, schedule shape, batches) except that the schedule's
initial rate is η, early stopping is off, and the run is a few epochs (or
steps) long. The training loss after it, against the loss at the start,
gives each η a verdict:

* ``diverged``: the loss or a weight stopped being finite, or the loss ran
  away: it rose in every epoch of the run and ended above L₀;
* ``too small`` also for the runs at the low end of the grid that left the loss
  exactly at L₀ (each step η·g lost to rounding, as at η = 1e-320): nothing moved,
  so there is nothing to compare; when every run left it there, none is best;
* ``best``: the lowest final loss of the grid;
* ``good``: at least half of the best run's progress, progress measured as
  ln(L₀ / L) (losses often fall by orders of magnitude; a loss of exactly 0
  counts as the lowest positive loss of the grid);
* ``too small`` / ``unstable``: less than half of it (or a loss above L₀),
  below / above the best η.

No file is written: the runs happen in memory on one prepared experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from mlpcli.config import with_values
from mlpcli.errors import DivergedError
from mlpcli.experiment import Experiment
from mlpcli.train import Trainer, measure

#: The verdicts, from small η to large.
VERDICTS = ("too small", "good", "best", "unstable", "diverged")


@dataclass(frozen=True)
class ScanPoint:
    """One η of the grid and how its short run ended."""

    lr: float
    loss: float | None  # data loss on the training split after the run (None: diverged)
    val_loss: float | None  # on the validation split, when there is one
    steps: int
    verdict: str = ""


@dataclass(frozen=True)
class Scan:
    initial_loss: float  # L₀: the training data loss at the common start
    epochs: int | None
    steps: int | None
    points: list[ScanPoint]

    @property
    def best(self) -> ScanPoint | None:
        return next((p for p in self.points if p.verdict == "best"), None)

    def as_dict(self) -> dict:
        best = self.best
        return {
            "initial_loss": self.initial_loss,
            "epochs": self.epochs,
            "steps": self.steps,
            "best_lr": None if best is None else best.lr,
            "points": [vars(p) for p in self.points],
        }


def grid(low: float, high: float, count: int) -> list[float]:
    """``count`` rates from ``low`` to ``high``, equally spaced in log η."""
    if not (0 < low < high) or count < 2:
        raise ValueError(f"a grid needs 0 < low < high and count ≥ 2, got {low}, {high}, {count}")
    return [float(v) for v in np.geomspace(low, high, count)]


def default_grid(center: float, count: int = 9) -> list[float]:
    """Two decades either side of the decade of ``center``: 10^(k−2) … 10^(k+2)."""
    k = math.floor(math.log10(center))
    return grid(10.0 ** (k - 2), 10.0 ** (k + 2), count)


def scan(
    exp: Experiment, rates: list[float], *, epochs: int | None = 5, steps: int | None = None
) -> Scan:
    """Train ``exp``'s model briefly at each rate from its current weights, then judge them.

    ``steps`` (when given) bounds the runs by steps instead of ``epochs``. Every
    run starts from the same weights and the same dropout masks (the model's
    dropout generator is rewound too: a run's result must not depend on which
    other rates are in the grid). The model is left as it started.
    """
    params, same_masks = exp.model.parameters(), exp.model.dropout_rewind()
    start = [p.value.copy() for p in params]

    def rewind() -> None:
        for p, w in zip(params, start):
            p.value[...] = w
        same_masks()

    initial_loss = measure(exp, exp.train)[0]
    points = []
    try:
        for lr in sorted(rates):
            rewind()
            points.append(_run(exp, lr, epochs, steps, initial_loss))
    finally:
        rewind()
    return Scan(initial_loss, epochs if steps is None else None, steps, judge(initial_loss, points))


def _run(
    exp: Experiment, lr: float, epochs: int | None, steps: int | None, initial_loss: float
) -> ScanPoint:
    length = steps if steps is not None else epochs  # an epoch has ≥ 1 step: enough epochs
    config = with_values(
        exp.config,
        {"train.lr.initial": lr, "train.epochs": length, "train.early_stopping": None},
    )
    trainer: Trainer | None = None

    def enough() -> bool:
        return steps is not None and trainer is not None and trainer.state.step >= steps

    trainer = Trainer(replace(exp, config=config), should_stop=enough)
    try:
        with np.errstate(all="ignore"):
            trainer.run()
    except DivergedError:
        return ScanPoint(lr, None, None, trainer.state.step, "diverged")
    with np.errstate(all="ignore"):
        loss = measure(exp, exp.train)[0]
        val = None if exp.validation is None else measure(exp, exp.validation)[0]
    losses = [r.train_loss for r in trainer.state.history]
    rising = len(losses) >= 2 and all(b > a for a, b in zip(losses, losses[1:]))
    if not math.isfinite(loss) or (rising and loss > initial_loss):
        return ScanPoint(lr, loss if math.isfinite(loss) else None, val, trainer.state.step,
                         "diverged")  # fmt: skip
    return ScanPoint(lr, loss, val, trainer.state.step)


def judge(initial_loss: float, points: list[ScanPoint]) -> list[ScanPoint]:
    """The points (sorted by η) with their verdicts (module docstring).

    Diverged points keep their verdict; the smallest rates that left the loss at
    exactly L₀ are too small; the best is the lowest loss among the others.
    """
    unmoved = 0
    while unmoved < len(points) and points[unmoved].loss == initial_loss:
        unmoved += 1  # diverged points have loss None: the run stops there
    points = [replace(p, verdict="too small") for p in points[:unmoved]] + points[unmoved:]
    finished = [p for p in points if not p.verdict]
    if not finished:
        return points
    best = min(finished, key=lambda p: p.loss)

    # An exact fit (L = 0, as hinge reaches) counts as the lowest positive loss of the grid:
    # infinitely far ahead, it would leave every other rate "too small".
    positive = [p.loss for p in finished if p.loss > 0]
    floor = min(positive) if positive else np.finfo(np.float64).tiny

    def progress(loss: float) -> float:  # ln(L₀ / L)
        return math.log(max(initial_loss, floor) / max(loss, floor))

    reach = progress(best.loss)

    def verdict(p: ScanPoint) -> str:
        if p.verdict or p is best:
            return p.verdict or "best"
        if reach > 0 and progress(p.loss) >= 0.5 * reach:
            return "good"
        return "too small" if p.lr < best.lr else "unstable"

    return [replace(p, verdict=verdict(p)) for p in points]
