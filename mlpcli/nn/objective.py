"""The error function minimized by training (DESIGN §3).

    E(w) = (1/|B|) Σ_{n∈B} L(t_n, y(x_n; w)) + (λ/N) Ω(w)

on a minibatch B of a training set of N examples. In batch mode (B = the
whole set) this is the normalized error exactly; on smaller batches it is an
unbiased estimate of it, so the same λ means the same model at any batch size.
"""

from __future__ import annotations

import numpy as np

from mlpcli.engine import Node
from mlpcli.nn.losses import Loss
from mlpcli.nn.model import MLP
from mlpcli.nn.regularizers import Regularizer


def error(
    model: MLP,
    x: np.ndarray,
    targets: np.ndarray,
    loss: Loss,
    regularizer: Regularizer | None = None,
    n_train: int | None = None,
    include_bias: bool = False,
) -> Node:
    """E on one batch of prepared inputs ``x`` (|B|, D') and encoded ``targets``.

    ``n_train`` is N, the training-set size the penalty is divided by
    (defaults to |B|, i.e. batch mode). Returns the scalar node E.
    """
    e = loss(model.forward(Node(x)), targets)
    if regularizer is not None:
        penalized = model.parameters() if include_bias else model.weights()
        penalty = regularizer.penalty(penalized, n_train or len(x))
        if penalty is not None:
            e = e + penalty
    return e
