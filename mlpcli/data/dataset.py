"""The in-memory dataset every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mlpcli.errors import DataError


@dataclass
class Dataset:
    """Inputs and raw targets, as read from one source.

    Attributes
    ----------
    x : ndarray (N, D)
        Floating-point inputs, finite.
    y : ndarray (N,) or (N, K), or None
        Raw targets: class labels of any kind (strings, integers) or real
        regression targets; :mod:`mlpcli.data.preprocess` encodes them.
    feature_names, target_names : list of str
        Column names, for messages and prediction files.
    source : str
        Where the data came from (a path or ``generator:moons``), for messages.
    line_of_row : callable, optional
        Maps a 0-based data row to the 1-based line of its file, where rows
        and lines differ (CSV headers and comments); used only in messages.
    """

    x: np.ndarray
    y: np.ndarray | None  # None for prediction inputs without targets
    feature_names: list[str]
    target_names: list[str]
    source: str
    line_of_row: object = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.x)

    def where(self, row: int) -> str:
        """'line 7' (files with lines) or 'row 5' (everything else) for data row ``row``."""
        if self.line_of_row is not None:
            return f"line {self.line_of_row(row)}"
        return f"row {row + 1}"

    def check_width(self, expected: int) -> None:
        """Refuse inputs whose width differs from what the model was trained on."""
        if self.x.shape[1] != expected:
            raise DataError(
                f"{self.source}: X has {self.x.shape[1]} features, but the model expects {expected}"
            )
