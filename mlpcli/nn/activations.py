"""Activation functions by the names the config uses.

Each entry builds a fresh op (ops are single-use); the engine module holds
the formulas and derivatives.
"""

from __future__ import annotations

from collections.abc import Callable

from mlpcli.engine import Identity, LeakyRelu, Node, Op, Relu, Sigmoid, Softplus, Tanh

#: The config's ``model.activation`` / ``model.output_activation`` values.
ACTIVATIONS: dict[str, Callable[[], Op]] = {
    "identity": Identity,
    "relu": Relu,
    "leaky_relu": LeakyRelu,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
}


def activate(name: str, a: Node) -> Node:
    """h(a) for the activation called ``name``; identity adds no node to the graph."""
    if name == "identity":
        return a
    return ACTIVATIONS[name]()(a)
