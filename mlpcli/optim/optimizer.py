"""What every optimizer offers the training loop: zero the gradients, step, save, restore.

An optimizer sees only parameter nodes and their gradients, updates the
``value`` arrays in place (they keep their identity and dtype), and refuses
bad settings when it is built. Its buffers (momentum, moments) are named
arrays, so a checkpoint saves them and a resumed run continues bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mlpcli.engine import Node


class Optimizer:
    """Base class over a fixed list of parameter nodes, at learning rate ``lr``."""

    def __init__(self, params: Sequence[Node], lr: float) -> None:
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"learning rate must be a finite number > 0, got {lr}")
        self.params = list(params)
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self, lr: float | None = None) -> None:
        """Apply one update with the gradients the parameters hold (at ``lr`` if given)."""
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        """Buffers needed to resume exactly, by name."""
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Copy buffers saved by :meth:`state` into this optimizer's own."""
        mine = self.state()
        for name, buffer in mine.items():
            buffer[...] = state[name]
