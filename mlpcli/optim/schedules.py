"""Learning-rate schedules η(t), t counted in epochs or in steps (both from 0).

* ``constant``:     η_t = η₀
* ``step``:         η_t = η₀ · factor^⌊t / every⌋
* ``exponential``:  η_t = η₀ · γ^t
* ``inverse_time``: η_t = η₀ / (1 + decay · t)   (Σ η_t = ∞, Σ η_t² < ∞ per step:
  the Robbins–Monro conditions under which SGD converges)

A schedule is a pure function of the position (epoch, step), so resuming a
run needs only the counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Schedule:
    """η as a pure function of the position; the fields are the config's ``train.lr`` keys."""

    initial: float  # η₀
    unit: Literal["epoch", "step"] = field(default="epoch", kw_only=True)  # what t counts

    def __call__(self, epoch: int, step: int) -> float:
        """η at 0-based ``epoch`` and global ``step``."""
        return self.at(epoch if self.unit == "epoch" else step)

    def at(self, t: int) -> float:
        raise NotImplementedError


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


#: The config's ``train.lr.schedule`` values.
SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": Step,
    "exponential": Exponential,
    "inverse_time": InverseTime,
}
