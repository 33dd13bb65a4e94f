"""Fused data losses: (1/N) Σ_n w_n L(t_n, y_n) over a batch, as one op each.

Every loss op takes two graph inputs, the network's outputs ``y`` (N, K) and
the targets ``t``, and optionally a third, per-example weights ``w`` (N,)
(class weights, looked up per row); without it every w_n = 1. It returns a
0-d array. Targets and weights are constant nodes like the inputs x, so a
recorded graph is replayed on a new batch by setting the leaves' values
(``Graph``); no gradient flows to them (backward returns None for ``t`` and
``w``).

The losses that squash their input (sigmoid, softmax) work on logits with
the stable arithmetic of ``stable.py``, so outputs of ±1000 give finite
values and gradients in float32 and float64, and their gradients take the
lecture's simple form ∂L/∂a = p − t.

For Hessian-vector products (``engine/hessian.py``) each loss says how its
Hessian in the outputs acts on a direction (:meth:`FusedLoss.curvature`):
1/N for squared error, σ(1 − σ)/N for binary cross-entropy,
(diag p − p pᵀ)/N for softmax cross-entropy, and 0 for the piecewise-linear
hinges.
"""

from __future__ import annotations

import numpy as np

from .node import Op, plus
from .stable import exp_neg_abs, shifted_exp, sigmoid


