"""Neural-network pieces on the engine: layers, activations, losses, regularizers, φ(x), MLP."""

from mlpcli.nn.activations import ACTIVATIONS
from mlpcli.nn.features import FEATURES, BasisFunctions, Standardizer
from mlpcli.nn.layers import INITIALIZERS, Linear
from mlpcli.nn.losses import LOSSES, Loss
from mlpcli.nn.model import MLP
from mlpcli.nn.objective import Objective, error
from mlpcli.nn.regularizers import REGULARIZERS, Regularizer

__all__ = [
    "ACTIVATIONS",
    "FEATURES",
    "INITIALIZERS",
    "LOSSES",
    "MLP",
    "REGULARIZERS",
    "BasisFunctions",
    "Linear",
    "Loss",
    "Objective",
    "Regularizer",
    "Standardizer",
    "error",
]
