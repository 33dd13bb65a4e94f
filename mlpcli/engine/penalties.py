"""Regularization penalties: c·Ω(w) over any number of weight tensors, as one op each.

The coefficient c is the caller's: the normalized error uses c = λ/N
(``nn/regularizers.py``). Biases are penalized only if the caller passes them.
"""

from __future__ import annotations

import numpy as np

from .node import Op, plus

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

    def tangent(self, *dws):
        terms = [np.vdot(w, dw) for w, dw in zip(self.weights, dws) if dw is not None]
        return None if not terms else np.asarray(self.coef * sum(terms), self.weights[0].dtype)

    def backward_tangent(self, grad, grad_tangent, tangents):
        # R{c g w} = c R{g} w + c g R{w}: the Hessian of c ½ Σ w² is c I
        return tuple(
            plus(
                None if grad_tangent is None else w * (grad_tangent * self.coef),
                None if dw is None else dw * (grad * self.coef),
            )
            for w, dw in zip(self.weights, tangents)
        )


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

    def tangent(self, *dws):
        terms = [np.vdot(np.sign(w), dw) for w, dw in zip(self.weights, dws) if dw is not None]
        return None if not terms else np.asarray(self.coef * sum(terms), self.weights[0].dtype)

    def backward_tangent(self, grad, grad_tangent, tangents):
        # |w|'' = 0 away from w = 0: only the direction of the incoming gradient moves
        if grad_tangent is None:
            return (None,) * len(self.weights)
        return self.backward(grad_tangent)
