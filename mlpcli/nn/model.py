"""The multi-layer perceptron: its input transform, then linear layers and activations.

    x ─▶ standardize ─▶ φ ─▶ Linear ─▶ h ─▶ [dropout] ─▶ … ─▶ Linear ─▶ h_out ─▶ y
         └─ inputs (fixed) ─┘     (one per hidden size)

``hidden=[]`` is the perceptron: a single linear layer from the (possibly
φ-transformed) inputs to the outputs. The output activation is ``identity``
(logits) for the losses that fuse their own squashing (sigmoid or softmax
inside the loss), or a choice for squared error (``nn/heads.py``).

Two input spaces, never mixed up: *raw* inputs (N, n_inputs) as read from a
file, and *prepared* inputs (N, D') after the model's input transform. The
graph (:meth:`MLP.forward`) takes prepared inputs, as training batches are;
:meth:`MLP.outputs` takes either and must be told which.

Likewise two output spaces when a regression model trains on standardized
targets (``nn/outputs.py``): the graph computes ŷ in standardized units,
which is what E and its gradients see; :meth:`MLP.outputs` returns y = ŷ s + μ
in the targets' own units, which is what every reader of the model sees.

Training and evaluation differ only in dropout, and the caller says which
(``forward(..., training=True)``, as the objective of E does), like PyTorch's
``model.train()``/``model.eval()`` but without a mode to forget to switch back:
:meth:`MLP.outputs` (validation, ``mlp eval``, ``mlp predict``) never drops.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from mlpcli.engine import Dropout, Node, no_grad
from mlpcli.nn.activations import ACTIVATIONS, INPLACE
from mlpcli.nn.inputs import InputTransform
from mlpcli.nn.layers import Linear
from mlpcli.nn.outputs import TargetScale

#: Rows per forward pass in :meth:`MLP.outputs`: bounds the memory of activations.
CHUNK = 8192


class MLP:
    """A feed-forward network ``n_inputs -> hidden[0] -> … -> n_outputs``.

    Parameters
    ----------
    n_inputs : int
        Columns of the raw inputs x (before the input transform).
    hidden : sequence of int
        Hidden layer sizes; empty for the perceptron.
    n_outputs : int
        Output nodes (decided by the head from the task, see ``nn/heads.py``).
    activation : str or sequence of str
        One activation name for every hidden layer, or one per hidden layer.
    output_activation : str
        Applied to the last layer's pre-activations.
    init, init_kwargs :
        Weight initializer (``nn.layers.INITIALIZERS``) and its parameters.
    dtype :
        Of every parameter and of the prepared inputs.
    inputs : InputTransform, optional
        The fitted standardization and basis functions (none: the identity).
    target_scale : TargetScale, optional
        μ and s of standardized regression targets (none: outputs are in target units).
    dropout : float or sequence of float
        Dropout rate after each hidden layer's activation (one for all, or one
        per hidden layer), in training only.
    dropout_rng : numpy Generator, optional
        Draws the dropout masks; needed when a rate is above 0 and the model trains.
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
        inputs: InputTransform | None = None,
        target_scale: TargetScale | None = None,
        dropout: float | Sequence[float] = 0.0,
        dropout_rng: np.random.Generator | None = None,
    ) -> None:
        self.n_inputs, self.hidden, self.n_outputs = n_inputs, list(hidden), n_outputs
        if isinstance(activation, str):
            activation = [activation] * len(self.hidden)
        if len(activation) != len(self.hidden):
            raise ValueError(
                f"{len(activation)} activations given for {len(self.hidden)} hidden layers"
            )
        self.activations = [*activation, output_activation]
        self._activation_ops = self._make_activation_ops(inplace=True)
        self.dtype = np.dtype(dtype)
        self.inputs = inputs if inputs is not None else InputTransform(n_inputs)
        self.target_scale = target_scale
        sizes = [self.inputs.n_features, *self.hidden, n_outputs]
        self.layers = [
            Linear(a, b, init=init, init_kwargs=init_kwargs, dtype=self.dtype, name=f"layers.{i}")
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        ]
        if isinstance(dropout, (int, float)):
            dropout = [dropout] * len(self.hidden)
        if len(dropout) != len(self.hidden):
            raise ValueError(f"{len(dropout)} dropout rates given for {len(self.hidden)} layers")
        self.dropout, self.dropout_rng = [float(p) for p in dropout], dropout_rng
        self._stack = self._make_stack(self._activation_ops)

    def _make_stack(self, activation_ops: list) -> list:
        """(layer, activation op factory, dropout rate) per layer; never dropout on the outputs."""
        return list(zip(self.layers, activation_ops, [*self.dropout, 0.0]))

    def _make_activation_ops(self, inplace: bool) -> list:
        """Op factories per layer, looked up once; identity adds no node to the graph."""
        return [
            None
            if name == "identity"
            else partial(ACTIVATIONS[name], inplace=True)
            if inplace and name in INPLACE
            else ACTIVATIONS[name]
            for name in self.activations
        ]

    def out_of_place(self) -> MLP:
        """The same network, sharing its parameters, with every activation in a new array.

        Training runs ReLU and tanh in place on the pre-activations, so a
        pre-activation node ends up holding h(a) (docs/design.md). A graph
        built by this copy keeps a and h(a) apart, for showing every node's
        value (``mlp graph --values``); its arithmetic is the same.
        """
        clone = copy.copy(self)
        clone._activation_ops = self._make_activation_ops(inplace=False)
        clone._stack = clone._make_stack(clone._activation_ops)
        return clone

    # -- parameters --------------------------------------------------------
    def reset_parameters(self, rng: np.random.Generator) -> None:
        for layer in self.layers:
            layer.reset_parameters(rng)

    def parameters(self) -> list[Node]:
        """[W₀, b₀, W₁, b₁, …] in layer order."""
        return [p for layer in self.layers for p in (layer.weight, layer.bias)]

    def dropout_rewind(self) -> Callable[[], None]:
        """A function that puts the dropout stream back where it is now, so that the
        forwards after each call draw the same masks (finite differences; scan runs from
        one start). Without dropout it does nothing."""
        stream = self.dropout_rng
        if stream is None:
            return lambda: None
        state = stream.bit_generator.state

        def rewind() -> None:
            stream.bit_generator.state = state

        return rewind

    def weights(self) -> list[Node]:
        """The weight matrices only (what a regularizer sees unless biases are included)."""
        return [layer.weight for layer in self.layers]

    # -- computation -------------------------------------------------------
    def forward(
        self, h: Node, start: int = 0, stop: int | None = None, *, training: bool = False
    ) -> Node:
        """Prepared inputs (N, D') -> outputs y (N, n_outputs), recorded in the graph.

        With ``start=i``, ``h`` is the input of layer i (the output of layer
        i − 1) and only layers i, i+1, … (up to ``stop``) run: gradient checks
        use it to probe ∂E/∂h at every depth. ``training=True`` applies dropout
        (a fresh mask from ``dropout_rng`` each time the graph runs).
        """
        stack = self._stack if start == 0 and stop is None else self._stack[start:stop]
        for layer, make_op, rate in stack:
            h = layer(h)
            if make_op is not None:
                h = make_op()(h)
            if training and rate > 0:
                if self.dropout_rng is None:
                    raise ValueError("dropout in training needs the model's dropout_rng")
                h = Dropout(rate, self.dropout_rng)(h)
        return h

    def outputs(self, x: np.ndarray, *, raw: bool, rows: np.ndarray | None = None) -> np.ndarray:
        """Outputs y (N, n_outputs) as an array, in the targets' units, without a graph.

        ``raw=True``: ``x`` holds raw inputs (N, n_inputs), transformed chunk
        by chunk; ``raw=False``: ``x`` is already prepared (N, D'), as a
        split's inputs are. ``rows`` selects rows of ``x`` (default all).
        Runs in chunks of :data:`CHUNK` rows, so memory stays bounded.
        Standardized targets are mapped back (:meth:`in_target_units`).
        """
        n = len(x) if rows is None else len(rows)
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        with no_grad():
            for a in range(0, n, CHUNK):
                b = min(a + CHUNK, n)
                xb = x[a:b] if rows is None else x[rows[a:b]]
                if raw:  # a Table (text columns) goes to the encoder as it is
                    xb = self.inputs(xb if self.inputs.encoder else np.asarray(xb, self.dtype))
                out[a:b] = self.forward(Node(xb)).value
        return self.in_target_units(out, inplace=True)

    def in_target_units(self, outputs: np.ndarray, inplace: bool = False) -> np.ndarray:
        """The graph's outputs ŷ -> y in the targets' units (the same array without a scale)."""
        if self.target_scale is None:
            return outputs
        return self.target_scale.decode(outputs, inplace=inplace)

    def __repr__(self) -> str:
        sizes = " -> ".join(
            str(n) for n in [self.layers[0].in_features, *self.hidden, self.n_outputs]
        )
        return f"MLP({sizes}, activations={self.activations})"
