"""The first stage of the input transform: raw columns -> numbers.

    region ─▶ one-hot [east, north, south, west]     (categories of the training split)
    income ─▶ income, NaN filled with its training mean (data.missing)
              + income_missing ∈ {0, 1}               (data.missing.indicator)

Categorical (text) columns become one 0/1 column per category, the
categories being the sorted distinct values of the training rows. A value
never seen there is an error by default, or all zeros (``unknown: zeros``).
Missing values are refused unless ``data.missing`` names a strategy, fitted
on the training rows like scikit-learn's ``SimpleImputer``: numbers get the
column's ``mean``, ``median``, ``most_frequent`` value or a ``constant``; a
text column gets its most frequent category with ``most_frequent``, else no
category (all zeros). With ``indicator`` each column that had missing values
in the training rows adds a 0/1 column saying which values were filled in.

The output columns are the raw columns in order (one or K each), then the
indicators. Everything fitted is saved with the model: fill values as the
tensor ``input.fill``, categories and policies as JSON metadata
(:meth:`Encoder.metadata`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mlpcli.data.dataset import Table

#: How a missing number is filled: per-column statistics of the training rows.
STRATEGIES = ("mean", "median", "most_frequent", "constant")
#: What a category never seen in training becomes.
UNKNOWN = ("error", "zeros")


class UnknownCategory(ValueError):
    """A text value the encoder has no category for (``unknown: error``)."""

    def __init__(self, row: int, column: str, value: str, known: list[str]) -> None:
        shown = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
        super().__init__(
            f"column '{column}': category {value!r} was never seen in the training split "
            f"(known: {shown}); set data.categorical: {{{column}: {{unknown: zeros}}}} "
            "to encode unseen categories as all zeros"
        )
        self.row = row


@dataclass
class Encoder:
    """Raw columns (a :class:`Table` or an (N, D) array) -> (N, n_outputs) numbers.

    Attributes
    ----------
    names : list of str
        The raw column names, for messages.
    kinds : str
        'n' (number) or 't' (text) per raw column.
    categories : list of list of str
        Per text column, its sorted categories.
    unknown : list of str
        Per text column, ``error`` or ``zeros``.
    strategy : str or None
        How missing values are filled; None refuses them (the loader does).
    fill : ndarray (Dn,) or None
        Per numeric column, the value that replaces NaN.
    fill_text : list of (str or None)
        Per text column, the category an empty cell becomes (None: all zeros).
    indicator : list of int
        Raw column positions that get a missing-value indicator column.
    """

    names: list[str]
    kinds: str
    categories: list[list[str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    strategy: str | None = None
    fill: np.ndarray | None = None
    fill_text: list[str | None] = field(default_factory=list)
    indicator: list[int] = field(default_factory=list)

    @property
    def n_outputs(self) -> int:
        return self.kinds.count("n") + sum(map(len, self.categories)) + len(self.indicator)

    @property
    def text_names(self) -> list[str]:
        """The names of the text (categorical) columns, in order."""
        return [n for n, k in zip(self.names, self.kinds) if k == "t"]

    def output_names(self) -> list[str]:
        """The encoded columns' names: ``income``, ``region=north``, ``income_missing``."""
        out, cats = [], iter(self.categories)
        for name, kind in zip(self.names, self.kinds):
            out += [name] if kind == "n" else [f"{name}={c}" for c in next(cats)]
        return out + [f"{self.names[i]}_missing" for i in self.indicator]

    def numeric_outputs(self) -> np.ndarray:
        """(n_outputs,) bool: which encoded columns are numbers (standardized; not 0/1)."""
        flags, cats = [], iter(self.categories)
        for kind in self.kinds:
            flags += [True] if kind == "n" else [False] * len(next(cats))
        return np.array(flags + [False] * len(self.indicator), dtype=bool)

    # -- fitting ---------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        x: Table | np.ndarray,
        rows: np.ndarray | None,
        names: list[str],
        *,
        unknown: dict[str, str] | None = None,
        strategy: str | None = None,
        indicator: bool = False,
        fill_value: float = 0.0,
    ) -> Encoder:
        """Learn categories, fill values and indicator columns from the rows ``x[rows]``.

        Raises ValueError naming the column when a text column holds a
        different value on every training row (an identifier, not a category)
        or a numeric column has no value at all to fill with.
        """
        table = (
            x if isinstance(x, Table) else Table(x, np.empty((len(x), 0), str), "n" * x.shape[1])
        )
        train = table if rows is None else table[rows]
        text_names = [n for n, k in zip(names, table.kinds) if k == "t"]
        number_names = [n for n, k in zip(names, table.kinds) if k == "n"]
        categories = [_categories(train.text[:, j], name) for j, name in enumerate(text_names)]
        enc = cls(
            names, table.kinds, categories, [(unknown or {}).get(n, "error") for n in text_names]
        )
        if strategy is not None:
            enc.strategy = strategy
            enc.fill = np.array(
                [_fill(train.numbers[:, j], strategy, fill_value, name)
                 for j, name in enumerate(number_names)],
                dtype=table.numbers.dtype,
            )  # fmt: skip
            enc.fill_text = [
                _most_frequent(train.text[:, j]) if strategy == "most_frequent" else None
                for j in range(len(text_names))
            ]
            if indicator:
                enc.indicator = [i for i, gone in enumerate(_missing(train)) if gone.any()]
        return enc

    # -- applying ----------------------------------------------------------------------
    def __call__(self, x: Table | np.ndarray) -> np.ndarray:
        """Encode raw inputs (N, n_inputs) -> (N, n_outputs) in the numbers' dtype.

        Raises :class:`UnknownCategory` for a text value with no category when
        its column's policy is ``error``.
        """
        table = x if isinstance(x, Table) else Table(x, np.empty((len(x), 0), str), self.kinds)
        numbers, text = table.numbers, table.text
        out = np.zeros((len(table), self.n_outputs), dtype=numbers.dtype)
        pos, n, t = 0, 0, 0
        for kind in self.kinds:
            if kind == "n":
                col = numbers[:, n]
                out[:, pos] = (
                    col if self.fill is None else np.where(np.isnan(col), self.fill[n], col)
                )
                pos, n = pos + 1, n + 1
            else:
                codes = self._codes(text[:, t], t)
                hit = np.flatnonzero(codes >= 0)
                out[hit, pos + codes[hit]] = 1
                pos, t = pos + len(self.categories[t]), t + 1
        if self.indicator:
            gone = _missing(table)
            for j, i in enumerate(self.indicator):
                out[:, pos + j] = gone[i]
        return out

    def check(self, x: Table | np.ndarray) -> None:
        """Raise :class:`UnknownCategory` where :meth:`__call__` would, without encoding."""
        if isinstance(x, Table):
            for t in range(x.text.shape[1]):
                self._codes(x.text[:, t], t)

    def _codes(self, values: np.ndarray, t: int) -> np.ndarray:
        """Category index of each value of text column ``t``; −1 for none (all zeros)."""
        cats = np.asarray(self.categories[t])
        fill = self.fill_text[t] if self.fill_text else None
        if fill is not None:
            values = np.where(values == "", fill, values)
        pos = np.minimum(np.searchsorted(cats, values), len(cats) - 1)
        codes = np.where(cats[pos] == values, pos, -1)
        unseen = (codes < 0) & (values != "")
        if self.unknown[t] == "error" and unseen.any():
            row = int(np.flatnonzero(unseen)[0])
            column = self.text_names[t]
            raise UnknownCategory(row, column, str(values[row]), self.categories[t])
        return codes

    # -- saved with the model ----------------------------------------------------------
    def tensors(self) -> dict[str, np.ndarray]:
        return {} if self.fill is None else {"input.fill": self.fill}

    def metadata(self) -> dict:
        """Everything but the fill values, as JSON-able data (the model file's ``encoding``)."""
        return {
            "kinds": self.kinds,
            "categories": self.categories,
            "unknown": self.unknown,
            "strategy": self.strategy,
            "fill_text": self.fill_text,
            "indicator": self.indicator,
        }

    @classmethod
    def from_saved(cls, names: list[str], meta: dict, tensors: dict[str, np.ndarray]) -> Encoder:
        """Rebuild from :meth:`metadata` and :meth:`tensors`; raises ValueError if they
        disagree with each other or with the column names."""
        enc = cls(names, str(meta["kinds"]), [[str(c) for c in cs] for cs in meta["categories"]],
                  [str(u) for u in meta["unknown"]], meta["strategy"], tensors.get("input.fill"),
                  list(meta["fill_text"]), [int(i) for i in meta["indicator"]])  # fmt: skip
        n_text = enc.kinds.count("t")
        if (
            set(enc.kinds) - {"n", "t"}
            or len(enc.kinds) != len(names)
            or len(enc.categories) != n_text
            or len(enc.unknown) != n_text
            or not all(enc.categories)
            or any(list(c) != sorted(set(c)) for c in enc.categories)
            or set(enc.unknown) - set(UNKNOWN)
            or enc.strategy not in (None, *STRATEGIES)
            or (enc.strategy is None) != (enc.fill is None)
            or (enc.fill is not None and enc.fill.shape != (enc.kinds.count("n"),))
            or (enc.strategy is not None and len(enc.fill_text) != n_text)
            or any(i < 0 or i >= len(names) for i in enc.indicator)
        ):
            raise ValueError("the encoding metadata does not fit the input columns")
        return enc

    def describe(self) -> str:
        """One line for the run header: which columns are categorical, how gaps are filled."""
        text = self.text_names
        parts = []
        if text:
            cats = ", ".join(f"{n} ({len(c)})" for n, c in zip(text, self.categories))
            parts.append(f"categorical, one-hot: {cats}")
        if self.strategy is not None:
            flags = [self.names[i] for i in self.indicator]
            parts.append(
                f"missing values: {self.strategy}"
                + (f", indicators for {', '.join(flags)}" if flags else "")
            )
        return "; ".join(parts)


