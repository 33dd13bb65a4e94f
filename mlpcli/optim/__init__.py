"""Optimizers (in-place updates of parameter nodes) and learning-rate schedules."""

from mlpcli.optim.adam import Adam, AdamW
from mlpcli.optim.optimizer import Optimizer, clip_grad_norm
from mlpcli.optim.sgd import SGD

#: The config's ``train.optimizer.name`` values. Each constructor takes
#: (params, lr, **settings); the settings are the config section's keys.
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}

__all__ = ["OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer", "clip_grad_norm"]
