"""Primitive ops: arithmetic with broadcasting, products, reductions, elementwise math.

Each class is one op: ``forward`` computes the value from the input arrays and
keeps what ``backward`` needs; ``backward`` maps ∂E/∂out to one ∂E/∂input per
input. Where NumPy broadcast an input in ``forward``, ``backward`` sums the
gradient back to that input's own shape (:func:`unbroadcast`).
"""

from __future__ import annotations

import numpy as np

from .node import Node, Op


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast.

    A (3,)-shaped bias added to a (N, 3) batch received the same value in
    every row, so its gradient is the sum of the N row gradients.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = np.asarray(grad.sum(axis=tuple(range(extra))))  # an array even when 0-d
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


# -- arithmetic ---------------------------------------------------------------


class Add(Op):
    """out = a + b (broadcasting); ∂out/∂a = ∂out/∂b = 1."""

    __slots__ = ("shapes",)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(Op):
    """out = a − b; ∂out/∂a = 1, ∂out/∂b = −1."""

    __slots__ = ("shapes",)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])


class Mul(Op):
    """out = a · b elementwise; ∂out/∂a = b, ∂out/∂b = a (the lecture's "gradient switcher")."""

    __slots__ = ("a", "b")

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(grad * self.b, self.a.shape), unbroadcast(grad * self.a, self.b.shape)


class Div(Op):
    """out = a / b; ∂out/∂a = 1/b, ∂out/∂b = −a/b²."""

    __slots__ = ("a", "b")

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a / b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ga = grad / self.b
        return unbroadcast(ga, self.a.shape), unbroadcast(-ga * self.a / self.b, self.b.shape)


class Neg(Op):
    """out = −a."""

    __slots__ = ()

    def forward(self, a: np.ndarray) -> np.ndarray:
        return -a

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (-grad,)


class Pow(Op):
    """out = a^p for a constant exponent p; ∂out/∂a = p·a^(p−1)."""

    __slots__ = ("p", "a")

    def __init__(self, p: float) -> None:
        self.p = p

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return a**self.p

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * self.p * self.a ** (self.p - 1),)


# -- products -----------------------------------------------------------------


class MatMul(Op):
    """out = a @ b for a of shape (..., m, k) or (k,) and b of shape (..., k, n) or (k,).

    ∂E/∂a = ∂E/∂out @ bᵀ and ∂E/∂b = aᵀ @ ∂E/∂out; vectors are treated as a
    single row (a) or column (b) and the gradient is reshaped back.
    """

    __slots__ = ("a", "b")

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self.a.ndim == 1 and self.b.ndim == 1:  # inner product: a scalar out
            return grad * self.b, grad * self.a
        a = self.a[np.newaxis, :] if self.a.ndim == 1 else self.a
        b = self.b[:, np.newaxis] if self.b.ndim == 1 else self.b
        g = grad
        if self.a.ndim == 1:
            g = np.expand_dims(g, -2)
        if self.b.ndim == 1:
            g = np.expand_dims(g, -1)
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        if need_a:
            ga = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape).reshape(self.a.shape)
        if need_b:
            gb = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape).reshape(self.b.shape)
        return ga, gb


class Linear(Op):
    """Fused affine map ``out = X Wᵀ + b`` (the lecture's a = W x + b, one row per example).

    Shapes: X (N, in), W (out, in), b (out,) -> out (N, out).
    Backward: ∂E/∂W = Gᵀ X (out, in), ∂E/∂b = Σ_n G_n (out,), ∂E/∂X = G W (N, in),
    where G = ∂E/∂out. ∂E/∂X is only formed when X needs it, which the first
    layer's input never does: that saves a third of a first layer's backward.
    """

    __slots__ = ("x", "w")

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.x, self.w = x, w
        out = x @ w.T
        out += b  # in place: no second (N, out) array
        return out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        need_x, need_w, need_b = self.needs_input_grad
        gx = grad @ self.w if need_x else None
        gw = grad.T @ self.x if need_w else None
        gb = np.add.reduce(grad, axis=0) if need_b else None  # = grad.sum(0), less overhead
        return gx, gw, gb


# -- reductions ---------------------------------------------------------------


class Sum(Op):
    """out = Σ a over ``axis`` (all axes when None); ∂out/∂a_i = 1."""

    __slots__ = ("axis", "keepdims", "shape")

    def __init__(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.shape = a.shape
        return np.asarray(a.sum(axis=self.axis, keepdims=self.keepdims))

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (_expand(grad, self.shape, self.axis, self.keepdims),)


class Mean(Sum):
    """out = (1/n) Σ a over ``axis``, n the number of entries averaged; ∂out/∂a_i = 1/n."""

    __slots__ = ()

    def forward(self, a: np.ndarray) -> np.ndarray:
        total = super().forward(a)
        return np.asarray(total / (a.size // max(total.size, 1)))

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        (g,) = super().backward(grad)
        g /= g.size // max(grad.size, 1)
        return (g,)


def _expand(
    grad: np.ndarray, shape: tuple[int, ...], axis: int | tuple[int, ...] | None, keepdims: bool
) -> np.ndarray:
    """Copy a reduced gradient back over the axes the reduction removed."""
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad  # a real array, not a read-only broadcast view
    return out


# -- elementwise math ---------------------------------------------------------


class Exp(Op):
    """out = eᵃ; ∂out/∂a = eᵃ = out (kept from forward)."""

    __slots__ = ("out",)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.out = np.exp(a)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * self.out,)


class Log(Op):
    """out = ln a; ∂out/∂a = 1/a."""

    __slots__ = ("a",)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return np.log(a)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad / self.a,)


class Abs(Op):
    """out = |a|; ∂out/∂a = sign(a), taken as 0 at a = 0 (a valid subgradient)."""

    __slots__ = ("a",)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return np.abs(a)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * np.sign(self.a),)


def constant(value: np.ndarray | float, dtype: np.dtype | type | None = None) -> Node:
    """A node that is never differentiated (inputs, targets)."""
    return Node(np.asarray(value, dtype=dtype))


def parameter(value: np.ndarray | float, name: str | None = None) -> Node:
    """A leaf whose gradient is wanted (weights, or anything a test probes).

    Integers become float64: a derivative is not an integer.
    """
    value = np.asarray(value)
    if value.dtype.kind != "f":
        value = value.astype(np.float64)
    return Node(value, requires_grad=True, name=name)
