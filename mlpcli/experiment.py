"""What a training run works on: the prepared data splits, the model and its objective's parts.

Plain containers, built by ``prepare.py`` from a config and read by the
training loop, which therefore knows nothing of files or loaders. Also the
seeding rule every random choice follows (:func:`rng`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from mlpcli.config import Config
from mlpcli.nn.heads import Head
from mlpcli.nn.model import MLP
from mlpcli.nn.objective import Objective
from mlpcli.nn.regularizers import Regularizer

#: Stream numbers for :func:`rng`; new roles get new numbers, old ones never change.
ROLES = {
    "train": 1,
    "validation": 2,
    "test": 3,
    "split": 4,
    "init": 5,
    "features": 6,
    "shuffle": 7,
    "test_split": 8,
    "curvature": 9,  # power iteration start vectors (mlp lr)
    "dropout": 10,  # dropout masks, one stream per run (saved with the state)
}


def rng(seed: int, role: str) -> np.random.Generator:
    """The generator for one role (``ROLES``), reproducible from the config seed alone.

    Each consumer has its own stream, so adding, say, a validation split does
    not change the initial weights, and a test set drawn from a generator
    differs from the training set drawn from the same generator.
    """
    return np.random.default_rng([seed, ROLES[role]])


class Batch(NamedTuple):
    """Examples as E takes them: prepared inputs (|B|, D'), targets, class weights (|B|,)."""

    x: np.ndarray
    targets: np.ndarray
    weights: np.ndarray | None  # None without data.class_weight


@dataclass
class Split:
    """One part of the data, ready for the model.

    ``x`` holds *prepared* inputs (through the model's input transform) and
    ``targets`` what the loss compares outputs with in training (the head's
    encoding; for regression the targets, standardized when
    ``data.standardize_target``); ``labels`` the class indices
    (classification) or the real targets in their own units (regression),
    for metrics and reported losses. ``rows``
    selects this split's rows when several splits share one array (a
    validation split of the training file), so no split is a copy of the data.
    """

    name: str
    x: np.ndarray
    targets: np.ndarray
    labels: np.ndarray
    rows: np.ndarray | None = None
    weights: np.ndarray | None = None  # per-example class weights, aligned with targets

    def __len__(self) -> int:
        return len(self.x) if self.rows is None else len(self.rows)

    def batch(self, positions: np.ndarray | slice) -> Batch:
        """The examples at ``positions`` of the split (indices or a slice), with their class
        weights: what one training step on them evaluates E with."""
        rows = positions if self.rows is None else self.rows[positions]
        weights = None if self.weights is None else self.weights[rows]
        return Batch(self.x[rows], self.targets[rows], weights)

    def selected(self, array: np.ndarray | None) -> np.ndarray | None:
        """This split's rows of an array aligned with ``x`` (its targets, labels or weights)."""
        return array if self.rows is None or array is None else array[self.rows]


@dataclass
class Experiment:
    """A config with its data prepared and its model built and initialized."""

    config: Config
    task: str  # classification | regression
    classes: np.ndarray | None  # sorted class labels (classification)
    feature_names: list[str]
    target_names: list[str]
    model: MLP
    head: Head
    regularizer: Regularizer
    train: Split
    validation: Split | None
    test: Split | None
    class_weight: np.ndarray | None = None  # c_k per class, mean 1 over the training rows

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config.dtype)

    def objective(self) -> Objective:
        """The error E this experiment trains: its model, head, regularizer and N."""
        return Objective(
            self.model,
            self.head,
            self.regularizer,
            n_train=len(self.train),
            include_bias=self.config.regularizer.include_bias,
        )
