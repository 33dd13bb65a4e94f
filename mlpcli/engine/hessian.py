"""Hessian-vector products by Pearlmutter's R-operator (forward-over-reverse).

For a scalar E(w) and a direction v, H v = d/dε ∇E(w + ε v) at ε = 0: the
directional derivative of the gradient. The R-operator R{·} = d/dε (·) at
ε = 0, applied to every line of the forward and the backward pass, gives it
exactly (no step size, only rounding) for about the cost of two more passes:

1. forward: R{w} = v at the weights; each op maps its inputs' R{u} to R{out}
   (``Op.tangent``);
2. backward: each op maps (∂E/∂out, R{∂E/∂out}) to R{∂E/∂u} for its inputs
   (``Op.backward_tangent``), starting from ∂E/∂E = 1, R{1} = 0.

At the weights, R{∂E/∂w} = H v. Every op's two rules are checked against
central differences (``gradcheck.check_tangent``), and H v against central
differences of the gradient (``gradcheck.numeric_hvp``). Pearlmutter (1994),
"Fast exact multiplication by the Hessian", Neural Computation 6(1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .node import Node, _topological_order


def _add(table: dict[int, np.ndarray], key: int, value: np.ndarray) -> None:
    # Never in place: the first array stored may be shared with another node.
    table[key] = value if key not in table else table[key] + value


class HessianVectorProduct:
    """v ↦ H v for a recorded scalar ``root`` and its parameter leaves, at their values.

    Building it runs one backward pass and keeps every node's gradient
    (``gradient`` holds ∂E/∂w per parameter); each call runs the two tangent
    passes for one direction. The graph must not be run again meanwhile: the
    rules read what each op kept from its forward pass.

    Parameters
    ----------
    root : Node
        The scalar E, computed with gradients enabled.
    params : sequence of Node
        The leaves w (``requires_grad``); H is the Hessian in all of them.
    """

    def __init__(self, root: Node, params: Sequence[Node]) -> None:
        if root.value.size != 1:
            raise ValueError(f"a Hessian needs a scalar, got shape {root.value.shape}")
        self.params = list(params)
        self.order = _topological_order(root)
        grads = {id(root): np.ones(root.value.shape, root.value.dtype)}
        for node in reversed(self.order):
            g = grads.get(id(node))
            if g is None:
                continue
            for parent, gp in zip(node.parents, node.op.backward(g)):
                if gp is not None and parent.requires_grad:
                    _add(grads, id(parent), gp)
        self.grads = grads
        self.gradient = [self._of(grads, p) for p in self.params]

    @staticmethod
    def _of(table: dict[int, np.ndarray], p: Node) -> np.ndarray:
        value = table.get(id(p))
        return np.zeros_like(p.value) if value is None else value

    def __call__(self, vectors: Sequence[np.ndarray | None]) -> list[np.ndarray]:
        """H v, one array per parameter; ``vectors`` are v's parts (None: zero there).

        A direction that is zero outside one tensor (None elsewhere) skips the
        work that a zero would only multiply: the block products of ``mlp lr``.
        """
        tangents = {id(p): v for p, v in zip(self.params, vectors) if v is not None}
        for node in self.order:
            ins = [tangents.get(id(parent)) for parent in node.parents]
            if any(t is not None for t in ins):
                out = node.op.tangent(*ins)
                if out is not None:
                    tangents[id(node)] = out
        dgrads: dict[int, np.ndarray] = {}
        for node in reversed(self.order):
            g = self.grads.get(id(node))
            if g is None:
                continue
            ins = tuple(tangents.get(id(parent)) for parent in node.parents)
            dg = dgrads.get(id(node))
            if dg is None and all(t is None for t in ins):
                continue  # no direction reaches this node from either side
            for parent, dgp in zip(node.parents, node.op.backward_tangent(g, dg, ins)):
                if dgp is not None and parent.requires_grad:
                    _add(dgrads, id(parent), dgp)
        return [self._of(dgrads, p) for p in self.params]
