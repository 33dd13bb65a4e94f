"""Loaders for CSV, NPZ and IDX files, refusing bad data with the file, line and column.

* CSV: a header row, then one example per line; lines that are blank or
  whitespace, and lines whose first non-blank character is ``#``, are
  skipped (a ``#`` inside a cell is data). The target is the last column
  unless named; the features are all the other columns unless listed. A
  feature column none of whose cells is a number is text (categorical), and
  the inputs are then a :class:`~mlpcli.data.dataset.Table`; a column of
  numbers with a few words among them is refused at the first word. Empty
  and ``NaN`` cells are missing values, refused unless the caller imputes.
* NPZ: arrays ``x`` (N, D) and ``y`` (N,) or (N, K), optionally ``x_test``
  and ``y_test``; read with ``allow_pickle=False``, so nothing in the file is
  ever executed.
* IDX: the format of MNIST and Fashion-MNIST (raw or ``.gz``): an image file
  (N, rows, cols) flattened to rows and scaled to [0, 1], and a label file.
  The header is read first and never more bytes than it promises (+1).

Only regular files are read (``mlpcli/paths.py``).

Messages follow scikit-learn's wording where it has one ("Input contains
NaN", "X has 3 features, but the model expects 2").
"""

from __future__ import annotations

import csv
import difflib
import gzip
import math
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from mlpcli.data.dataset import Dataset, Table
from mlpcli.errors import DataError
from mlpcli.paths import regular_file


def _check_file(path: Path) -> None:
    if regular_file(path, "a data file", DataError).st_size == 0:
        raise DataError(f"{path}: the file is empty")


def shown(names: list[str], most: int = 12, width: int = 32) -> str:
    """Column names for a message: at most ``most`` of them, each cut to ``width`` characters
    (a file that is not a CSV must not have its first line echoed whole)."""
    cut = [n if len(n) <= width else n[: width - 1] + "…" for n in names[:most]]
    more = f", … ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(cut) + more


#: How the refusal of a missing value says what to do about it.
MISSING_HINT = (
    "to fill missing values, set data.missing: {strategy: mean} "
    "(or median, most_frequent, constant), fitted on the training split"
)


def check_finite(
    x: np.ndarray, data: Dataset, chunk: int = 16384, missing: bool = False,
    columns: list[str] | None = None,
) -> None:  # fmt: skip
    """Raise naming the first row and column holding NaN (unless ``missing`` values are
    allowed) or ±inf. ``columns`` names the columns of ``x`` (default the features).

    Checked a chunk of rows at a time: a mask of the whole array would cost as
    much memory again as a quarter of the data.
    """
    names = columns or data.feature_names
    for start in range(0, len(x), chunk):
        block = x[start : start + chunk]
        bad = np.isinf(block) if missing else ~np.isfinite(block)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            row += start
            kind = "NaN" if np.isnan(x[row, col]) else "infinity"
            hint = f"; {MISSING_HINT}" if kind == "NaN" else ""
            if kind == "infinity" and x.dtype == np.float32:
                hint = (
                    "; a number beyond float32's range (±3.4e38) reads as infinity: dtype: float64"
                )
            raise DataError(
                f"{data.source}: Input contains {kind} "
                f"({data.where(row)}, column '{names[col]}'){hint}"
            )


# -- CSV ----------------------------------------------------------------------


