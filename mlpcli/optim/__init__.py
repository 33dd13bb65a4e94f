"""Optimizers (in-place updates of parameter nodes) and learning-rate schedules."""

from mlpcli.optim.optimizer import Optimizer
from mlpcli.optim.sgd import SGD

#: The config's ``train.optimizer.name`` values. Each constructor takes
#: (params, lr, **settings); the settings are the config section's keys.
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD}

__all__ = ["OPTIMIZERS", "SGD", "Optimizer"]