def _mean(rows: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """(1/N) Σ_n w_n ℓ_n of per-example losses ℓ (N,), as a 0-d array."""
    return np.asarray((rows.sum() if w is None else np.dot(w, rows)) / len(rows))


def _scale(g: np.ndarray, grad: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """∂E/∂y from the per-example gradients ``g`` (N, K), in place: g · ∂E/∂L · w_n / N."""
    g *= grad / len(g)
    if w is not None:
        g *= w[:, None]
    return g


__all__ = [
    "BinaryCrossEntropy",
    "FusedLoss",
    "Hinge",
    "MulticlassHinge",
    "SoftmaxCrossEntropy",
    "SquaredError",
]


class FusedLoss(Op):
    """A loss op on (outputs y, constant targets t[, constant weights w]), with its
    R-operator rules.

    R{L} = Σ ∂L/∂y ⊙ R{y} and R{g ∂L/∂y} = R{g} ∂L/∂y + g (∇²_y L) R{y}; a
    subclass gives ∇²_y L of the unweighted batch mean as :meth:`curvature`,
    and the weights w_n scale row n of it. Targets and weights never have a
    direction.
    """

    __slots__ = ()

    def curvature(self, dy: np.ndarray) -> np.ndarray | None:
        """(∇²_y L) dy for the batch-averaged loss, a new array; None where ∇²_y L = 0."""
        return None

    def tangent(self, dy, dt=None, dw=None):
        if dy is None:
            return None
        gradient = self.backward(np.ones((), dy.dtype))[0]
        return np.asarray(np.vdot(gradient, dy))

    def backward_tangent(self, grad, grad_tangent, tangents):
        dy = tangents[0]
        h_dy = None if dy is None else self.curvature(dy)
        if h_dy is not None:
            h_dy *= grad
            if self.w is not None:
                h_dy *= self.w[:, None]
        first = None if grad_tangent is None else self.backward(grad_tangent)[0]
        return plus(first, h_dy), None, None


class SquaredError(FusedLoss):
    """L = ½ Σ_k (y_k − t_k)²; ∂L/∂y = y − t.

    Shapes: y (N, K), t (N, K) real-valued.
    """

    __slots__ = ("diff", "w")

    def forward(self, y: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        self.diff, self.w = y - t, w
        if w is not None:
            return _mean(0.5 * np.einsum("nk,nk->n", self.diff, self.diff), w)
        d = self.diff.ravel()
        return np.asarray(0.5 * np.dot(d, d) / len(y))

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, None, None]:
        return _scale(self.diff.copy(), grad, self.w), None, None

    def curvature(self, dy: np.ndarray) -> np.ndarray:
        return dy / len(dy)  # ∇²L = I/N


class BinaryCrossEntropy(FusedLoss):
    """L = −(t ln σ(a) + (1−t) ln(1−σ(a))) on logits a, summed over the K outputs.

    Evaluated as max(a, 0) − a·t + ln(1 + e^{−|a|}), which never overflows;
    ∂L/∂a = σ(a) − t, with σ(a) taken from the same e^{−|a|}.
    Shapes: a (N, K), t (N, K) with values in {0, 1}.
    """

    __slots__ = ("p", "t", "w")

    def forward(self, a: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        e = exp_neg_abs(a)
        losses = np.maximum(a, 0) - a * t + np.log1p(e)
        self.p, self.t, self.w = sigmoid(a, e), t, w
        return _mean(losses.sum(axis=1) if w is not None else losses, w)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, None, None]:
        return _scale(self.p - self.t, grad, self.w), None, None

    def curvature(self, dy: np.ndarray) -> np.ndarray:
        p = self.p
        return p * (1 - p) * dy / len(dy)  # σ'(a) = σ(1 − σ), per output


class SoftmaxCrossEntropy(FusedLoss):
    """L = −ln softmax(a)_t = ln Σ_j e^{a_j} − a_t; ∂L/∂a = softmax(a) − onehot(t).

    The log-sum-exp is taken after subtracting each row's maximum, so no
    exponential exceeds 1. Shapes: a (N, K), t (N,) integer classes.
    """

    __slots__ = ("t", "probs", "w")

    def forward(self, a: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        z, e, total = shifted_exp(a)
        losses = np.log(total[:, 0]) - z[np.arange(len(a)), t]
        e /= total
        self.probs, self.t, self.w = e, t, w
        return _mean(losses, w)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, None, None]:
        g = self.probs.copy()
        g[np.arange(len(g)), self.t] -= 1
        return _scale(g, grad, self.w), None, None

    def curvature(self, dy: np.ndarray) -> np.ndarray:
        # ∂p/∂a = diag p − p pᵀ, row by row: (diag p − p pᵀ) dy = p ⊙ (dy − p·dy)
        p = self.probs
        out = dy - (p * dy).sum(axis=1, keepdims=True)
        out *= p
        out /= len(dy)
        return out


class Hinge(FusedLoss):
    """Binary hinge L = max(0, 1 − t·y) with t ∈ {−1, +1}, summed over the K outputs.

    ∂L/∂y = −t where the margin is violated (t·y < 1), else 0; at the margin
    (t·y = 1) the gradient is 0. Shapes: y (N, K), t (N, K).
    """

    __slots__ = ("t", "active", "w")

    def forward(self, y: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        slack = 1 - t * y
        self.active, self.t, self.w = slack > 0, t, w
        losses = np.maximum(slack, 0)
        return _mean(losses.sum(axis=1) if w is not None else losses, w)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, None, None]:
        return _scale(-(self.t * self.active), grad, self.w), None, None


class MulticlassHinge(FusedLoss):
    """Weston–Watkins hinge L = Σ_{j≠t} max(0, 1 + y_j − y_t).

    ∂L/∂y_j = [1 + y_j − y_t > 0] for j ≠ t, and ∂L/∂y_t = −(number of
    violating j); a margin of exactly 0 counts as not violated.
    Shapes: y (N, K), t (N,) integer classes.
    """

    __slots__ = ("t", "active", "w")

    def forward(self, y: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        rows = np.arange(len(y))
        margins = y - y[rows, t][:, None] + 1
        margins[rows, t] = 0
        self.active, self.t, self.w = margins > 0, t, w
        losses = np.maximum(margins, 0)
        return _mean(losses.sum(axis=1) if w is not None else losses, w)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, None, None]:
        g = self.active.astype(grad.dtype)
        rows = np.arange(len(g))
        g[rows, self.t] = -g.sum(axis=1)
        return _scale(g, grad, self.w), None, None
