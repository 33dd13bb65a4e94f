"""Output heads: what the config's ``loss`` decides besides the loss op itself.

A head is named by the config's ``loss`` value and decides four things the
network does not (docs/design.md, "The math": targets):

* how many output nodes a task needs: two classes use one output node,
  K > 2 classes use K (cross-entropy always uses one per class);
* how class indices become targets: t ∈ {0, 1} (squared error, binary
  cross-entropy), t ∈ {−1, +1} (binary hinge), one-hot rows (squared error
  and binary cross-entropy with K > 2), or the class index itself
  (cross-entropy, multi-class hinge);
* how outputs become a predicted class (argmax for K outputs; for one output
  logit > 0, or output > 0.5 for squared error) and, where the loss defines
  them, class probabilities;
* which fused loss op of the engine computes (1/N) Σ_n L(t_n, y_n).

Class indices are positions in the sorted list of distinct training labels.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mlpcli.engine import (
    BinaryCrossEntropy,
    Hinge,
    MulticlassHinge,
    Node,
    Op,
    SoftmaxCrossEntropy,
    SquaredError,
    sigmoid,
    softmax,
)


def one_hot(classes: np.ndarray, n_classes: int, dtype: np.dtype | type) -> np.ndarray:
    """(N,) class indices -> (N, n_classes) rows with a single 1."""
    out = np.zeros((len(classes), n_classes), dtype=dtype)
    out[np.arange(len(classes)), classes] = 1
    return out


class Head:
    """Base class: one loss function and how it reads targets and outputs."""

    name: ClassVar[str]
    #: Tasks the loss makes sense for.
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    #: Output activations the model may apply before this loss.
    output_activations: ClassVar[tuple[str, ...]] = ("identity",)
    #: Whether :meth:`probabilities` gives class probabilities.
    gives_probabilities: ClassVar[bool] = False

    def n_outputs(self, n_classes: int) -> int:
        """Output nodes for ``n_classes`` classes: 1 for two, else one per class."""
        return 1 if n_classes == 2 else n_classes

    def encode(self, classes: np.ndarray, n_classes: int, dtype: np.dtype | type) -> np.ndarray:
        """(N,) class indices -> the target array the loss op compares outputs with."""
        if n_classes == 2:
            return (classes == 1).astype(dtype)[:, None]
        return one_hot(classes, n_classes, dtype)

    def op(self, targets: np.ndarray) -> Op:
        """A fresh engine op computing (1/N) Σ_n L(t_n, y_n) for targets shaped like these."""
        raise NotImplementedError

    def loss(self, outputs: Node, targets: Node, weights: Node | None = None) -> Node:
        """The data term of E: outputs y (N, K), targets (as :meth:`encode` makes them) and
        optionally per-example weights (N,): (1/N) Σ_n w_n L_n."""
        if weights is None:
            return self.op(targets.value)(outputs, targets)
        return self.op(targets.value)(outputs, targets, weights)

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        """(N, K) outputs -> (N,) class indices."""
        if outputs.shape[1] == 1:
            return (outputs[:, 0] > 0).astype(np.intp)
        return outputs.argmax(axis=1)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray | None:
        """(N, K) outputs -> (N, n_classes) class probabilities, or None."""
        return None

    def scores(self, outputs: np.ndarray) -> np.ndarray | None:
        """(N, K) decision scores where the loss defines no probabilities, or None."""
        return None


class SquaredErrorHead(Head):
    """½ Σ_k (y_k − t_k)²: regression, or classification with 0/1 (one-hot) targets."""

    name = "squared_error"
    tasks = ("regression", "classification")
    output_activations = ("identity", "sigmoid", "tanh")

    def op(self, targets: np.ndarray) -> Op:
        return SquaredError()

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        if outputs.shape[1] == 1:
            return (outputs[:, 0] > 0.5).astype(np.intp)
        return outputs.argmax(axis=1)


class BinaryCrossEntropyHead(Head):
    """−(t ln σ(y) + (1−t) ln(1−σ(y))) on logits; one-vs-rest for K > 2 classes."""

    name = "binary_cross_entropy"
    gives_probabilities = True

    def op(self, targets: np.ndarray) -> Op:
        return BinaryCrossEntropy()

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        p = sigmoid(outputs)
        if outputs.shape[1] == 1:
            return np.concatenate([1 - p, p], axis=1)
        return p  # K independent one-vs-rest probabilities


class HingeHead(Head):
    """max(0, 1 − t·y), t ∈ {−1, +1}; Weston–Watkins Σ_{j≠t} max(0, 1 + y_j − y_t) for K > 2."""

    name = "hinge"

    def encode(self, classes: np.ndarray, n_classes: int, dtype: np.dtype | type) -> np.ndarray:
        if n_classes == 2:
            return np.where(classes == 1, 1, -1).astype(dtype)[:, None]
        return classes.astype(np.intp)

    def op(self, targets: np.ndarray) -> Op:
        return Hinge() if targets.ndim == 2 else MulticlassHinge()

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """The margins themselves: y > 0 means the second class for two classes, and the
        largest y_k wins for K; |y| ≥ 1 is outside the margin."""
        return outputs


class CrossEntropyHead(Head):
    """−ln softmax(y)_t with one output node per class."""

    name = "cross_entropy"
    gives_probabilities = True

    def n_outputs(self, n_classes: int) -> int:
        return n_classes

    def encode(self, classes: np.ndarray, n_classes: int, dtype: np.dtype | type) -> np.ndarray:
        return classes.astype(np.intp)

    def op(self, targets: np.ndarray) -> Op:
        return SoftmaxCrossEntropy()

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        return softmax(outputs)


#: The config's ``loss`` values.
HEADS: dict[str, type[Head]] = {
    cls.name: cls for cls in (SquaredErrorHead, BinaryCrossEntropyHead, HingeHead, CrossEntropyHead)
}
