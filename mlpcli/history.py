"""A run's epochs as columns of numbers, read back from its ``metrics.csv``.

The pictures (``mlp plot``) and the terminal loss curve (end of ``mlp
train``) draw from a :class:`History`; ``runs.py`` writes the file
(docs/design.md, "Run directory").
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli.errors import ModelFileError
from mlpcli.metrics import METRIC
from mlpcli.paths import read_regular

#: Columns every metrics.csv has, besides the task's train_/val_ metric.
REQUIRED = ("epoch", "step", "train_loss", "val_loss", "lr", "batch_size")


@dataclass(frozen=True)
class History:
    """metrics.csv as float64 columns (one entry per epoch), NaN where a cell is blank.

    ``metric`` is the task's headline metric (``accuracy`` or ``mse``), so
    ``history["train_" + history.metric]`` is the training metric.
    """

    columns: dict[str, np.ndarray]
    metric: str
    source: str

    def __len__(self) -> int:
        return len(self.columns["epoch"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def has(self, name: str) -> bool:
        """Whether column ``name`` exists and holds at least one number."""
        return name in self.columns and bool(np.any(~np.isnan(self.columns[name])))


def read_history(path: str | Path) -> History:
    """Read ``metrics.csv`` (or the one in a run directory ``path``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.csv"
    if not path.exists():
        raise ModelFileError(f"{path}: not found (is {path.parent} a run directory?)")
    try:
        text = read_regular(path, "a metrics.csv", 2**30, ModelFileError).decode()
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not a metrics.csv (not UTF-8 text)") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise ModelFileError(f"{path}: empty, not a metrics.csv")
    header = rows[0]
    metric = next((m for m in METRIC.values() if f"train_{m}" in header), None)
    missing = [c for c in REQUIRED if c not in header]
    if missing or metric is None:
        what = ", ".join(missing) or "train_accuracy or train_mse"
        raise ModelFileError(f"{path}, line 1: not a metrics.csv header (no {what})")
    table = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ModelFileError(
                f"{path}, line {i + 2}: {len(row)} fields, the header has {len(header)}"
            )
        table[i] = [_number(cell, path, i + 2, name) for cell, name in zip(row, header)]
    columns = {name: table[:, j].copy() for j, name in enumerate(header)}
    return History(columns, metric, str(path))


def _number(cell: str, path: Path, line: int, column: str) -> float:
    if cell == "":
        return math.nan
    try:
        return float(cell)  # 'inf' and 'nan' too: a diverged run writes them
    except ValueError:
        raise ModelFileError(
            f"{path}, line {line}, column '{column}': could not convert {cell!r} to a number"
        ) from None
