"""A NumPy-only reverse-mode autodiff engine: nodes, ops and backpropagation.

Read in this order: ``node.py`` (the graph and the backward walk), ``ops.py``
(primitive ops), ``activations.py``, ``losses.py`` (fused losses and
penalties). Nothing here knows about configs, files or printing.
"""

from .activations import (
    Identity,
    LeakyRelu,
    Relu,
    Sigmoid,
    Softplus,
    Tanh,
    sigmoid,
    softplus,
)
from .losses import (
    BinaryCrossEntropy,
    Hinge,
    L1Penalty,
    L2Penalty,
    MulticlassHinge,
    SoftmaxCrossEntropy,
    SquaredError,
)
from .node import Graph, Node, Op, is_grad_enabled, no_grad
from .ops import (
    Abs,
    Add,
    Div,
    Exp,
    Linear,
    Log,
    MatMul,
    Mean,
    Mul,
    Neg,
    Pow,
    Sub,
    Sum,
    constant,
    parameter,
    unbroadcast,
)

__all__ = [
    "Abs",
    "Add",
    "BinaryCrossEntropy",
    "Div",
    "Exp",
    "Graph",
    "Hinge",
    "Identity",
    "L1Penalty",
    "L2Penalty",
    "LeakyRelu",
    "Linear",
    "Log",
    "MatMul",
    "Mean",
    "Mul",
    "MulticlassHinge",
    "Neg",
    "Node",
    "Op",
    "Pow",
    "Relu",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Softplus",
    "SquaredError",
    "Sub",
    "Sum",
    "Tanh",
    "constant",
    "is_grad_enabled",
    "no_grad",
    "parameter",
    "sigmoid",
    "softplus",
    "unbroadcast",
]
