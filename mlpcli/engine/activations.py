"""Activation ops h(a), applied elementwise to a layer's pre-activations.

Where h' is cheaper from the output than from the input (sigmoid, tanh) the
op keeps the output. ReLU and tanh can run in place (``inplace=True``) on a
pre-activation array that nobody reads afterwards. The exponentials are
those of ``stable.py``: a pre-activation of ±1000 gives an exact 0 or 1,
never a warning.

The R-operator rules of an elementwise h are R{h(a)} = h'(a) R{a} and
R{g h'(a)} = R{g} h'(a) + g h''(a) R{a} (:func:`_elementwise`); each op only
says what h' and h'' are.
"""

from __future__ import annotations

import numpy as np

from .node import Op, plus
from .stable import sigmoid, softplus

__all__ = ["Identity", "LeakyRelu", "Relu", "Sigmoid", "Softplus", "Tanh"]


def _elementwise(
    d1: np.ndarray, d2: np.ndarray | None, grad: np.ndarray, grad_tangent, da
) -> tuple[np.ndarray | None]:
    """R{g h'(a)} = R{g} h'(a) + g h''(a) R{a}, for h' = ``d1`` and h'' = ``d2`` (None: 0)."""
    return (
        plus(
            None if grad_tangent is None else grad_tangent * d1,
            None if da is None or d2 is None else grad * d2 * da,
        ),
    )


class Identity(Op):
    """h(a) = a (linear outputs). Models skip it; it exists so the name is a real op."""

    __slots__ = ()

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad,)

    def tangent(self, da):
        return da

    def backward_tangent(self, grad, grad_tangent, tangents):
        return (grad_tangent,)


class Relu(Op):
    """h(a) = max{a, 0}; h'(a) = 1 where a > 0, else 0 (0 at the kink, as PyTorch).

    ``inplace=True`` overwrites the input array (PyTorch's ``ReLU(inplace=True)``):
    for a caller that owns the input node and reads it no more, it saves a
    large allocation per layer and step.
    """

    __slots__ = ("inplace", "out")

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.out = np.maximum(a, 0, out=a if self.inplace else None)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * (self.out > 0),)

    def tangent(self, da):  # h'' = 0 away from the kink
        return None if da is None else da * (self.out > 0)

    def backward_tangent(self, grad, grad_tangent, tangents):
        return (None if grad_tangent is None else grad_tangent * (self.out > 0),)


class LeakyRelu(Op):
    """h(a) = a for a > 0, α·a otherwise; h'(a) = 1 or α (α at the kink)."""

    __slots__ = ("slope", "a")

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return np.where(a > 0, a, a * self.slope)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(self.a > 0, grad, grad * self.slope),)

    def tangent(self, da):  # h'' = 0 away from the kink
        return None if da is None else self.backward(da)[0]

    def backward_tangent(self, grad, grad_tangent, tangents):
        return (None,) if grad_tangent is None else self.backward(grad_tangent)


class Sigmoid(Op):
    """h(a) = σ(a) (the logistic function); h'(a) = σ(a)(1 − σ(a))."""

    __slots__ = ("out",)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.out = sigmoid(a)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        s = self.out
        return (grad * s * (1 - s),)

    def tangent(self, da):
        return None if da is None else self.backward(da)[0]

    def backward_tangent(self, grad, grad_tangent, tangents):
        s = self.out
        d1 = s * (1 - s)
        return _elementwise(d1, d1 * (1 - 2 * s), grad, grad_tangent, tangents[0])  # σ''


class Tanh(Op):
    """h(a) = tanh(a); h'(a) = 1 − tanh²(a). ``inplace`` as for :class:`Relu`."""

    __slots__ = ("inplace", "out")

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.out = np.tanh(a, out=a if self.inplace else None)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        t = self.out
        return (grad * (1 - t * t),)

    def tangent(self, da):
        return None if da is None else self.backward(da)[0]

    def backward_tangent(self, grad, grad_tangent, tangents):
        t = self.out
        d1 = 1 - t * t
        return _elementwise(d1, -2 * t * d1, grad, grad_tangent, tangents[0])  # tanh''


class Softplus(Op):
    """h(a) = ln(1 + eᵃ), a smooth ReLU; h'(a) = σ(a)."""

    __slots__ = ("a",)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return softplus(a)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * sigmoid(self.a),)

    def tangent(self, da):
        return None if da is None else self.backward(da)[0]

    def backward_tangent(self, grad, grad_tangent, tangents):
        s = sigmoid(self.a)
        return _elementwise(s, s * (1 - s), grad, grad_tangent, tangents[0])  # softplus'' = σ'
