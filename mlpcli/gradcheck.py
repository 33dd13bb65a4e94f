"""Gradient checking: backpropagation against central finite differences, in float64.

For an entry w_i of a parameter tensor,

    numeric_i = (E(w + ε e_i) − E(w − ε e_i)) / (2ε)

which is exact to O(ε²) for a smooth E. An entry passes when
|analytic − numeric| ≤ atol + rtol·|numeric| (docs/design.md, "Testing": ε = 1e-6,
atol = 1e-5, rtol = 1e-3). Large tensors are checked on a random subset of
their entries; the report says how many were checked.

Two entry points: :func:`check_gradients` for a scalar function of named
parameters (a model's error) and :func:`check_op` for one op on given arrays
(used by the tests for every op).

Second derivatives are checked the same way: :func:`check_tangent` compares an
op's R-operator rules (``Op.tangent``, ``Op.backward_tangent``) with central
differences of its forward and backward passes, and :func:`numeric_hvp` and
:func:`second_difference` are the finite-difference oracles for exact
Hessian-vector products (``engine/hessian.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mlpcli.engine import Node, Op, no_grad
from mlpcli.nn.objective import Objective

EPS = 1e-6
ATOL = 1e-5
RTOL = 1e-3


@dataclass(frozen=True)
class TensorCheck:
    """The outcome for one tensor."""

    name: str
    shape: tuple[int, ...]
    checked: int  # entries compared
    size: int  # entries in the tensor
    max_abs_error: float  # max |analytic − numeric|
    max_rel_error: float  # max |analytic − numeric| / max(|analytic|, |numeric|)
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _entries(size: int, max_entries: int | None, rng: np.random.Generator) -> np.ndarray:
    """Flat indices to check: all of them, or ``max_entries`` distinct ones at random."""
    if max_entries is None or size <= max_entries:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_entries, replace=False))


def _compare(
    name: str,
    value: np.ndarray,
    analytic: np.ndarray,
    numeric: np.ndarray,
    checked: int,
    atol: float,
    rtol: float,
) -> TensorCheck:
    diff = np.abs(analytic - numeric)
    scale = np.maximum(np.abs(analytic), np.abs(numeric))
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    return TensorCheck(
        name=name,
        shape=tuple(value.shape),
        checked=checked,
        size=value.size,
        max_abs_error=float(diff.max(initial=0.0)),
        max_rel_error=float(rel.max(initial=0.0)),
        passed=bool(np.all(diff <= atol + rtol * np.abs(numeric))),
    )


def _numeric(f: Callable[[], float], array: np.ndarray, flat: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of f in the given entries of ``array`` (perturbed in place)."""
    view = array.reshape(-1)  # a view: writing it perturbs the array f reads
    out = np.empty(len(flat))
    for k, i in enumerate(flat):
        saved = view[i]
        view[i] = saved + eps
        plus = f()
        view[i] = saved - eps
        minus = f()
        view[i] = saved
        out[k] = (plus - minus) / (2 * eps)
    return out


def check_gradients(
    compute: Callable[[], Node],
    params: Sequence[Node],
    *,
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
    max_entries: int | None = None,
    rng: np.random.Generator | None = None,
) -> list[TensorCheck]:
    """Check ∂E/∂p from backprop against central differences for every tensor p.

    Parameters
    ----------
    compute : () -> Node
        Builds the scalar E from the current values of ``params``.
    params : sequence of Node
        float64 leaves with ``requires_grad``; named for the report.
    max_entries : int, optional
        Check at most this many entries per tensor, drawn with ``rng``.
    """
    for p in params:
        if p.value.dtype != np.float64:
            raise TypeError(f"gradient checks run in float64; {p.name} is {p.value.dtype}")
    rng = rng if rng is not None else np.random.default_rng(0)
    for p in params:
        p.grad = None
    compute().backward()
    analytic = [np.zeros_like(p.value) if p.grad is None else p.grad for p in params]

    def value() -> float:
        with no_grad():
            return float(compute().value)

    results = []
    for i, (p, grad) in enumerate(zip(params, analytic)):
        flat = _entries(p.value.size, max_entries, rng)
        numeric = _numeric(value, p.value, flat, eps)
        name = p.name or f"param{i}"
        results.append(
            _compare(name, p.value, grad.reshape(-1)[flat], numeric, len(flat), atol, rtol)
        )
    return results


