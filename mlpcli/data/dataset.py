"""The in-memory dataset every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mlpcli.errors import DataError


@dataclass
class Table:
    """Raw inputs with text (categorical) columns: numbers and text side by side.

    A CSV whose features are all numbers reads as a plain (N, D) array; one
    with a text column reads as a Table, which the model's input transform
    encodes (``nn/encoding.py``). It indexes by rows like an array.

    Attributes
    ----------
    numbers : ndarray (N, Dn)
        The numeric columns, in order; NaN where a cell is missing.
    text : ndarray (N, Dt) of str
        The text columns, in order, stripped; '' where a cell is missing.
    kinds : str
        One letter per feature column, in the features' order (not the file's):
        'n' number, 't' text.
    """

    numbers: np.ndarray
    text: np.ndarray
    kinds: str

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.numbers), len(self.kinds))

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, rows: slice | np.ndarray) -> Table:
        return Table(self.numbers[rows], self.text[rows], self.kinds)


@dataclass(frozen=True)
class Columns:
    """The training file's columns by name: how every other CSV of a run is read.

    A validation or test file, and the data of ``mlp eval``/``mlp predict``, is
    matched to these names whatever its column order, so that the same header
    in another order reads the same inputs, and a missing column is named.
    """

    features: list[str]
    targets: list[str]
    text: list[str]  # the categorical (text) features among ``features``


@dataclass
class Dataset:
    """Inputs and raw targets, as read from one source.

    Attributes
    ----------
    x : ndarray (N, D), or Table
        Floating-point inputs, finite (NaN where a cell is missing, only when
        the config imputes missing values); a :class:`Table` when some
        columns are text (categorical).
    y : ndarray (N,) or (N, K), or None
        Raw targets: class labels of any kind (strings, integers) or real
        regression targets; :mod:`mlpcli.data.targets` reads them and the heads encode them.
    feature_names, target_names : list of str
        Column names, for messages and prediction files.
    source : str
        Where the data came from (a path or ``generator:moons``), for messages.
    line_of_row : callable, optional
        Maps a 0-based data row to the 1-based line of its file, where rows
        and lines differ (CSV headers and comments); used only in messages.
    """

    x: np.ndarray | Table
    y: np.ndarray | None  # None for prediction inputs without targets
    feature_names: list[str]
    target_names: list[str]
    source: str
    line_of_row: object = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def text_columns(self) -> list[str]:
        """The names of the text (categorical) feature columns."""
        kinds = self.x.kinds if isinstance(self.x, Table) else ""
        return [name for name, kind in zip(self.feature_names, kinds) if kind == "t"]

    @property
    def columns(self) -> Columns:
        return Columns(self.feature_names, self.target_names, self.text_columns)

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
