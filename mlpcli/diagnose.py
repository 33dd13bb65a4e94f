"""Why training diverged: a hint from what can be measured where it stopped.

When the loss or a weight stops being finite, three causes are common, and
each can be checked rather than guessed:

* **target scale**: regression targets in large units, not standardized, make
  the error, its gradient and its curvature large (``data.standardize_target``);
* **input scale**: inputs not standardized, with large columns, do the same
  through the first layer (``data.standardize``);
* **η above the stability bound**: with (heavy-ball) SGD, a step is stable on
  the quadratic model of E only while η < 2(1 + μ)/λ_max; λ_max is measured at
  the last finite weights by power iteration on exact Hessian-vector products
  (``curvature.py``).

The hint names what was found, with the numbers, and the ``mlp lr`` command
that measures the curvature fully and recommends an η.
"""

from __future__ import annotations

import numpy as np

from mlpcli import build
from mlpcli.curvature import lambda_max_of, stability_bound
from mlpcli.experiment import Experiment

#: A column whose standard deviation or mean exceeds this (in absolute value) counts as large.
LARGE = 10.0
#: λ_max for the hint is measured on at most this many rows of the first batch (a float64 copy).
MAX_ROWS = 4096


def _largest(values: np.ndarray) -> tuple[float, float]:
    """(largest |column mean|, largest column std) of an (N, K) array, in float64."""
    values = values.astype(np.float64, copy=False)
    return float(np.abs(values.mean(axis=0)).max()), float(values.std(axis=0).max())


def causes(exp: Experiment, lr: float | None) -> list[str]:
    """What was measured that explains a divergence at rate ``lr`` (may be empty)."""
    found = []
    data, train = exp.config.data, exp.train
    if exp.task == "regression" and exp.model.target_scale is None:
        mean, std = _largest(train.selected(train.labels))
        if max(mean, std) > LARGE:
            found.append(
                f"the targets are in large units (|mean| up to {mean:.3g}, std up to "
                f"{std:.3g}) and not standardized: set data.standardize_target: true"
            )
    if not data.standardize:
        mean, std = _largest(train.x if train.rows is None else train.x[train.rows[:10000]])
        if max(mean, std) > LARGE:
            found.append(
                f"the inputs are not standardized (|mean| up to {mean:.3g}, std up to "
                f"{std:.3g}): set data.standardize: true"
            )
    optimizer = exp.config.train.optimizer
    if optimizer.name == "sgd" and lr is not None:
        size = min(build.batches(exp.config, len(train)).size_at(0), MAX_ROWS)
        power = lambda_max_of(exp, size, tol=1e-3, max_iterations=50)
        bound = stability_bound(optimizer, power.eigenvalue)
        if bound is not None and lr > bound[0]:
            found.append(
                f"η = {lr:g} is above the stability bound {bound[1]} = {bound[0]:.3g} "
                "measured at the last finite weights: use a smaller learning rate"
            )
    return found


def divergence_hint(exp: Experiment, lr: float | None, config_path: str) -> str:
    """One sentence or two for the divergence message; ``exp.model`` holds the last
    finite weights."""
    with np.errstate(all="ignore"):
        found = causes(exp, lr)
    if not found:
        found = ["nothing measured explains it: try a smaller learning rate"]
    return (
        "Likely cause: "
        + "; ".join(found)
        + f". To measure the curvature and get a recommended η: mlp lr {config_path}"
    )
