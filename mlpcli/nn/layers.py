"""The linear layer and its weight initializers.

``Linear`` follows ``torch.nn.Linear``: parameters are allocated in
``__init__`` and drawn in :meth:`Linear.reset_parameters` from an explicit
``numpy.random.Generator``, so a model is reproducible from its seed alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlpcli.engine import Node, ops

Initializer = Callable[..., np.ndarray]


def he(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """He et al. (2015): w ~ N(0, 2/fan_in), for ReLU-like activations."""
    return rng.normal(0.0, np.sqrt(2.0 / shape[1]), size=shape)


def xavier(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Glorot & Bengio (2010): w ~ U(−r, r), r = √(6 / (fan_in + fan_out)), for tanh/sigmoid."""
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=shape)


def normal(rng: np.random.Generator, shape: tuple[int, int], std: float = 0.01) -> np.ndarray:
    """w ~ N(0, std²)."""
    return rng.normal(0.0, std, size=shape)


def zeros(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """w = 0 (fine for a perceptron; a hidden layer would never break symmetry)."""
    return np.zeros(shape)


#: The config's ``model.init.name`` values.
INITIALIZERS: dict[str, Initializer] = {
    "he": he,
    "xavier": xavier,
    "normal": normal,
    "zeros": zeros,
}


class Linear:
    """a = W x + b for each row x of a batch: ``X Wᵀ + b``.

    Parameters
    ----------
    in_features, out_features : int
        W has shape (out_features, in_features), b has shape (out_features,).
    init : str
        A key of :data:`INITIALIZERS`; ``init_kwargs`` are passed to it.
    dtype : numpy dtype
        Of both parameters.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "he",
        init_kwargs: dict[str, Any] | None = None,
        dtype: np.dtype | type = np.float32,
        name: str = "linear",
    ) -> None:
        self.in_features, self.out_features = in_features, out_features
        self.init, self.init_kwargs = INITIALIZERS[init], dict(init_kwargs or {})
        self.weight = Node(
            np.zeros((out_features, in_features), dtype), requires_grad=True, name=f"{name}.weight"
        )
        self.bias = Node(np.zeros(out_features, dtype), requires_grad=True, name=f"{name}.bias")

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Draw W from the initializer (in place, keeping dtype) and set b = 0."""
        self.weight.value[...] = self.init(rng, self.weight.shape, **self.init_kwargs)
        self.bias.value[...] = 0

    def __call__(self, x: Node) -> Node:
        """(N, in) -> (N, out)."""
        return ops.Linear()(x, self.weight, self.bias)

    def __repr__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"
