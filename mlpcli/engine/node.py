"""The computational graph: array-valued nodes and reverse-mode differentiation.

A :class:`Node` holds a value (an ndarray), a ``grad`` slot of the same shape,
the nodes it was computed from (``parents``) and the :class:`Op` that computed
it. Calling an op on nodes records a new node; :meth:`Node.backward` on a
scalar walks the recorded graph in reverse topological order and applies the
chain rule, one op at a time::

    x, y, z = Node(3.0, requires_grad=True), Node(-5.0, ...), Node(2.0, ...)
    b = x * y + z          # forward: b = -13
    b.backward()           # x.grad = -5, y.grad = 3, z.grad = 1

Gradients accumulate: a node read by two consumers receives the sum of the
gradients flowing back along both paths (the chain rule's "multiple outputs"
case). Inside :func:`no_grad` nothing is recorded, so evaluation only pays
for the arithmetic.

Every op is one subclass of :class:`Op` with ``forward`` and ``backward``
side by side; the concrete ops live in ``ops.py``, ``activations.py``,
``losses.py`` and ``penalties.py`` of this package.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_grad_enabled = True


class no_grad:  # lower-case, like torch.no_grad: it reads as a function
    """Run ops without recording the graph (evaluation and prediction).

    Inside the block every op returns a plain constant node: no parents are
    kept, so intermediate arrays are freed as soon as they are consumed.
    """

    def __enter__(self) -> None:
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.previous


def is_grad_enabled() -> bool:
    """Whether ops called now record the graph."""
    return _grad_enabled


class Op:
    """One differentiable operation: ``forward`` on arrays, ``backward`` on gradients.

    An op instance is used once: calling it on nodes runs :meth:`forward` on
    their values, keeps on ``self`` only what :meth:`backward` will need, and
    returns the output node. :meth:`backward` receives ∂E/∂output (the
    output's shape) and returns one gradient per input, each of that input's
    exact shape, or ``None`` for an input that needs none.
    ``self.needs_input_grad`` tells which inputs require a gradient, so an op
    can skip an expensive product nobody will read (∂E/∂X of the first layer).
    """

    __slots__ = ("needs_input_grad",)

    def __call__(self, *inputs: Node) -> Node:
        # The hot path of every forward pass: list comprehensions, no generators.
        out = self.forward(*[node.value for node in inputs])
        if _grad_enabled:
            needs = [node.requires_grad for node in inputs]
            if True in needs:
                self.needs_input_grad = needs
                return Node(out, inputs, self, True)
        return Node(out)

    def forward(self, *values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    # -- Pearlmutter's R-operator (engine/hessian.py): directional derivatives ---------
    def tangent(self, *tangents: np.ndarray | None) -> np.ndarray | None:
        """R{out}: the derivative of ``forward`` along input directions ``tangents``.

        R{out} = Σ_i ∂out/∂u_i · R{u_i}, with ``None`` standing for a zero
        direction (inputs that do not depend on the weights). Called after
        ``forward``, from what it kept; returns None when every term is zero.
        """
        raise NotImplementedError(f"{type(self).__name__} has no tangent rule")

    def backward_tangent(
        self,
        grad: np.ndarray,
        grad_tangent: np.ndarray | None,
        tangents: tuple[np.ndarray | None, ...],
    ) -> tuple[np.ndarray | None, ...]:
        """R{backward(grad)}: the derivative of each input's gradient along the directions.

        ``backward`` is linear in ``grad`` and depends on the inputs, so
        R{J_iᵀ g} = J_iᵀ R{g} + (R{J_i})ᵀ g: the first term is ``backward`` of
        ``grad_tangent``, the second carries the op's second derivatives.
        ``None`` means zero, in and out.
        """
        raise NotImplementedError(f"{type(self).__name__} has no backward tangent rule")


def plus(*terms: np.ndarray | None) -> np.ndarray | None:
    """The sum of the terms that are not None (None: every term is zero).

    Tangent rules are sums of products in which a zero direction drops a term.
    """
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


class Node:
    """A value in the graph.

    Parameters
    ----------
    value : array_like
        Stored as an ndarray (a Python number becomes a 0-d array).
    requires_grad : bool
        Leaves that are trained (weights) or probed (gradient checks) set
        this; a node computed by an op requires a gradient exactly when one
        of its inputs does.
    name : str, optional
        For messages and gradient-check tables.
    """

    __slots__ = ("value", "grad", "parents", "op", "requires_grad", "name")

    def __init__(
        self,
        value: np.ndarray | float,
        parents: tuple[Node, ...] = (),
        op: Op | None = None,
        requires_grad: bool = False,
        name: str | None = None,
    ) -> None:
        self.value = value if isinstance(value, np.ndarray) else np.asarray(value)
        self.grad: np.ndarray | None = None
        self.parents = parents
        self.op = op
        self.requires_grad = requires_grad
        self.name = name

    # -- inspection ------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    def __repr__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        op = f", op={type(self.op).__name__}" if self.op is not None else ""
        return f"Node({label}shape={self.value.shape}, dtype={self.value.dtype}{op})"

    def item(self) -> float:
        return self.value.item()

    # -- reverse mode ----------------------------------------------------
    def backward(self, grad: np.ndarray | None = None) -> None:
        """Backpropagate from this node: fill ``.grad`` of every node it depends on.

        With ``grad=None`` the node must hold a single number E and the walk
        starts from ∂E/∂E = 1. Leaves add to whatever ``.grad`` they hold
        (PyTorch's accumulation: clear them between steps, as the optimizer
        does); the gradients of intermediate nodes are recomputed from scratch.
        """
        _backpropagate(self, _topological_order(self), grad)

    def zero_grad(self) -> None:
        self.grad = None

    # -- operator sugar: each builds one op from ops.py ------------------
    def _lift(self, other: object) -> Node:
        # Python numbers take a floating node's dtype: a float64 0-d array would
        # silently upcast a float32 graph. Anything else keeps its own dtype.
        if isinstance(other, Node):
            return other
        if isinstance(other, (int, float)) and self.value.dtype.kind == "f":
            return Node(np.asarray(other, dtype=self.value.dtype))
        return Node(np.asarray(other))

    def __add__(self, other: object) -> Node:
        return ops.Add()(self, self._lift(other))

    def __radd__(self, other: object) -> Node:
        return ops.Add()(self._lift(other), self)

    def __sub__(self, other: object) -> Node:
        return ops.Sub()(self, self._lift(other))

    def __rsub__(self, other: object) -> Node:
        return ops.Sub()(self._lift(other), self)

    def __mul__(self, other: object) -> Node:
        return ops.Mul()(self, self._lift(other))

    def __rmul__(self, other: object) -> Node:
        return ops.Mul()(self._lift(other), self)

    def __truediv__(self, other: object) -> Node:
        return ops.Div()(self, self._lift(other))

    def __rtruediv__(self, other: object) -> Node:
        return ops.Div()(self._lift(other), self)

    def __neg__(self) -> Node:
        return ops.Neg()(self)

    def __pow__(self, exponent: float) -> Node:
        return ops.Pow(exponent)(self)

    def __matmul__(self, other: Node) -> Node:
        return ops.MatMul()(self, self._lift(other))

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Node:
        return ops.Sum(axis, keepdims)(self)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Node:
        return ops.Mean(axis, keepdims)(self)

    def exp(self) -> Node:
        return ops.Exp()(self)

    def log(self) -> Node:
        return ops.Log()(self)

    def abs(self) -> Node:
        return ops.Abs()(self)

    def relu(self) -> Node:
        return activations.Relu()(self)


def _backpropagate(root: Node, order: list[Node], grad: np.ndarray | None) -> None:
    """The chain rule over ``order`` (``root``'s graph, inputs first), from the root back."""
    if grad is None:
        if root.value.size != 1:
            raise ValueError(
                f"backward() without a gradient needs a scalar, got shape {root.value.shape}"
            )
        grad = np.ones(root.value.shape, root.value.dtype)
    for node in order:  # intermediate results start afresh; leaves accumulate
        node.grad = None
    _accumulate(root, grad)
    for node in reversed(order):
        if node.grad is None:  # every path from the root to it was cut
            continue
        for parent, g in zip(node.parents, node.op.backward(node.grad)):
            if g is None or not parent.requires_grad:
                continue
            # Inlined _accumulate: this loop runs once per edge of the graph.
            parent.grad = g if parent.grad is None else parent.grad + g


class Graph:
    """A recorded computation, replayed on new values without being rebuilt.

    Training evaluates the same graph at every step; only the input values
    change. Recording it once and replaying it skips, per step, creating every
    op and node and sorting them, which at batch size 1 costs more than the
    arithmetic. Set the new values on the leaves (a batch's inputs, targets
    and weights), then call :meth:`forward` and :meth:`backward`. Every op re-runs
    its own ``forward``, so the result is exactly that of a fresh graph.
    """

    __slots__ = ("order", "root")

    def __init__(self, root: Node) -> None:
        self.root = root
        self.order = _topological_order(root)  # op nodes, each after its inputs

    def forward(self) -> np.ndarray:
        for node in self.order:
            node.value = node.op.forward(*[parent.value for parent in node.parents])
        return self.root.value

    def backward(self, grad: np.ndarray | None = None) -> None:
        _backpropagate(self.root, self.order, grad)


def _accumulate(node: Node, grad: np.ndarray) -> None:
    # The first gradient is stored as is (no copy); it may be the very array
    # another node holds (Add passes its gradient to both inputs), so a
    # second contribution is summed into a new array rather than in place.
    if node.grad is None:
        node.grad = grad
    else:
        node.grad = node.grad + grad


def _topological_order(root: Node) -> list[Node]:
    """Nodes computed by ops that ``root`` depends on, each after its inputs.

    Leaves are left out: they have no op to run backward through.
    Iterative depth-first search, so deep graphs do not hit the recursion limit.
    """
    order: list[Node] = []
    if root.op is None:
        return order
    visited = {id(root)}
    stack: list[tuple[Node, Iterator[Node]]] = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent.op is not None and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


from . import activations, ops  # noqa: E402  (they subclass Op, defined above)
