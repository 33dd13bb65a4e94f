"""Activation functions by the names the config uses.

Each entry builds a fresh op (ops are single-use); the engine module holds
the formulas and derivatives. ``identity`` is a real op, but models skip it
rather than add a node that changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from mlpcli.engine import Identity, LeakyRelu, Op, Relu, Sigmoid, Softplus, Tanh

#: The config's ``model.activation`` / ``model.output_activation`` values.
ACTIVATIONS: dict[str, Callable[[], Op]] = {
    "identity": Identity,
    "relu": Relu,
    "leaky_relu": LeakyRelu,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
}

#: Activations that can overwrite their input. A model uses this for the
#: pre-activations it creates and reads no more, so a layer's output reuses the
#: array of its pre-activation (whose node then shows the activated values).
INPLACE = frozenset({"relu", "tanh"})

#: The bounded activations and the closed interval their values lie in: a
#: regression target outside it cannot be fitted by such an output.
BOUNDS: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
