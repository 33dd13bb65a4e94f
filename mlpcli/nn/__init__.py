"""Neural-network pieces on the engine: layers, activations, heads, regularizers, φ(x), MLP."""

from mlpcli.nn.activations import ACTIVATIONS
from mlpcli.nn.features import FEATURES, BasisFunctions
from mlpcli.nn.heads import HEADS, Head
from mlpcli.nn.inputs import InputTransform, Standardizer
from mlpcli.nn.layers import INITIALIZERS, Linear
from mlpcli.nn.model import MLP
from mlpcli.nn.objective import ErrorNodes, Objective, error
from mlpcli.nn.regularizers import REGULARIZERS, Regularizer, regularizer

__all__ = [
    "ACTIVATIONS",
    "FEATURES",
    "HEADS",
    "INITIALIZERS",
    "MLP",
    "REGULARIZERS",
    "BasisFunctions",
    "ErrorNodes",
    "Head",
    "InputTransform",
    "Linear",
    "Objective",
    "Regularizer",
    "Standardizer",
    "error",
    "regularizer",
]
