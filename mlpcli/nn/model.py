"""The multi-layer perceptron: fixed input transforms, then linear layers and activations.

    x ─▶ standardize ─▶ φ ─▶ Linear ─▶ h ─▶ … ─▶ Linear ─▶ h_out ─▶ y
                                  (one per hidden size)

``hidden=[]`` is the perceptron: a single linear layer from the (possibly
φ-transformed) inputs to the outputs. The output activation is ``identity``
(logits) for the losses that fuse their own squashing (sigmoid or softmax
inside the loss), or a choice for squared error (DESIGN §3).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from mlpcli.engine import Node, no_grad
from mlpcli.nn.activations import ACTIVATIONS, INPLACE
from mlpcli.nn.features import BasisFunctions, Standardizer
from mlpcli.nn.layers import Linear


class MLP:
    """A feed-forward network ``n_inputs -> hidden[0] -> … -> n_outputs``.

    Parameters
    ----------
    n_inputs : int
        Columns of the raw input X (before φ).
    hidden : sequence of int
        Hidden layer sizes; empty for the perceptron.
    n_outputs : int
        Output nodes (decided by the loss from the task, see ``nn.losses``).
    activation : str or sequence of str
        One activation name for every hidden layer, or one per hidden layer.
    output_activation : str
        Applied to the last layer's pre-activations.
    init, init_kwargs :
        Weight initializer (``nn.layers.INITIALIZERS``) and its parameters.
    dtype :
        Of every parameter and of the prepared inputs.
    standardizer, basis :
        Fixed input transforms applied in that order by :meth:`prepare`.
    """

    def __init__(
        self,
        n_inputs: int,
        hidden: Sequence[int],
        n_outputs: int,
        *,
        activation: str | Sequence[str] = "relu",
        output_activation: str = "identity",
        init: str = "he",
        init_kwargs: dict[str, Any] | None = None,
        dtype: np.dtype | type = np.float32,
        standardizer: Standardizer | None = None,
        basis: BasisFunctions | None = None,
    ) -> None:
        self.n_inputs, self.hidden, self.n_outputs = n_inputs, list(hidden), n_outputs
        if isinstance(activation, str):
            activation = [activation] * len(self.hidden)
        if len(activation) != len(self.hidden):
            raise ValueError(
                f"{len(activation)} activations given for {len(self.hidden)} hidden layers"
            )
        self.activations = [*activation, output_activation]
        # op factories per layer, looked up once; identity adds no node to the graph
        self._activation_ops = [
            None
            if name == "identity"
            else partial(ACTIVATIONS[name], inplace=True)
            if name in INPLACE
            else ACTIVATIONS[name]
            for name in self.activations
        ]
        self.dtype = np.dtype(dtype)
        self.standardizer, self.basis = standardizer, basis
        width_in = basis.n_features(n_inputs) if basis is not None else n_inputs
        sizes = [width_in, *self.hidden, n_outputs]
        self.layers = [
            Linear(a, b, init=init, init_kwargs=init_kwargs, dtype=self.dtype, name=f"layers.{i}")
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        ]
        self._stack = list(zip(self.layers, self._activation_ops))

    # -- parameters --------------------------------------------------------
    def reset_parameters(self, rng: np.random.Generator) -> None:
        for layer in self.layers:
            layer.reset_parameters(rng)

    def parameters(self) -> list[Node]:
        """[W₀, b₀, W₁, b₁, …] in layer order."""
        return [p for layer in self.layers for p in (layer.weight, layer.bias)]

    def weights(self) -> list[Node]:
        """The weight matrices only (what a regularizer sees unless biases are included)."""
        return [layer.weight for layer in self.layers]

    def named_parameters(self) -> dict[str, Node]:
        return {p.name: p for p in self.parameters()}

    # -- computation -------------------------------------------------------
    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs (N, n_inputs) -> first-layer inputs (N, D'), in the model's dtype."""
        x = np.asarray(x, dtype=self.dtype)
        if self.standardizer is not None:
            x = self.standardizer(x)
        if self.basis is not None:
            x = self.basis(x)
        return x

    def forward(self, h: Node, start: int = 0, stop: int | None = None) -> Node:
        """Prepared inputs (N, D') -> outputs y (N, n_outputs), recorded in the graph.

        With ``start=i``, ``h`` is the input of layer i (the output of layer
        i − 1) and only layers i, i+1, … (up to ``stop``) run: gradient checks
        use it to probe ∂E/∂h at every depth.
        """
        stack = self._stack if start == 0 and stop is None else self._stack[start:stop]
        for layer, make_op in stack:
            h = layer(h)
            if make_op is not None:
                h = make_op()(h)
        return h

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs -> outputs as an array, without recording a graph."""
        with no_grad():
            return self.forward(Node(self.prepare(x))).value

    def __repr__(self) -> str:
        sizes = " -> ".join(
            str(n) for n in [self.layers[0].in_features, *self.hidden, self.n_outputs]
        )
        return f"MLP({sizes}, activations={self.activations})"
