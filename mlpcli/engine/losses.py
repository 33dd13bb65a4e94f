"""Fused loss ops (mean over the batch) and the regularization penalties.

Every data loss takes the network's outputs ``y`` of shape (N, K) as its one
graph input and holds the targets as a constant; its value is
(1/N) Σ_n L(t_n, y_n), a 0-d array. The losses that squash their input
(sigmoid, softmax) work on logits with log-sum-exp arithmetic, so outputs of
±1000 give finite values and gradients in float32 and float64, and their
gradients take the lecture's simple forms (∂L/∂a = p − t).

The penalties take the weight matrices as inputs and give λ'·Ω(w) for a
coefficient λ' chosen by the caller (λ/N for the normalized error).
"""

from __future__ import annotations

import numpy as np

from .node import Op


class SquaredError(Op):
    """L = ½ Σ_k (y_k − t_k)²; ∂L/∂y = y − t.

    Shapes: y (N, K), targets (N, K) real-valued.
    """

    __slots__ = ("targets", "diff")

    def __init__(self, targets: np.ndarray) -> None:
        self.targets = targets

    def forward(self, y: np.ndarray) -> np.ndarray:
        self.diff = y - self.targets
        d = self.diff.ravel()
        return np.asarray(0.5 * np.dot(d, d) / len(y))

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (self.diff * (grad / len(self.diff)),)


class BinaryCrossEntropy(Op):
    """L = −(t ln σ(a) + (1−t) ln(1−σ(a))) on logits a, summed over the K outputs.

    Evaluated as max(a, 0) − a·t + ln(1 + e^{−|a|}), which never overflows;
    ∂L/∂a = σ(a) − t, with σ(a) taken from the same e^{−|a|} (see
    :func:`~mlpcli.engine.activations.sigmoid`). Shapes: a (N, K), targets
    (N, K) with values in {0, 1}.
    """

    __slots__ = ("p", "targets")

    def __init__(self, targets: np.ndarray) -> None:
        self.targets = targets

    def forward(self, a: np.ndarray) -> np.ndarray:
        with np.errstate(under="ignore"):  # e^{-|a|} → 0 for large |a| is exact enough
            e = np.exp(-np.abs(a))
        loss = (np.maximum(a, 0) - a * self.targets + np.log1p(e)).sum() / len(a)
        # σ(a) from the same e: 1/(1 + e) for a ≥ 0, e/(1 + e) for a < 0 (never overflows)
        p = 1 / (1 + e)
        np.multiply(p, e, out=p, where=a < 0)
        self.p = p
        return np.asarray(loss)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        g = self.p - self.targets
        g *= grad / len(g)
        return (g,)


class SoftmaxCrossEntropy(Op):
    """L = −ln softmax(a)_t = ln Σ_j e^{a_j} − a_t; ∂L/∂a = softmax(a) − onehot(t).

    The log-sum-exp is taken after subtracting each row's maximum, so no
    exponential exceeds 1. Shapes: a (N, K), targets (N,) integer classes.
    """

    __slots__ = ("targets", "probs")

    def __init__(self, targets: np.ndarray) -> None:
        self.targets = targets

    def forward(self, a: np.ndarray) -> np.ndarray:
        z = a - a.max(axis=1, keepdims=True)
        with np.errstate(under="ignore"):
            e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        rows = np.arange(len(a))
        loss = (np.log(total[:, 0]) - z[rows, self.targets]).sum() / len(a)
        e /= total
        self.probs = e
        return np.asarray(loss)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        g = self.probs.copy()
        g[np.arange(len(g)), self.targets] -= 1
        g *= grad / len(g)
        return (g,)


class Hinge(Op):
    """Binary hinge L = max(0, 1 − t·y) with t ∈ {−1, +1}, summed over the K outputs.

    ∂L/∂y = −t where the margin is violated (t·y < 1), else 0; at the margin
    (t·y = 1) the gradient is 0. Shapes: y (N, K), targets (N, K).
    """

    __slots__ = ("targets", "active")

    def __init__(self, targets: np.ndarray) -> None:
        self.targets = targets

    def forward(self, y: np.ndarray) -> np.ndarray:
        slack = 1 - self.targets * y
        self.active = slack > 0
        return np.asarray(np.maximum(slack, 0).sum() / len(y))

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (-(self.targets * self.active) * (grad / len(self.active)),)


class MulticlassHinge(Op):
    """Weston–Watkins hinge L = Σ_{j≠t} max(0, 1 + y_j − y_t).

    ∂L/∂y_j = [1 + y_j − y_t > 0] for j ≠ t, and ∂L/∂y_t = −(number of
    violating j); a margin of exactly 0 counts as not violated.
    Shapes: y (N, K), targets (N,) integer classes.
    """

    __slots__ = ("targets", "active")

    def __init__(self, targets: np.ndarray) -> None:
        self.targets = targets

    def forward(self, y: np.ndarray) -> np.ndarray:
        rows = np.arange(len(y))
        margins = y - y[rows, self.targets][:, None] + 1
        margins[rows, self.targets] = 0
        self.active = margins > 0
        return np.asarray(np.maximum(margins, 0).sum() / len(y))

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        g = self.active.astype(grad.dtype)
        rows = np.arange(len(g))
        g[rows, self.targets] = -g.sum(axis=1)
        g *= grad / len(g)
        return (g,)


# -- regularization penalties -------------------------------------------------


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
