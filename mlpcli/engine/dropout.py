"""Inverted dropout: a regularizer that trains every unit not to rely on any other.

In training each unit's output is kept with probability 1 − p and scaled by
1/(1 − p), or set to 0; at evaluation the layer is the identity. The scaling
keeps E[h̃] = h, so the network needs no rescaling at evaluation (the
"inverted" form of Srivastava et al. 2014, as in PyTorch's ``nn.Dropout``).
"""

from __future__ import annotations

import numpy as np

from .node import Op

__all__ = ["Dropout"]


class Dropout(Op):
    """h̃ = h ⊙ m, with m_i = 1/(1 − p) with probability 1 − p, else 0; ∂E/∂h = ∂E/∂h̃ ⊙ m.

    The mask is drawn from ``rng`` at every :meth:`forward`, so a recorded
    graph replayed step after step (``Graph``) draws a fresh mask per step and
    the generator's state alone decides every mask of a run. Shapes: h (N, H)
    in, (N, H) out.
    """

    __slots__ = ("rate", "rng", "mask")

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate, self.rng = rate, rng

    def forward(self, h: np.ndarray) -> np.ndarray:
        dtype = h.dtype if h.dtype in (np.float32, np.float64) else np.float64
        keep = self.rng.random(h.shape, dtype=dtype) >= self.rate
        self.mask = keep * np.asarray(1 / (1 - self.rate), dtype=dtype)
        return h * self.mask

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * self.mask,)

    # R-operator rules (engine/hessian.py): the op is linear in h for a fixed mask.
    def tangent(self, dh: np.ndarray | None) -> np.ndarray | None:
        return None if dh is None else dh * self.mask

    def backward_tangent(self, grad, grad_tangent, tangents):
        return (None if grad_tangent is None else grad_tangent * self.mask,)
