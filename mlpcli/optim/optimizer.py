"""What every optimizer offers the training loop: zero the gradients, step, save, restore.

An optimizer sees only parameter nodes and their gradients, updates the
``value`` arrays in place (they keep their identity and dtype), and refuses
bad settings when it is built. Its buffers (momentum, moments, the step
count) are named arrays, so a checkpoint saves them and a resumed run
continues bit for bit.

``lr_scale`` holds one learning-rate multiplier per parameter (1 by default):
tensor i is updated with rate η·lr_scale[i] (the config's ``train.lr_scale``,
one per layer, so that the per-layer curvature of ``mlp lr`` can be used).
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
        self.lr_scale = [1.0] * len(self.params)

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


def clip_grad_norm(params: Sequence[Node], max_norm: float) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    ‖g‖ = √(Σ_p Σ_i g_pi²) over every tensor; when ‖g‖ > max_norm each gradient
    is multiplied, in place, by max_norm / (‖g‖ + 10⁻⁶) (the rule of
    ``torch.nn.utils.clip_grad_norm_``). The direction of the step is kept, only
    its length is capped. Returns ‖g‖ before clipping.
    """
    grads = [p.grad for p in params if p.grad is not None]
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total