def check_op(
    fn: Callable[..., Node],
    *arrays: np.ndarray,
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
    seed: int = 0,
) -> list[TensorCheck]:
    """Check the backward of ``fn`` (nodes -> node) at the given float64 inputs.

    A non-scalar output y is reduced to the scalar Σ r ⊙ y with a fixed random
    r, so every output entry's gradient path is exercised; the analytic side
    runs ``y.backward(r)`` directly, so no other op takes part in the check.
    """
    rng = np.random.default_rng(seed)
    inputs = [
        Node(np.array(a, dtype=np.float64), requires_grad=True, name=f"x{i}")
        for i, a in enumerate(arrays)
    ]
    out = fn(*inputs)
    r = rng.standard_normal(out.value.shape)
    out.backward(r)
    analytic = [np.zeros_like(x.value) if x.grad is None else x.grad for x in inputs]
    for x, g in zip(inputs, analytic):
        if g.shape != x.value.shape:
            raise AssertionError(
                f"{x.name}: gradient shape {g.shape} != value shape {x.value.shape}"
            )

    def value() -> float:
        with no_grad():
            return float(np.sum(r * fn(*inputs).value))

    results = []
    for x, g in zip(inputs, analytic):
        flat = np.arange(x.value.size)
        numeric = _numeric(value, x.value, flat, eps)
        results.append(_compare(x.name, x.value, g.reshape(-1), numeric, len(flat), atol, rtol))
    return results


