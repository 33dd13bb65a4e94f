"""Primitive ops: arithmetic with broadcasting, products, reductions, elementwise math.

Each class is one op: ``forward`` computes the value from the input arrays and
keeps what ``backward`` needs; ``backward`` maps ∂E/∂out to one ∂E/∂input per
input. Where NumPy broadcast an input in ``forward``, ``backward`` sums the
gradient back to that input's own shape (:func:`unbroadcast`).

Beside them, ``tangent`` and ``backward_tangent`` are the op's R-operator
rules (``Op.tangent``, ``engine/hessian.py``): the directional derivatives of
``forward`` and of ``backward``, from which Hessian-vector products follow.
A ``None`` direction is zero.
"""

from __future__ import annotations

import numpy as np

from .node import Node, Op, plus


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

    def tangent(self, da, db):
        return _broadcast(plus(da, db), self.shapes)

    def backward_tangent(self, grad, grad_tangent, tangents):
        if grad_tangent is None:
            return None, None
        return self.backward(grad_tangent)


class Sub(Op):
    """out = a − b; ∂out/∂a = 1, ∂out/∂b = −1."""

    __slots__ = ("shapes",)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])

    def tangent(self, da, db):
        return _broadcast(plus(da, None if db is None else -db), self.shapes)

    def backward_tangent(self, grad, grad_tangent, tangents):
        if grad_tangent is None:
            return None, None
        return self.backward(grad_tangent)


class Mul(Op):
    """out = a · b elementwise; ∂out/∂a = b, ∂out/∂b = a (the lecture's "gradient switcher")."""

    __slots__ = ("a", "b")

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(grad * self.b, self.a.shape), unbroadcast(grad * self.a, self.b.shape)

    def tangent(self, da, db):  # R{a b} = R{a} b + a R{b}
        return _broadcast(
            plus(_times(da, self.b), _times(self.a, db)), (self.a.shape, self.b.shape)
        )

    def backward_tangent(self, grad, grad_tangent, tangents):
        da, db = tangents
        ga = plus(_times(grad_tangent, self.b), _times(grad, db))
        gb = plus(_times(grad_tangent, self.a), _times(grad, da))
        return _unbroadcast(ga, self.a.shape), _unbroadcast(gb, self.b.shape)


class Div(Op):
    """out = a / b; ∂out/∂a = 1/b, ∂out/∂b = −a/b²."""

    __slots__ = ("a", "b")

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a / b

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ga = grad / self.b
        return unbroadcast(ga, self.a.shape), unbroadcast(-ga * self.a / self.b, self.b.shape)

    def tangent(self, da, db):  # R{a/b} = R{a}/b − a R{b}/b²
        a, b = self.a, self.b
        return _broadcast(
            plus(None if da is None else da / b, None if db is None else -a * db / (b * b)),
            (a.shape, b.shape),
        )

    def backward_tangent(self, grad, grad_tangent, tangents):
        # ga = g/b, gb = −g a/b²; differentiate each in g, a and b
        (da, db), a, b, g, dg = tangents, self.a, self.b, grad, grad_tangent
        ga = plus(None if dg is None else dg / b, None if db is None else -g * db / (b * b))
        gb = plus(
            None if dg is None else -dg * a / (b * b),
            None if da is None else -g * da / (b * b),
            None if db is None else 2 * g * a * db / (b * b * b),
        )
        return _unbroadcast(ga, a.shape), _unbroadcast(gb, b.shape)


class Neg(Op):
    """out = −a."""

    __slots__ = ()

    def forward(self, a: np.ndarray) -> np.ndarray:
        return -a

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (-grad,)

    def tangent(self, da):
        return None if da is None else -da

    def backward_tangent(self, grad, grad_tangent, tangents):
        return (None if grad_tangent is None else -grad_tangent,)


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

    def tangent(self, da):
        return None if da is None else self.p * self.a ** (self.p - 1) * da

    def backward_tangent(self, grad, grad_tangent, tangents):
        (da,), p, a = tangents, self.p, self.a
        return (
            plus(
                None if grad_tangent is None else grad_tangent * p * a ** (p - 1),
                None if da is None else grad * p * (p - 1) * a ** (p - 2) * da,
            ),
        )


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
        return _matmul_grads(grad, self.a, self.b, *self.needs_input_grad)

    def tangent(self, da, db):  # R{a b} = R{a} b + a R{b}
        return plus(None if da is None else da @ self.b, None if db is None else self.a @ db)

    def backward_tangent(self, grad, grad_tangent, tangents):
        # ∂E/∂a = g bᵀ and ∂E/∂b = aᵀ g are bilinear: R{g bᵀ} = R{g} bᵀ + g R{b}ᵀ
        (da, db), (need_a, need_b) = tangents, self.needs_input_grad
        ga = gb = None
        if grad_tangent is not None:
            ga, gb = _matmul_grads(grad_tangent, self.a, self.b, need_a, need_b)
        if db is not None and need_a:
            ga = plus(ga, _matmul_grads(grad, self.a, db, True, False)[0])
        if da is not None and need_b:
            gb = plus(gb, _matmul_grads(grad, da, self.b, False, True)[1])
        return ga, gb


