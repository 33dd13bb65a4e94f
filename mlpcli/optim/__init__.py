"""Optimizers and learning-rate schedules."""

from mlpcli.optim.sgd import SGD

__all__ = ["SGD"]
