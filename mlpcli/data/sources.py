"""Which reader a data file needs, decided by one rule for every command.

* ``.npz`` → NPZ arrays; ``.csv`` and ``.txt`` → CSV;
* anything else whose first bytes (after gzip, if compressed) are an IDX
  magic number → IDX (MNIST's ``train-images-idx3-ubyte[.gz]``);
* no extension and no IDX magic → CSV;
* any other extension → refused, naming the formats there are.

``mlp train`` (through the config's ``data:`` sources) and ``mlp eval`` /
``mlp predict`` (through ``--data``) both read files through :func:`read_file`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlpcli.data.dataset import Dataset
from mlpcli.data.loaders import is_idx, load_csv, load_idx, load_npz
from mlpcli.errors import DataError

#: Extensions read without looking inside the file.
BY_SUFFIX = {".npz": "npz", ".csv": "csv", ".txt": "csv"}


def detect_format(path: Path) -> str:
    """'csv', 'npz' or 'idx' for ``path`` (see the module docstring)."""
    suffix = path.suffix.lower()
    if suffix in BY_SUFFIX:
        return BY_SUFFIX[suffix]
    if path.is_file() and is_idx(path):
        return "idx"
    if suffix == "":
        return "csv"
    raise DataError(
        f"{path}: unknown data format {suffix!r} (use .csv, .txt, .npz, or IDX images and labels)"
    )


def csv_by_name(path: Path) -> bool:
    """Whether ``path`` reads as CSV by its name alone (.csv, .txt or no extension): for
    a path a model file names, which is never opened on the model's word."""
    suffix = path.suffix.lower()
    return BY_SUFFIX.get(suffix) == "csv" or suffix == ""


def read_file(
    path: str | Path,
    *,
    dtype: np.dtype | type,
    target: str | list[str] | None = None,
    features: list[str] | None = None,
    targets: bool = True,
    labels: str | Path | None = None,
    role: str | None = None,
    text: Sequence[str] = (),
    detect_text: bool = True,
    missing: bool = False,
) -> tuple[Dataset, Dataset | None]:
    """Read one data file: (data, the test set an .npz bundles, or None).

    ``target``, ``features`` and ``text`` name CSV columns (refused for other
    formats; ``text`` columns are categorical, and with ``detect_text`` so is
    any column of words); ``missing`` allows empty and NaN cells;
    ``targets=False`` (prediction) accepts data without targets; IDX images
    take their labels from ``labels``. ``role`` names the file in messages
    where the config gave it (``data.train``).
    """
    path = Path(path)
    kind = "idx" if labels is not None else detect_format(path)
    if kind != "csv" and (target is not None or features is not None or text):
        key = "target" if target is not None else "features" if features is not None else None
        if key is None:
            raise DataError(f"{path}: the model has categorical columns; give it a CSV file")
        raise DataError(f"data.{key}: names CSV columns, but {role or path} is not a CSV file")
    if kind == "npz":
        return load_npz(path, dtype=dtype, targets=targets, missing=missing)
    if kind == "idx":
        if targets and labels is None:
            raise DataError(f"{path}: IDX images need their labels: pass --labels PATH")
        return load_idx(path, labels, dtype=dtype), None
    data = load_csv(path, target=target, features=features, dtype=dtype, target_required=targets,
                    text=text, detect_text=detect_text, missing=missing)  # fmt: skip
    return data, None
