"""Held-out splits: index arrays into the loaded data, never copies of it.

``test_split`` is held out first, then ``validation_split`` of the rest, each
stratified by class for classification and drawn from its own generator, so
``mlp eval`` recomputes the same rows from the seed alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlpcli.errors import DataError


def split_rows(
    n: int,
    fraction: float,
    rng: np.random.Generator,
    strata: np.ndarray | None = None,
    source: str = "data",
    field: str = "validation_split",
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows), sorted, with ⌊fraction·n + ½⌋ rows held out.

    With ``strata`` (class indices) the fraction is taken within each class,
    so both parts keep the class proportions (:func:`held_counts`).
    """
    groups = (
        [np.arange(n)]
        if strata is None
        else [np.flatnonzero(strata == k) for k in np.unique(strata)]
    )
    counts = held_counts(fraction, [len(g) for g in groups])
    held = [rng.permutation(g)[:c] for g, c in zip(groups, counts)]
    val = np.sort(np.concatenate(held))
    train = np.setdiff1d(np.arange(n), val, assume_unique=True)
    if len(val) == 0 or len(train) == 0:
        raise DataError(
            f"{source}: data.{field} {fraction} of {n} rows leaves {len(train)} rows "
            f"and holds out {len(val)}; both need at least one"
        )
    return train, val


def held_counts(fraction: float, sizes: list[int]) -> np.ndarray:
    """Rows to hold out of each group (class) of ``sizes``: ⌊fraction·N + ½⌋ in all, N = Σ
    sizes, each group its share ⌊fraction·n_k⌋ plus one for the groups with the largest
    remainders (ties to the first). Rounding each group on its own would not add up:
    1000 classes of 5 rows at 0.5 would hold out 2 of each, 40 % instead of 50 %."""
    exact = fraction * np.asarray(sizes, dtype=np.float64)
    counts = np.floor(exact).astype(np.int64)
    extra = int(np.floor(fraction * sum(sizes) + 0.5)) - int(counts.sum())
    counts[np.argsort(counts - exact, kind="stable")[:extra]] += 1
    return counts


@dataclass
class SplitPlan:
    """Rows of the training source kept for training and held out (None: nothing held out)."""

    train: np.ndarray | None
    validation: np.ndarray | None
    test: np.ndarray | None


def plan_splits(
    n: int,
    *,
    test_split: float | None,
    validation_split: float | None,
    test_rng: np.random.Generator,
    validation_rng: np.random.Generator,
    strata: np.ndarray | None = None,
    source: str = "data",
) -> SplitPlan:
    """Hold out ``test_split`` of ``n`` rows first, then ``validation_split`` of the rest.

    ``strata`` (class indices, one per row) stratifies both.
    """
    rows = np.arange(n)
    validation = test = None
    if test_split is not None:
        keep, held = split_rows(n, test_split, test_rng, strata, source, "test_split")
        rows, test = rows[keep], rows[held]
    if validation_split is not None:
        sub = None if strata is None else strata[rows]
        keep, held = split_rows(len(rows), validation_split, validation_rng, sub, source)
        rows, validation = rows[keep], rows[held]
    if validation is None and test is None:
        return SplitPlan(None, None, None)
    return SplitPlan(rows, validation, test)
