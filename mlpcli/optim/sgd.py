"""Stochastic gradient descent, with optional (Nesterov) momentum.

Plain SGD:          w ← w − η g
Momentum (μ > 0):   v ← μ v + g;   w ← w − η v
Nesterov:           v ← μ v + g;   w ← w − η (g + μ v)

the same update rules as ``torch.optim.SGD`` (dampening 0), so the two give
the same trajectories from the same start.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlpcli.engine import Node
from mlpcli.optim.optimizer import Optimizer


class SGD(Optimizer):
    """SGD over a fixed list of parameter nodes.

    Parameters
    ----------
    params : sequence of Node
        Updated in place (``value`` arrays keep their identity and dtype).
    lr : float
        η > 0; a schedule may change it per step through :meth:`step`.
    momentum : float
        μ ∈ [0, 1).
    nesterov : bool
        Use the Nesterov look-ahead form (needs μ > 0).
    """

    def __init__(
        self, params: Sequence[Node], lr: float, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov
        self.velocity = [np.zeros_like(p.value) for p in self.params] if momentum else []

    def step(self, lr: float | None = None) -> None:
        """Apply one update with the gradients currently held by the parameters."""
        lr = self.lr if lr is None else lr
        if not self.momentum:
            for p, scale in zip(self.params, self.lr_scale):
                if p.grad is not None:
                    p.value -= (lr * scale) * p.grad
            return
        mu = self.momentum
        for p, v, scale in zip(self.params, self.velocity, self.lr_scale):
            if p.grad is None:
                continue
            v *= mu
            v += p.grad
            if self.nesterov:
                p.value -= (lr * scale) * (p.grad + mu * v)
            else:
                p.value -= (lr * scale) * v

    def state(self) -> dict[str, np.ndarray]:
        """Buffers needed to resume exactly: one velocity per parameter."""
        return {f"velocity.{i}": v for i, v in enumerate(self.velocity)}