def _data_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of the header and every data line after it.

    Blank lines are skipped, and so are ``#`` comment lines *before* the header
    (a file's notes on where it came from). After the header every non-blank line
    is a row, even one whose first cell starts with ``#`` (an id like ``#C0003``):
    a row is never dropped unannounced, so predictions stay one per input row.
    """
    header = False
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:  # -sig: Excel's byte-order mark
            for number, line in enumerate(f, 1):
                stripped = line.strip()
                if stripped and (header or not stripped.startswith("#")):
                    header = True
                    yield number, line
    except UnicodeDecodeError as e:
        raise _not_utf8(path, e) from None


def _not_utf8(path: Path, error: UnicodeDecodeError) -> DataError:
    """The first byte that is not UTF-8, by line and offset in the file. (The decoder's own
    offset counts from the start of the buffer it was decoding, not of the file.)"""
    offset = 0
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                return DataError(
                    f"{path}, line {number}: not UTF-8 text ({e.reason}: byte "
                    f"0x{line[e.start]:02x} at offset {offset + e.start}); save it as UTF-8"
                )
            offset += len(line)
    return DataError(f"{path}: not a UTF-8 text file ({error.reason})")


def _rows(path: Path) -> Iterator[str]:
    """The data lines after the header, as NumPy's parser reads them (no comment handling
    of its own: a ``#`` inside a cell is data)."""
    lines = _data_lines(path)
    next(lines, None)
    return (line for _, line in lines)


def _split(line: str) -> list[str]:
    # Plain numeric lines (almost all) split on commas; quoted ones go through csv.
    if '"' in line:
        return next(csv.reader([line]))
    return line.rstrip("\r\n").split(",")


def _read_header(path: Path) -> tuple[int, list[str], Iterator[tuple[int, str]]]:
    lines = _data_lines(path)
    try:
        number, header = next(lines)
    except StopIteration:
        raise DataError(f"{path}: the file has no header row and no data") from None
    names = [name.strip() for name in _split(header)]
    other = next((sep for sep in (";", "\t", "|") if len(names) == 1 and sep in names[0]), None)
    if other is not None:
        raise DataError(
            f"{path}, line {number}: the header is one column {names[0]!r}; columns are "
            f"separated by commas, not {other!r} (save the file as comma-separated)"
        )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{path}, line {number}: the header names column '{dup}' twice")
    return number, names, lines


def csv_columns(path: str | Path) -> list[str]:
    """The column names in a CSV file's header row."""
    path = Path(path)
    _check_file(path)
    return _read_header(path)[1]


def read_columns(path: str | Path, wanted: list[str]) -> np.ndarray:
    """The cells of the named columns as text (N, len(wanted)), one row per data row."""
    path = Path(path)
    _check_file(path)
    _, names, lines = _read_header(path)
    columns = [_column_index(path, names, name, "kept") for name in wanted]
    _row_lines(path, lines, len(names))
    return _text(path, columns)


def _column_index(path: Path, names: list[str], wanted: str, role: str) -> int:
    if wanted in names:
        return names.index(wanted)
    close = difflib.get_close_matches(wanted, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise DataError(f"{path}: {role} column '{wanted}' not found (columns: {shown(names)}){hint}")


def load_csv(
    path: str | Path,
    *,
    target: str | list[str] | None = None,
    features: list[str] | None = None,
    dtype: np.dtype | type = np.float32,
    target_required: bool = True,
    text: Sequence[str] = (),
    detect_text: bool = True,
    missing: bool = False,
) -> Dataset:
    """Read a CSV file with a header row.

    Parameters
    ----------
    target : str or list of str, optional
        Target column name(s); default the last column.
    features : list of str, optional
        Feature columns, in this order; default every other column.
    dtype : float dtype
        Of the returned inputs (parsed directly into it: no float64 copy).
    target_required : bool
        False for prediction inputs: a missing target column is then fine
        (``y`` is None) and, with no ``features``, every column is a feature.
    text : sequence of str
        Feature columns read as text (categorical) whatever they hold.
    detect_text : bool
        Whether other columns none of whose cells is a number are text too
        (training); False where the model fixes which columns are (prediction).
    missing : bool
        Whether empty and NaN cells are allowed (the model imputes them).

    Returns
    -------
    Dataset
        ``x`` (N, D) floats, or a :class:`Table` when some features are text;
        ``y`` (N,) strings for one target column (converted later to class
        labels or numbers), (N, K) strings for several.
    """
    path = Path(path)
    _check_file(path)
    _, names, lines = _read_header(path)
    targets, target_idx, feature_idx = _columns(path, names, target, features, target_required)
    # One streaming pass checks the shape of every row and records where rows sit,
    # before the fast C parser reads the numbers (from our own filtered lines, so
    # skipping blank and comment lines follows one rule).
    line_numbers = _row_lines(path, lines, len(names))
    forced = {_column_index(path, names, t, "categorical") for t in text}
    if forced - set(feature_idx):
        name = names[min(forced - set(feature_idx))]
        raise DataError(f"{path}: categorical column '{name}' is not a feature")
    x, text_idx = _features(path, names, feature_idx, forced, line_numbers, dtype, detect_text)
    y = None
    if target_idx:
        y = _text(path, target_idx)
        y = y[:, 0] if len(target_idx) == 1 else y
    data = Dataset(
        x=x,
        y=y,
        feature_names=[names[i] for i in feature_idx],
        target_names=targets,
        source=str(path),
        line_of_row=lambda row: int(line_numbers[row]),
    )
    numeric_names = [names[i] for i in feature_idx if i not in text_idx]
    check_finite(x, data, missing=missing, columns=numeric_names)
    if text_idx:
        words = _text(path, text_idx)
        _check_present(data, words, [names[i] for i in text_idx], missing)
        kinds = "".join("t" if i in text_idx else "n" for i in feature_idx)
        data.x = Table(x, words, kinds)
    return data


def _features(
    path: Path,
    names: list[str],
    feature_idx: list[int],
    forced: set[int],
    line_numbers: np.ndarray,
    dtype: np.dtype | type,
    detect_text: bool,
) -> tuple[np.ndarray, list[int]]:
    """(the numeric feature columns (N, D_num), the indices of the text columns)."""
    numeric_idx = [i for i in feature_idx if i not in forced]
    found: list[int] = []
    try:  # the fast path: every feature a number, parsed by NumPy's C parser
        x = np.empty((len(line_numbers), 0), dtype=dtype)
        if numeric_idx:
            x = np.loadtxt(_rows(path), usecols=numeric_idx, dtype=dtype, ndmin=2, **_READ)
    except ValueError as e:  # an empty cell, or a word: a text column or a typo
        cells = _text(path, numeric_idx)
        x, found = _numbers(path, names, numeric_idx, cells, line_numbers, dtype, detect_text, e)
    text = forced | set(found)
    return x, [i for i in feature_idx if i in text]  # in the features' order, like the numbers


_READ = dict(delimiter=",", comments=None, quotechar='"')


def _text(path: Path, columns: list[int]) -> np.ndarray:
    """The cells of ``columns`` as stripped text (N, len(columns))."""
    return np.char.strip(np.loadtxt(_rows(path), usecols=columns, dtype=str, ndmin=2, **_READ))


def _numbers(
    path: Path,
    names: list[str],
    columns: list[int],
    cells: np.ndarray,
    line_numbers: np.ndarray,
    dtype,
    detect_text: bool,
    error: ValueError,
) -> tuple[np.ndarray, list[int]]:
    """(numbers of the numeric columns among ``columns``, the text columns among them).

    An empty cell is a missing value (NaN, refused later unless imputed). A
    column none of whose other cells is a number is text when ``detect_text``;
    a column mixing numbers and words is refused at its first word, since a
    typo in a column of numbers must not quietly make it categorical.
    """
    out, text = [], []
    for k, col in enumerate(columns):
        values = cells[:, k]
        unique, inverse = np.unique(values, return_inverse=True)
        parsed = np.array([_number(v) for v in unique.tolist()], dtype=np.float64)
        words = np.isnan(parsed) & (unique != "") & (np.char.lower(unique) != "nan")
        if not words.any():
            with np.errstate(over="ignore"):  # beyond the dtype: inf, refused by check_finite
                out.append(parsed[inverse].astype(dtype))
            continue
        given = (unique != "") & (np.char.lower(unique) != "nan")  # NaN: missing, as ''
        if detect_text and not (given & ~words).any():
            _check_decimal_commas(path, names[col], unique[given])
            text.append(col)
            continue
        row = int(np.flatnonzero(words[inverse])[0])
        raise DataError(
            f"{path}, line {int(line_numbers[row])}, column '{names[col]}': could not convert "
            f"{str(values[row])!r} to a number{_word_hint(names[col], values[row], detect_text)}"
        ) from None
    if not out and not text:
        raise _bad_number(path, names, line_numbers, error)
    shape = (len(cells), len(out))
    return (np.stack(out, axis=1) if out else np.empty(shape, dtype=dtype)), text


#: Cells other programs write for a missing value; here only empty cells and NaN are.
MISSING_MARKERS = {"na", "n/a", "#n/a", "null", "none", "nil", "missing", "?", "-", "--", "."}


def _word_hint(name: str, cell: str, detect_text: bool) -> str:
    """Why a column of numbers has a word in it, and what to do."""
    if cell.strip().lower() in MISSING_MARKERS:
        return (f"; only empty cells and NaN are missing values: replace {cell.strip()!r} "
                "by an empty cell")  # fmt: skip
    return f"; if '{name}' is categorical, list it in data.categorical" if detect_text else ""


_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def _check_decimal_commas(path: Path, name: str, cells: np.ndarray) -> None:
    """Refuse a column of words that are all numbers written with a decimal comma ("0,5"):
    one-hot encoding them would silently make a number a category."""
    if len(cells) and all(_DECIMAL_COMMA.fullmatch(c) for c in cells.tolist()):
        raise DataError(
            f"{path}, column '{name}': the cells look like numbers with a decimal comma "
            f"or a thousands separator ({str(cells[0])!r}); write them with a decimal point "
            f"and no separator, or list '{name}' in data.categorical if they are categories"
        )


def _number(cell: str) -> float:
    """A cell as the CSV parser reads it (``np.loadtxt``, the same rules as the fast path:
    ``1_000`` is no number here), or NaN when it is no number or empty."""
    if not cell:
        return np.nan
    quoted = '"' + cell.replace('"', '""') + '"'
    try:
        return float(np.loadtxt([quoted], dtype=np.float64, ndmin=1, **_READ)[0])
    except ValueError:
        return np.nan


def _check_present(data: Dataset, words: np.ndarray, names: list[str], missing: bool) -> None:
    """Refuse an empty or NaN text cell unless missing values are imputed; NaN cells
    become '' (``words`` is changed in place), the one spelling of a missing category."""
    words[np.char.lower(words) == "nan"] = ""
    empty = words == ""
    if not missing and empty.any():
        row, col = (int(i) for i in np.argwhere(empty)[0])
        raise DataError(
            f"{data.source}: missing value (an empty or NaN cell) at {data.where(row)}, "
            f"column '{names[col]}'; {MISSING_HINT}"
        )


def _columns(
    path: Path,
    names: list[str],
    target: str | list[str] | None,
    features: list[str] | None,
    target_required: bool,
) -> tuple[list[str], list[int], list[int]]:
    """(target names, target column indices, feature column indices) of a CSV header."""
    targets = [names[-1]] if target is None else [target] if isinstance(target, str) else target
    if not target_required:
        targets = [t for t in targets if t in names] if target is not None else []
    target_idx = [_column_index(path, names, t, "target") for t in targets]
    if features is None:
        feature_idx = [i for i in range(len(names)) if i not in target_idx]
    else:
        feature_idx = [_column_index(path, names, f, "feature") for f in features]
        leaked = [names[i] for i in feature_idx if i in target_idx]
        if leaked:  # the label among the inputs: a model that "learns" by reading the answer
            raise DataError(f"{path}: column '{leaked[0]}' is both the target and a feature")
    if not feature_idx:
        raise DataError(f"{path}: no feature columns besides the target")
    unnamed = [i for i in target_idx + feature_idx if not names[i]]
    if unnamed:  # a row index (pandas' to_csv) or a trailing comma, silently an input
        raise DataError(
            f"{path}: column {unnamed[0] + 1} of the header has no name (a trailing comma, "
            "or a row index written without a name?); name it, or choose the columns "
            "with data.features"
        )
    return targets, target_idx, feature_idx


def _row_lines(path: Path, lines: Iterator[tuple[int, str]], n_columns: int) -> np.ndarray:
    """The 1-based line number of every data row, checking that each has ``n_columns`` cells."""
    row_lines = []
    for number, line in lines:
        n = len(_split(line))
        if n != n_columns:
            hint = "; comments go before the header" if line.lstrip().startswith("#") else ""
            if line.count('"') % 2:
                hint = "; a quoted cell that spans lines is not supported"
            raise DataError(
                f"{path}, line {number}: expected {n_columns} columns like the header, "
                f"found {n}{hint}"
            )
        row_lines.append(number)
    if not row_lines:
        raise DataError(f"{path}: the file has a header but no data rows")
    return np.asarray(row_lines, dtype=np.int64)


_NUMPY_CELL = re.compile(r"could not convert string (.*) to \w+ at row (\d+), column (\d+)")


def _bad_number(path: Path, names: list[str], line_numbers: np.ndarray, e: ValueError) -> DataError:
    """The parser's complaint as our message: file, line, column, the cell that is no number.

    NumPy names the 0-based row among the lines it was given and the 1-based column.
    """
    m = _NUMPY_CELL.search(str(e))
    if m is None:
        return DataError(f"{path}: not a table of numbers ({e})")
    cell, row, column = m.group(1), int(m.group(2)), int(m.group(3))
    line = int(line_numbers[row]) if row < len(line_numbers) else row + 1
    return DataError(
        f"{path}, line {line}, column '{names[column - 1]}': "
        f"could not convert {cell.strip()} to a number"
    )


# -- NPZ ----------------------------------------------------------------------


def load_npz(
    path: str | Path,
    *,
    dtype: np.dtype | type = np.float32,
    targets: bool = True,
    missing: bool = False,
) -> tuple[Dataset, Dataset | None]:
    """Read arrays ``x``, ``y`` (and ``x_test``, ``y_test`` if present) from an .npz file.

    Returns the training dataset and the test dataset or None. With
    ``targets=False`` (prediction) ``y`` may be absent; with ``missing`` NaN
    inputs are allowed (imputed by the model). Object arrays are refused:
    loading them would mean unpickling code from the file.
    """
    path = Path(path)
    _check_file(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz archive ({e})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array, not an .npz archive with 'x' and 'y'")
    with archive:
        keys = set(archive.files)
        for key in ("x", "y") if targets else ("x",):
            if key not in keys:
                raise DataError(f"{path}: no array '{key}' (arrays: {shown(sorted(keys))})")

        def get(key: str) -> np.ndarray:
            try:
                return archive[key]
            except ValueError as e:
                if "allow_pickle" in str(e) or "Object arrays" in str(e):
                    raise DataError(
                        f"{path}: array '{key}' holds Python objects; refusing to unpickle it"
                    ) from None
                raise DataError(f"{path}: array '{key}' is unreadable ({e})") from None
            except Exception as e:  # zip, zlib and .npy-header errors of a damaged file
                raise DataError(f"{path}: array '{key}' is unreadable ({e})") from None

        y = get("y") if "y" in keys else None
        train = _npz_dataset(path, get("x"), y, "x", "y", dtype, missing)
        test = None
        if "x_test" in keys or "y_test" in keys:
            if not {"x_test", "y_test"} <= keys:
                raise DataError(f"{path}: has one of 'x_test'/'y_test' but not both")
            test = _npz_dataset(
                path, get("x_test"), get("y_test"), "x_test", "y_test", dtype, missing
            )
    return train, test


def _npz_dataset(
    path: Path, x: np.ndarray, y: np.ndarray | None, xname: str, yname: str, dtype, missing: bool
) -> Dataset:
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: array '{xname}' has dtype {x.dtype}, expected numbers")
    if y is not None and y.dtype.kind not in "biufUS":
        raise DataError(f"{path}: array '{yname}' has dtype {y.dtype}, expected numbers or text")
    if x.ndim == 0 or (y is not None and y.ndim == 0):
        raise DataError(f"{path}: '{xname}' and '{yname}' must have one row per example")
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim > 2:
        x = x.reshape(len(x), -1)  # images: flatten each example to one row
    if y is not None and (y.ndim > 2 or len(y) != len(x)):
        raise DataError(f"{path}: '{xname}' has {len(x)} rows but '{yname}' has shape {y.shape}")
    if len(x) == 0 or x.shape[1] == 0:
        raise DataError(f"{path}: array '{xname}' of shape {x.shape} holds no inputs")
    data = Dataset(
        x=x,
        y=y,
        feature_names=[f"x{i + 1}" for i in range(x.shape[1])],
        target_names=[yname]
        if y is None or y.ndim == 1
        else [f"{yname}{k}" for k in range(y.shape[1])],
        source=f"{path} (arrays {xname}, {yname})" if y is not None else f"{path} ({xname})",
    )
    check_finite(x, data, missing=missing)
    with np.errstate(over="ignore"):  # beyond the dtype's range: inf, found just below
        data.x = x.astype(dtype, copy=False)
    if data.x is not x:
        for start in range(0, len(x), 16384):
            bad = np.isinf(data.x[start : start + 16384])  # NaN was refused (or allowed) above
            if bad.any():
                row, col = (int(i) for i in np.argwhere(bad)[0])
                row += start
                raise DataError(
                    f"{data.source}: {x[row, col].item()!r} at row {row + 1}, column "
                    f"'{data.feature_names[col]}' is too large for {np.dtype(dtype)} "
                    "(set dtype: float64)"
                )
    return data


# -- IDX ----------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def is_idx(path: str | Path) -> bool:
    """Whether the file (raw or gzip-compressed) starts with an IDX magic number."""
    try:
        with (gzip.open if _is_gzip(path) else open)(path, "rb") as f:
            head = f.read(4)
    except (OSError, EOFError, zlib.error):
        return False
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in _IDX_TYPES and head[3] > 0


def _is_gzip(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


#: Bytes read from a compressed stream per call: memory follows what is really there.
_CHUNK = 16 * 2**20


def read_idx(path: str | Path) -> np.ndarray:
    """One IDX array (raw or gzip-compressed).

    The header is read first; the body is read in chunks up to the size the
    header promises plus one byte, so a small ``.gz`` that expands to
    gigabytes costs no more than its header claims, and a raw file whose size
    disagrees with its header is refused before its body is read.
    """
    path = Path(path)
    size = regular_file(path, "a data file", DataError).st_size
    compressed = _is_gzip(path)
    try:
        with (gzip.open if compressed else open)(path, "rb") as f:
            dtype, shape, header = _idx_header(path, f)
            promised = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            if not compressed and size != header + promised:
                raise DataError(
                    f"{path}: IDX header promises shape {shape} ({header + promised} bytes), "
                    f"file has {size}"
                )
            body = bytearray()
            while len(body) <= promised and (
                chunk := f.read(min(_CHUNK, promised + 1 - len(body)))
            ):
                body += chunk
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: unreadable ({e})") from None
    if len(body) != promised:
        what = "more" if len(body) > promised else f"only {len(body)}"
        raise DataError(
            f"{path}: IDX header promises shape {shape} ({promised} bytes of data), "
            f"the {'stream' if compressed else 'file'} has {what}"
        )
    return np.frombuffer(body, dtype).reshape(shape)


def _idx_header(path: Path, f) -> tuple[np.dtype, tuple[int, ...], int]:
    """(element dtype, shape, header bytes) from the magic number and dimensions."""
    head = f.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = head[3]
    dims = f.read(4 * ndim)
    if ndim == 0 or len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(dims[4 * k : 4 * k + 4], "big") for k in range(ndim))
    if 0 in shape:
        raise DataError(f"{path}: IDX shape {shape} holds no data")
    return np.dtype(_IDX_TYPES[head[2]]), shape, 4 + 4 * ndim


def load_idx(
    images: str | Path, labels: str | Path | None, *, dtype: np.dtype | type = np.float32
) -> Dataset:
    """MNIST-style image and label files -> rows of pixels in [0, 1] and integer classes.

    ``labels=None`` reads the images only (``y`` is None), for prediction.
    """
    pixels = read_idx(images)
    classes = None
    if labels is not None:
        classes = read_idx(labels)
        if classes.ndim != 1:
            raise DataError(f"{labels}: labels must be one-dimensional, got shape {classes.shape}")
        if len(pixels) != len(classes):
            raise DataError(
                f"{images}: {len(pixels)} images but {labels} has {len(classes)} labels"
            )
    with np.errstate(over="ignore"):  # float64 pixels beyond float32: inf, named below
        x = pixels.reshape(len(pixels), -1).astype(dtype)
    if pixels.dtype == np.uint8:
        x /= 255
    data = Dataset(
        x=x,
        y=classes,  # checked and encoded with every other kind of label (data/targets.py)
        feature_names=[f"pixel{i}" for i in range(x.shape[1])],
        target_names=["label"],
        # messages about a label must name the label file too
        source=str(images) if labels is None else f"{images} (labels: {Path(labels).name})",
    )
    check_finite(x, data)
    return data