def _matmul_grads(
    grad: np.ndarray, a0: np.ndarray, b0: np.ndarray, need_a: bool, need_b: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(∂E/∂a, ∂E/∂b) of out = a @ b for ∂E/∂out = ``grad``; vectors as a row (a) or column (b)."""
    if a0.ndim == 1 and b0.ndim == 1:  # inner product: a scalar out
        return grad * b0, grad * a0
    a = a0[np.newaxis, :] if a0.ndim == 1 else a0
    b = b0[:, np.newaxis] if b0.ndim == 1 else b0
    g = grad
    if a0.ndim == 1:
        g = np.expand_dims(g, -2)
    if b0.ndim == 1:
        g = np.expand_dims(g, -1)
    ga = gb = None
    if need_a:
        ga = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape).reshape(a0.shape)
    if need_b:
        gb = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape).reshape(b0.shape)
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

    def tangent(self, dx, dw, db):
        """R{X Wᵀ + b} = R{X} Wᵀ + X R{W}ᵀ + R{b}."""
        out = plus(None if dx is None else dx @ self.w.T, None if dw is None else self.x @ dw.T)
        if db is None:
            return out
        if out is None:
            return np.broadcast_to(db, (len(self.x), len(db))).copy()
        out += db  # a fresh product: ours to change
        return out

    def backward_tangent(self, grad, grad_tangent, tangents):
        """R{G W} = R{G} W + G R{W};  R{Gᵀ X} = R{G}ᵀ X + Gᵀ R{X};  R{Σ G} = Σ R{G}."""
        (dx, dw, _), dg = tangents, grad_tangent
        need_x, need_w, need_b = self.needs_input_grad
        gx = gw = gb = None
        if need_x:
            gx = plus(None if dg is None else dg @ self.w, None if dw is None else grad @ dw)
        if need_w:
            gw = plus(None if dg is None else dg.T @ self.x, None if dx is None else grad.T @ dx)
        if need_b and dg is not None:
            gb = np.add.reduce(dg, axis=0)
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

    def tangent(self, da):  # linear: R{Σ a} = Σ R{a}
        return None if da is None else self.forward(da)

    def backward_tangent(self, grad, grad_tangent, tangents):
        return (None,) if grad_tangent is None else self.backward(grad_tangent)


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

    # Mean is linear too: Sum's tangent rules, through Mean's own forward and backward.


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

    def tangent(self, da):
        return None if da is None else self.out * da

    def backward_tangent(self, grad, grad_tangent, tangents):
        (da,) = tangents
        return (plus(_times(grad_tangent, self.out), _times(grad * self.out, da)),)


class Log(Op):
    """out = ln a; ∂out/∂a = 1/a."""

    __slots__ = ("a",)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return np.log(a)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad / self.a,)

    def tangent(self, da):
        return None if da is None else da / self.a

    def backward_tangent(self, grad, grad_tangent, tangents):
        (da,), a = tangents, self.a
        return (
            plus(
                None if grad_tangent is None else grad_tangent / a,
                None if da is None else -grad * da / (a * a),
            ),
        )


class Abs(Op):
    """out = |a|; ∂out/∂a = sign(a), taken as 0 at a = 0 (a valid subgradient)."""

    __slots__ = ("a",)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return np.abs(a)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
        return (grad * np.sign(self.a),)

    def tangent(self, da):
        return None if da is None else np.sign(self.a) * da

    def backward_tangent(self, grad, grad_tangent, tangents):  # |a|'' = 0 away from the kink
        return (None if grad_tangent is None else grad_tangent * np.sign(self.a),)


def _times(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """a · b, or None (zero) when either factor is."""
    return None if a is None or b is None else a * b


def _broadcast(
    tangent: np.ndarray | None, shapes: tuple[tuple[int, ...], ...]
) -> np.ndarray | None:
    """A tangent stretched to the broadcast shape of an elementwise op's output."""
    shape = np.broadcast_shapes(*shapes)
    if tangent is None or tangent.shape == shape:
        return tangent
    return np.broadcast_to(tangent, shape).copy()


def _unbroadcast(grad: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    return None if grad is None else unbroadcast(grad, shape)


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
