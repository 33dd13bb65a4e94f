"""A NumPy-only reverse-mode autodiff engine: nodes, ops and backpropagation.

Read in this order: ``node.py`` (the graph and the backward walk), ``ops.py``
(primitive ops), ``activations.py``, ``losses.py`` (fused data losses),
``penalties.py`` (regularization terms); ``stable.py`` holds the overflow-free
array functions the last three share; ``hessian.py`` turns the ops' tangent
rules into exact Hessian-vector products. Nothing here knows about configs,
files or printing.
"""

from .activations import Identity, LeakyRelu, Relu, Sigmoid, Softplus, Tanh
from .dropout import Dropout
from .hessian import HessianVectorProduct
from .losses import (
    BinaryCrossEntropy,
    FusedLoss,
    Hinge,
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
from .penalties import L1Penalty, L2Penalty
from .stable import sigmoid, softmax, softplus

__all__ = [
    "Abs",
    "Add",
    "BinaryCrossEntropy",
    "Div",
    "Dropout",
    "Exp",
    "FusedLoss",
    "Graph",
    "HessianVectorProduct",
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
    "softmax",
    "softplus",
    "unbroadcast",
]