def _categories(values: np.ndarray, name: str) -> list[str]:
    given = values[values != ""]
    categories = np.unique(given).tolist()
    if not categories:
        raise ValueError(f"column '{name}' has no values in the training split")
    if len(categories) == len(given) and len(given) >= 20:
        raise ValueError(
            f"column '{name}' has a different value on each of the {len(given)} training rows "
            "(an identifier, not a category?); leave it out with data.features"
        )
    return categories


def _missing(table: Table) -> list[np.ndarray]:
    """Per raw column, the (N,) mask of its missing cells."""
    n, t, out = iter(range(table.numbers.shape[1])), iter(range(table.text.shape[1])), []
    for kind in table.kinds:
        out.append(
            np.isnan(table.numbers[:, next(n)]) if kind == "n" else table.text[:, next(t)] == ""
        )
    return out


def _fill(values: np.ndarray, strategy: str, constant: float, name: str) -> float:
    """The value that replaces NaN in one numeric column (statistics in float64)."""
    if strategy == "constant":
        return constant
    given = values[~np.isnan(values)].astype(np.float64)
    if not len(given):
        raise ValueError(
            f"column '{name}' has no values in the training split to compute its {strategy} from"
        )
    if strategy == "mean":
        return float(given.mean())
    if strategy == "median":
        return float(np.median(given))
    return float(_most_frequent(given))


def _most_frequent(values: np.ndarray) -> object:
    """The most frequent non-missing value, the smallest among ties (scikit-learn's rule);
    None when there is none."""
    given = values[values != ""] if values.dtype.kind == "U" else values
    if not len(given):
        return None
    unique, counts = np.unique(given, return_counts=True)
    value = unique[int(np.argmax(counts))]
    return value.item() if isinstance(value, np.generic) else value
