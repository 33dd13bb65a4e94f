"""Regularization penalties: c·Ω(w) over any number of weight tensors, as one op each.

The coefficient c is the caller's: the normalized error uses c = λ/N
(``nn/regularizers.py``). Biases are penalized only if the caller passes them.
"""

from __future__ import annotations

import numpy as np

from .node import Op

__all__ = ["L1Penalty", "L2Penalty"]


class L2Penalty(Op):
    """c · ½ Σ_w Σ_i w_i² over all input tensors; ∂/∂w = c · w."""

    __slots__ = ("coef", "weights")

    def __init__(self, coef: float) -> None:
        self.coef = coef

    def forward(self, *weights: np.ndarray) -> np.ndarray:
        self.weights = weights
        total = sum(np.vdot(w, w) for w in weights)
        return np.asarray(0.5 * self.coef * total, dtype=weights[0].dtype)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        scale = grad * self.coef
        return tuple(w * scale for w in self.weights)


class L1Penalty(Op):
    """c · Σ_w Σ_i |w_i|; ∂/∂w = c · sign(w), taken as 0 at w = 0."""

    __slots__ = ("coef", "weights")

    def __init__(self, coef: float) -> None:
        self.coef = coef

    def forward(self, *weights: np.ndarray) -> np.ndarray:
        self.weights = weights
        total = sum(np.abs(w).sum() for w in weights)
        return np.asarray(self.coef * total, dtype=weights[0].dtype)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        scale = grad * self.coef
        return tuple(np.sign(w) * scale for w in self.weights)
