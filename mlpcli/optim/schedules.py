"""Learning-rate schedules η(t), t counted in epochs or in steps (both from 0).

* ``constant``:     η_t = η₀
* ``step``:         η_t = η₀ · factor^⌊t / every⌋
* ``exponential``:  η_t = η₀ · γ^t
* ``inverse_time``: η_t = η₀ / (1 + decay · t)   (Σ η_t = ∞, Σ η_t² < ∞ per step:
  the Robbins–Monro conditions under which SGD converges)
* ``cosine``:       η_t = η_min + ½ (η₀ − η_min)(1 + cos(π t / period)) for t < period,
  then η_min (one half-cosine, no restarts; the period defaults to the run's epochs)
* ``plateau``:      η = max(η₀ · factor^k, η_min), k the number of times the
  watched metric stopped improving for more than ``patience`` epochs
  (``torch.optim.lr_scheduler.ReduceLROnPlateau``, relative threshold)

Every schedule takes a linear **warmup**: over the first ``warmup`` epochs
(or steps, with ``unit: step``) η_t is multiplied by (t + 1)/(warmup + 1), so
the rate rises in equal steps to the schedule's own value, reached at
t = warmup. The schedule underneath keeps counting from t = 0.

All but ``plateau`` are pure functions of the position (epoch, step), so
resuming needs only the counters; ``plateau`` reacts to each epoch's metrics
(:meth:`Schedule.observe`) and saves its best value, bad epochs and current
factor with the run (:meth:`Schedule.state`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Schedule:
    """η as a function of the position; the fields are the config's ``train.lr`` keys."""

    initial: float  # η₀
    unit: Literal["epoch", "step"] = field(default="epoch", kw_only=True)  # what t counts
    warmup: int = field(default=0, kw_only=True)  # linear warmup over the first t < warmup

    def __call__(self, epoch: int, step: int) -> float:
        """η at 0-based ``epoch`` and global ``step``."""
        t = epoch if self.unit == "epoch" else step
        rate = self.at(t)
        if t < self.warmup:
            rate *= (t + 1) / (self.warmup + 1)
        return rate

    def at(self, t: int) -> float:
        raise NotImplementedError

    # -- schedules that react to training (plateau) ------------------------------------
    def observe(self, metrics: Mapping[str, float | None]) -> None:
        """Called after each epoch with its metrics (train_loss, val_loss, val_<metric>)."""

    def state(self) -> dict[str, np.ndarray]:
        """What a resumed run needs besides the counters, by name (arrays, updated in place)."""
        return {}

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        for name, buffer in self.state().items():
            buffer[...] = state[name]


@dataclass(frozen=True)
class Constant(Schedule):
    def at(self, t: int) -> float:
        return self.initial


@dataclass(frozen=True)
class Step(Schedule):
    factor: float = 0.5  # η ← factor·η ...
    every: int = 10  # ... every this many epochs (or steps)

    def at(self, t: int) -> float:
        return self.initial * self.factor ** (t // self.every)


@dataclass(frozen=True)
class Exponential(Schedule):
    gamma: float = 0.95  # η_t = η₀·γ^t

    def at(self, t: int) -> float:
        return self.initial * self.gamma**t


@dataclass(frozen=True)
class InverseTime(Schedule):
    decay: float = 0.01  # η_t = η₀ / (1 + decay·t)

    def at(self, t: int) -> float:
        return self.initial / (1.0 + self.decay * t)


@dataclass(frozen=True)
class Cosine(Schedule):
    period: int | None = None  # t over which η falls to eta_min (default: train.epochs)
    eta_min: float = 0.0  # η at and after t = period

    def at(self, t: int) -> float:
        if t >= self.period:
            return self.eta_min
        return self.eta_min + 0.5 * (self.initial - self.eta_min) * (
            1.0 + math.cos(math.pi * t / self.period)
        )


@dataclass
class PlateauState:
    """What :class:`Plateau` has seen: 0-d arrays, so a checkpoint saves them as they are."""

    best: np.ndarray = field(default_factory=lambda: np.array(np.nan))  # NaN: none yet
    bad_epochs: np.ndarray = field(default_factory=lambda: np.zeros((), np.int64))
    scale: np.ndarray = field(default_factory=lambda: np.ones(()))  # factor^k


@dataclass(frozen=True)
class Plateau(Schedule):
    factor: float = 0.1  # η ← factor·η ...
    patience: int = 10  # ... after more than this many epochs without improvement
    threshold: float = 1e-4  # improvement: better than best·(1 ∓ threshold)
    metric: Literal["val_loss", "val_accuracy", "val_mse", "train_loss"] = "val_loss"
    eta_min: float = 0.0  # η never goes below this
    seen: PlateauState = field(default_factory=PlateauState, init=False, compare=False)

    def at(self, t: int) -> float:
        return max(self.initial * float(self.seen.scale), self.eta_min)

    def observe(self, metrics: Mapping[str, float | None]) -> None:
        value, seen = metrics[self.metric], self.seen
        if value is None:
            return
        best = float(seen.best)
        if self.metric == "val_accuracy":  # higher is better
            improved = math.isnan(best) or value > best * (1 + self.threshold)
        else:
            improved = math.isnan(best) or value < best * (1 - self.threshold)
        if improved:
            seen.best[...], seen.bad_epochs[...] = value, 0
            return
        seen.bad_epochs += 1
        if seen.bad_epochs > self.patience:
            seen.scale *= self.factor
            seen.bad_epochs[...] = 0

    def state(self) -> dict[str, np.ndarray]:
        s = self.seen
        return {"best": s.best, "bad_epochs": s.bad_epochs, "scale": s.scale}


#: The config's ``train.lr.schedule`` values.
SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": Step,
    "exponential": Exponential,
    "inverse_time": InverseTime,
    "cosine": Cosine,
    "plateau": Plateau,
}
