"""Warnings about a training run that finished but did not train well.

A run whose loss became non-finite stops as ``diverged`` (``train.py``). A
run can also go wrong while every number stays finite; two such shapes of
the per-epoch training loss L₁ … L_E (``metrics.csv``'s ``train_loss``) are
named here:

``loss_rose``
    The loss ended far above where it started: L_E > 10 · L₁. (L₁ is already
    the mean over the first epoch's steps, so a run that merely starts badly is
    not flagged.)

``oscillating``
    The loss jumped back and forth: a *swing* is an epoch-to-epoch change by a
    factor of 2 or more (L_{i+1} ≥ 2 L_i or ≤ L_i / 2); swings where both
    values are below 1 % of L₁ do not count (a loss near zero, such as a hinge
    loss reaching 0, changes by large factors harmlessly). The loss oscillated
    when consecutive swings change direction 3 or more times (up, down, up,
    down). A fast descent, however steep, only swings down; one spike and its
    recovery changes direction once.

Both are warnings, not errors: the run's files are complete and ``mlp train``
exits 0, but ``summary.json``, ``--json``, ``mlp runs`` and ``mlp sweep`` show
them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: L_E > ROSE_FACTOR · L₁ is "loss_rose".
ROSE_FACTOR = 10.0
#: A change by this factor or more between two epochs is a swing.
SWING_FACTOR = 2.0
#: Swings below this fraction of L₁ (both ends) are ignored.
FLOOR = 0.01
#: Direction changes among swings that make "oscillating".
REVERSALS = 3


def loss_warnings(losses: Sequence[float]) -> list[dict]:
    """``[{"kind": ..., "message": ...}]`` for the per-epoch training losses of one run."""
    values = [v for v in losses if v is not None and math.isfinite(v)]
    if len(values) < 2:
        return []
    out = []
    first, last = values[0], values[-1]
    if last > ROSE_FACTOR * first:
        out.append(
            {
                "kind": "loss_rose",
                "message": f"the training loss ended at {last:.3g}, more than "
                f"{ROSE_FACTOR:g}× its first epoch's {first:.3g}: the learning rate is "
                "probably too large",
            }
        )
    reversals = _reversals(values, FLOOR * first)
    if reversals >= REVERSALS:
        out.append(
            {
                "kind": "oscillating",
                "message": f"the training loss jumped up and down by {SWING_FACTOR:g}× or more "
                f"{reversals + 1} times in a row: the learning rate is probably too large",
            }
        )
    return out


def _reversals(values: Sequence[float], floor: float) -> int:
    """How often consecutive swings (changes by ≥ SWING_FACTOR) change direction."""
    count, previous = 0, 0
    for a, b in zip(values, values[1:]):  # losses are ≥ 0; a = b = 0 is no change
        if max(a, b) < floor or a == b:
            continue
        if b >= SWING_FACTOR * a:
            direction = 1
        elif a >= SWING_FACTOR * b:
            direction = -1
        else:
            continue
        if previous and direction != previous:
            count += 1
        previous = direction
    return count
