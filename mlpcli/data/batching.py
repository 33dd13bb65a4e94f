"""Batch modes: how many examples each gradient step sees, epoch by epoch.

* ``batch``: every training example in every step (one step per epoch) —
  the gradient of the normalized error exactly;
* ``stochastic``: one example per step (N steps per epoch);
* ``minibatch``: ``size`` examples per step, the last batch of an epoch
  holding the remainder; with ``growth``, the size is multiplied by
  ``factor`` every ``every`` epochs up to ``max`` (start noisy and cheap,
  end precise — the lecture's advice).

Batches are gathered with ``np.take(..., out=, mode="clip")`` into buffers allocated once
per batch size, so an epoch never copies the dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BATCH_MODES = ("batch", "stochastic", "minibatch")

#: Examples per step of a minibatch when the config gives no size.
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class Growth:
    """A growing minibatch; the fields are the config's ``train.batch.growth`` keys."""

    factor: float = 2.0  # multiply the batch size by this...
    every: int = 5  # ...every this many epochs...
    max: int | None = None  # ...up to this size (default: the training set)


@dataclass(frozen=True)
class BatchSchedule:
    """Batch size as a function of the (0-based) epoch, for a training set of ``n`` examples."""

    mode: str
    n: int
    size: int | None = None
    growth: Growth | None = None

    def size_at(self, epoch: int) -> int:
        if self.mode == "batch":
            return self.n
        if self.mode == "stochastic":
            return 1
        size = self.size
        if self.growth is not None:
            g = self.growth
            cap = min(g.max or self.n, self.n)
            # size·factor^k, computed in logs: factor^k overflows a float long before the
            # size stops growing (2^1024 at epoch 1024·every), and the cap is reached first.
            k = epoch // g.every
            if k * math.log(g.factor) > math.log(cap / size) + 1e-9:
                return max(1, cap)
            size = min(int(size * g.factor**k), cap)
        return max(1, min(size, self.n))


class Gather:
    """Copies the rows of one batch into a reused buffer: ``buffer[:k] = source[rows]``."""

    def __init__(self, source: np.ndarray) -> None:
        self.source = source
        self.buffer: np.ndarray | None = None

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        k = len(rows)
        if self.buffer is None or len(self.buffer) < k:
            self.buffer = np.empty((k, *self.source.shape[1:]), dtype=self.source.dtype)
        out = self.buffer[:k]
        # mode="clip": the rows are valid, and with the default "raise" NumPy
        # buffers the output (a hidden copy, 3× slower).
        np.take(self.source, rows, axis=0, out=out, mode="clip")
        return out
