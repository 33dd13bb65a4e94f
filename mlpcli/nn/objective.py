"""The error function minimized by training (docs/design.md, "The math").

    E(w) = (1/|B|) Σ_{n∈B} c_{t_n} L(t_n, y(x_n; w)) + (λ/N) Ω(w)

on a minibatch B of a training set of N examples, with class weights c_k
(all 1 unless ``data.class_weight``) scaled so that their mean over the
training rows is 1. In batch mode (B = the whole set) the data term is the
weighted mean Σ c L / Σ c exactly; on smaller batches it is an unbiased
estimate of it, so the same λ and learning rate mean the same model at any
batch size, with or without class weights.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mlpcli.engine import Graph, Node
from mlpcli.nn.heads import Head
from mlpcli.nn.model import MLP
from mlpcli.nn.regularizers import Regularizer


class ErrorNodes(NamedTuple):
    """The nodes of one forward pass: E, its data term, and the network outputs y."""

    total: Node
    data: Node
    outputs: Node


class Objective:
    """E as a function of a batch, for one model, head and regularizer.

    Parameters
    ----------
    n_train : int
        N, the training-set size the penalty is divided by.
    include_bias : bool
        Penalize biases too (by default only weight matrices are).
    """

    def __init__(
        self,
        model: MLP,
        head: Head,
        regularizer: Regularizer | None = None,
        n_train: int = 1,
        include_bias: bool = False,
    ) -> None:
        self.model, self.head, self.regularizer = model, head, regularizer
        self.n_train, self.include_bias = n_train, include_bias
        self.penalized = model.parameters() if include_bias else model.weights()
        self._recorded: tuple[ErrorNodes, Graph, Node, Node, Node | None] | None = None

    def __call__(
        self,
        x: np.ndarray | Node,
        targets: np.ndarray,
        start: int = 0,
        weights: np.ndarray | None = None,
    ) -> ErrorNodes:
        """Forward pass on prepared inputs ``x`` (|B|, D'), encoded ``targets`` and, with
        class weights, each example's weight (|B|,).

        ``x`` may be a node, and ``start`` a later layer (see :meth:`MLP.forward`).
        """
        w = None if weights is None else Node(weights)
        return self._record(x if isinstance(x, Node) else Node(x), Node(targets), start, w)

    def _record(self, x: Node, t: Node, start: int = 0, w: Node | None = None) -> ErrorNodes:
        outputs = self.model.forward(x, start, training=True)
        data = self.head.loss(outputs, t, w)
        total = data
        if self.regularizer is not None:
            penalty = self.regularizer.penalty(self.penalized, self.n_train)
            if penalty is not None:
                total = data + penalty
        return ErrorNodes(total, data, outputs)

    def step(
        self, x: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None
    ) -> ErrorNodes:
        """E on a training batch, replaying the graph that the first call recorded.

        The graph of E has the same structure for every batch; only its leaves
        of data change (the inputs x, the targets t and, with class weights, the
        weights w), and the batch size may. Returns the same nodes each time,
        with new values; call :meth:`backward` for the gradients.
        """
        if self._recorded is None:
            x_node, t_node = Node(x), Node(targets)
            w_node = None if weights is None else Node(weights)
            e = self._record(x_node, t_node, 0, w_node)
            self._recorded = (e, Graph(e.total), x_node, t_node, w_node)
            return e
        e, graph, x_node, t_node, w_node = self._recorded
        x_node.value, t_node.value = x, targets
        if w_node is not None:
            w_node.value = weights
        graph.forward()
        return e

    def backward(self) -> None:
        """Backpropagate through the graph of the last :meth:`step`."""
        self._recorded[1].backward()


def error(
    model: MLP,
    x: np.ndarray,
    targets: np.ndarray,
    head: Head,
    regularizer: Regularizer | None = None,
    n_train: int | None = None,
    include_bias: bool = False,
) -> Node:
    """The scalar node E on one batch; ``n_train`` defaults to the batch size (batch mode)."""
    objective = Objective(model, head, regularizer, n_train or len(x), include_bias)
    return objective(x, targets).total