def check_model(
    objective: Objective,
    x: np.ndarray,
    targets: np.ndarray,
    *,
    max_entries: int | None = None,
    rng: np.random.Generator | None = None,
    nodes: bool = False,
    weights: np.ndarray | None = None,
) -> list[TensorCheck]:
    """Check ∂E/∂w for every parameter of ``objective.model`` on one batch (float64),
    with the batch's class ``weights`` (|B|,) when the loss is weighted.

    With ``nodes=True`` also check ∂E/∂h for the output h of every layer
    (hidden activations and the network outputs y), each probed as a leaf
    from which the rest of the network is recomputed.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    model = objective.model
    # Dropout draws its masks anew on every forward: differences need the same ones.
    same_masks = model.dropout_rewind()

    def error(leaf: Node | np.ndarray = x, start: int = 0) -> Node:
        same_masks()
        return objective(leaf, targets, start=start, weights=weights).total

    results = check_gradients(error, model.parameters(), max_entries=max_entries, rng=rng)
    if nodes:
        h = x
        for i in range(len(model.layers)):
            with no_grad():
                h = model.forward(Node(h), start=i, stop=i + 1).value
            leaf = Node(h.copy(), requires_grad=True, name=f"layers.{i}.output")
            results += check_gradients(
                lambda leaf=leaf, i=i: error(leaf, i + 1),
                [leaf],
                max_entries=max_entries,
                rng=rng,
            )
    return results


# -- second derivatives ---------------------------------------------------------------


def check_tangent(
    make_op: Callable[[], Op],
    *arrays: np.ndarray,
    fixed: Sequence[int] = (),
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
    seed: int = 0,
) -> list[TensorCheck]:
    """Check one op's R-operator rules against central differences, in float64.

    With random directions d_i for the inputs u_i (none for the positions in
    ``fixed``: targets, class indices), an upstream gradient r and a direction
    dr for it:

    * ``tangent`` against (f(u + εd) − f(u − εd)) / 2ε;
    * ``backward_tangent`` against (B(u + εd, r + ε dr) − B(u − εd, r − ε dr)) / 2ε,
      where B(u, r) is the op's backward of r after a forward at u.

    ``make_op()`` must return a fresh op each time (an op keeps its forward's state).
    """
    rng = np.random.default_rng(seed)
    values = [
        np.asarray(a) if i in fixed else np.array(a, dtype=np.float64) for i, a in enumerate(arrays)
    ]
    dirs = [None if i in fixed else rng.standard_normal(v.shape) for i, v in enumerate(values)]

    def run(shift: float) -> tuple[Op, np.ndarray]:
        """A fresh op after its forward at u + shift·d, and its output."""
        op = make_op()
        nodes = [
            Node(v if d is None else v + shift * d, requires_grad=d is not None)
            for v, d in zip(values, dirs)
        ]
        return op, op(*nodes).value

    op, out = run(0.0)
    r, dr = np.asarray(rng.standard_normal(out.shape)), np.asarray(rng.standard_normal(out.shape))
    (op_plus, y_plus), (op_minus, y_minus) = run(eps), run(-eps)
    numeric = (y_plus - y_minus) / (2 * eps)
    results = [
        _compare("tangent", out, _dense(op.tangent(*dirs), out), numeric, out.size, atol, rtol)
    ]
    analytic = op.backward_tangent(r, dr, tuple(dirs))
    grads_plus, grads_minus = op_plus.backward(r + eps * dr), op_minus.backward(r - eps * dr)
    for i, value in enumerate(values):
        if dirs[i] is None:
            continue
        numeric = (grads_plus[i] - grads_minus[i]) / (2 * eps)
        name = f"backward_tangent[{i}]"
        analytic_i = _dense(analytic[i], value)
        results.append(_compare(name, value, analytic_i, numeric, value.size, atol, rtol))
    return results


def _dense(array: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """A tangent rule's None (zero) as zeros of ``like``'s shape."""
    return np.zeros(like.shape) if array is None else np.asarray(array)


def numeric_hvp(
    gradient: Callable[[], list[np.ndarray]],
    params: Sequence[Node],
    vectors: Sequence[np.ndarray],
    eps: float = EPS,
) -> list[np.ndarray]:
    """H v by central differences of exact gradients: (∇E(w + hv) − ∇E(w − hv)) / 2h.

    ``gradient()`` returns ∇E at the parameters' current values. The step h =
    ε (1 + ‖w‖) / ‖v‖ is relative, so the perturbation is the same small
    fraction of w whatever the scale of w and v; the truncation error is O(h²)
    and the rounding error O(u‖∇E‖/h). float64 only.
    """
    w_norm = np.sqrt(sum(np.vdot(p.value, p.value) for p in params))
    v_norm = np.sqrt(sum(np.vdot(v, v) for v in vectors))
    h = eps * (1 + w_norm) / v_norm
    plus, minus = _on_both_sides(lambda: [g.copy() for g in gradient()], params, vectors, h)
    return [(a - b) / (2 * h) for a, b in zip(plus, minus)]


def second_difference(
    value: Callable[[], float], params: Sequence[Node], vectors: Sequence[np.ndarray], h: float
) -> float:
    """vᵀ H v ≈ (E(w + hv) − 2E(w) + E(w − hv)) / h², from values of E alone (float64).

    Independent of every gradient and tangent rule; exact for a quadratic E
    up to rounding, which grows as u·E/h².
    """
    up, down = _on_both_sides(value, params, vectors, h)
    return (up - 2 * value() + down) / (h * h)


def _on_both_sides(
    f: Callable[[], object], params: Sequence[Node], vectors: Sequence[np.ndarray], h: float
) -> tuple[object, object]:
    """(f at w + hv, f at w − hv), the parameters set in place and always put back."""
    saved = [p.value.copy() for p in params]
    try:
        out = []
        for sign in (1.0, -1.0):
            for p, w, v in zip(params, saved, vectors):
                p.value[...] = w + sign * h * v
            out.append(f())
    finally:
        for p, w in zip(params, saved):
            p.value[...] = w
    return out[0], out[1]
