"""Data is read as written or refused: never silently changed, never a traceback.

Each group below is a class of input; each case one member of it.
"""

import json
import re

import numpy as np
import pytest
from conftest import MOONS

from mlpcli.data.batching import BatchSchedule, Growth
from mlpcli.data.loaders import load_csv
from mlpcli.data.targets import class_labels
from mlpcli.errors import DataError

SEPARABLE = [(-2.0, -1.0, "a"), (-1.5, 0.5, "a"), (-1.0, -0.5, "a"), (1.0, 0.5, "b"),
             (1.5, -0.5, "b"), (2.0, 1.0, "b")]  # fmt: skip


def config_for(data: str, extra: str = "") -> str:
    return (
        "seed: 0\n"
        f"data: {{train: {data}}}\n"
        "model: {hidden: [4], activation: tanh}\n"
        f"train: {{epochs: 60, batch: {{mode: batch}}, lr: 0.5}}\n{extra}"
    )


def train(mlp, tmp_path, config: str, code: int = 0, *sets: str):
    (tmp_path / "c.yaml").write_text(config)
    args = ["train", tmp_path / "c.yaml", "--out", tmp_path / "run", "--force", "--json", "-q"]
    for s in sets:
        args += ["--set", s]
    res = mlp(*args)
    assert res.exit_code == code, res.stderr
    assert "Traceback" not in res.stderr and "RuntimeWarning" not in res.stderr
    return res


def one_error(res, pattern):
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(pattern, errors[0]), res.stderr


# -- a cell is read as written ------------------------------------------------------------


def test_a_hash_inside_a_cell_is_data_not_a_comment(tmp_path):
    (tmp_path / "d.csv").write_text(
        "# a comment line\n  # an indented comment\n\nx1,x2,label\n1,2,C\n3,4,C#\n \t \n5,6,C\n"
    )
    data = load_csv(tmp_path / "d.csv")
    assert data.y.tolist() == ["C", "C#", "C"]
    assert [data.where(i) for i in range(3)] == ["line 5", "line 6", "line 8"]


def test_after_the_header_a_hash_line_is_a_row_never_dropped(mlp, tmp_path):
    """An id like '#C3' starts a row, not a comment: mlp predict keeps one row per row."""
    rows = "\n".join(f"C{i},{i % 3},{i % 2}" for i in range(30))
    (tmp_path / "d.csv").write_text(f"id,x1,label\n{rows}\n")
    config = tmp_path / "c.yaml"
    config.write_text(
        "data: {train: d.csv, features: [x1]}\nmodel: {hidden: []}\n"
        "train: {epochs: 2, batch: {mode: batch}}\n"
    )
    assert mlp("train", config, "--out", tmp_path / "r", "-q").exit_code == 0
    (tmp_path / "new.csv").write_text("id,x1\nC1,0\n#C2,1\nC3,2\n")
    res = mlp("predict", tmp_path / "r", "--data", tmp_path / "new.csv", "--keep", "id")
    assert res.exit_code == 0, res.stderr
    assert [line.split(",")[0] for line in res.stdout.splitlines()] == ["id", "C1", "#C2", "C3"]
    (tmp_path / "notes.csv").write_text("id,x1\nC1,0\n# a note\n")
    res = mlp("predict", tmp_path / "r", "--data", tmp_path / "notes.csv")
    assert res.exit_code == 2
    assert (
        "notes.csv, line 3: expected 2 columns like the header, found 1; comments go "
        "before the header" in res.stderr
    )


@pytest.mark.parametrize(
    "cell", ["1#2", "1_000", "١٢", "１２", "0x1F", "1,5"], ids=["hash", "underscore",
                                                              "arabic-indic", "full-width",
                                                              "hex", "quoted comma"]
)  # fmt: skip
def test_a_cell_numpy_cannot_read_is_named_by_line_and_column(cell, mlp, tmp_path):
    cell = f'"{cell}"' if "," in cell else cell
    (tmp_path / "d.csv").write_text(f"x1,x2,label\n1,2,a\n\n3,{cell},b\n5,6,a\n")
    res = train(mlp, tmp_path, config_for("d.csv"), 2)
    one_error(res, r"d\.csv, line 4, column 'x2': could not convert '.+' to a number")


# -- a class is a value, not a spelling ------------------------------------------------------


def classes_read(labels: list[str], tmp_path) -> list:
    """The class of each label, as a CSV with these labels in its last column reads them."""
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    (tmp_path / "d.csv").write_text("x,label\n" + rows)
    return class_labels(load_csv(tmp_path / "d.csv")).tolist()


@pytest.mark.parametrize(
    "labels,expected",
    [
        (["1", "1.0", "01", "+1", "0"], [1, 1, 1, 1, 0]),
        (["1e0", "2", "2.00"], [1, 2, 2]),
        ([" cat", "cat ", "dog"], ["cat", "cat", "dog"]),
    ],
)
def test_labels_are_classes_by_value(labels, expected, tmp_path):
    assert classes_read(labels, tmp_path) == expected


@pytest.mark.parametrize(
    "labels,pattern",
    [
        (["0", "", "1"], r"empty class label at line 3"),
        (["0", "0.5", "1"], r"class label '0\.5' at line 3 is not a whole number"),
        (["0", "nan", "1"], r"class label 'nan' at line 3 is not a whole number"),
        (["0", "1e300", "1"], r"class label '1e300' at line 3 is not a whole number"),
    ],
)
def test_labels_that_are_not_classes_are_refused(labels, pattern, mlp, tmp_path):
    rows = "".join(f"{i},{i % 2},{label}\n" for i, label in enumerate(labels))
    (tmp_path / "d.csv").write_text("x1,x2,label\n" + rows)
    one_error(train(mlp, tmp_path, config_for("d.csv"), 2), pattern)


def test_float_idx_or_npz_labels_are_checked_not_cast(mlp, tmp_path):
    x = np.arange(8.0).reshape(4, 2)
    for y, pattern in (
        (np.array([0.0, np.nan, 1.0, 0.0]), r"class label nan at row 2 is not a whole number"),
        (np.array([0.0, 1.0, 2.5, 1.0]), r"class label 2\.5 at row 3 is not a whole number"),
        (np.array([0.0, 1.0, 1e19, 1.0]), r"class label 1e\+19 at row 3 is not a whole number"),
    ):
        np.savez(tmp_path / "d.npz", x=x, y=y)
        one_error(train(mlp, tmp_path, config_for("d.npz"), 2), pattern)


@pytest.mark.parametrize(
    "y,pattern",
    [
        (
            np.zeros(4, dtype=[("a", "f4"), ("b", "i4")]),
            r"'y' has dtype .* expected numbers or text",
        ),
        (np.array([1 + 2j, 0, 1, 0]), r"'y' has dtype complex128, expected numbers or text"),
        (np.array(["2020-01-01"] * 4, dtype="datetime64[D]"), r"'y' has dtype datetime64"),
    ],
    ids=["structured", "complex", "datetime"],
)
def test_npz_targets_of_exotic_dtypes_are_refused(y, pattern, mlp, tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(8.0).reshape(4, 2), y=y)
    one_error(train(mlp, tmp_path, config_for("d.npz"), 2), pattern)


# -- numbers at the edge of float64 ------------------------------------------------------------


@pytest.mark.parametrize("magnitude", [1e300, 1e-300, 1e150])
def test_features_at_any_finite_magnitude_standardize_and_train(magnitude, mlp, tmp_path):
    rows = "".join(f"{a * magnitude!r},{b},{label}\n" for a, b, label in SEPARABLE)
    (tmp_path / "d.csv").write_text("x1,x2,label\n" + rows)
    res = train(mlp, tmp_path, "dtype: float64\n" + config_for("d.csv"))
    assert res.json()["final"]["train_accuracy"] == 1.0
    tensors_std = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert tensors_std["stop_reason"] == "completed"


def test_a_value_too_large_for_float32_is_named(mlp, tmp_path):
    np.savez(tmp_path / "d.npz", x=np.array([[1.0, 2.0], [1e300, 0.0], [3.0, 1.0]]),
             y=np.array([0, 1, 0]))  # fmt: skip
    res = train(mlp, tmp_path, config_for("d.npz"), 2)
    one_error(res, r"1e\+300 at row 2, column 'x1' is too large for float32 \(set dtype: float64\)")


@pytest.mark.parametrize(
    "source,pattern",
    [
        ("{generator: moons, n_samples: 100, noise: 1.0e+308}", r"data\.train: generator moons "
         "produced values that are not finite"),
        ("{generator: blobs, n_samples: 100, box: 1.0e+308, spread: 1.0e+308}",
         r"data\.train: generator blobs cannot draw data with these parameters"),
    ],
    ids=["moons noise", "blobs box"],
)  # fmt: skip
def test_generated_data_that_overflows_is_bad_data_not_divergence(source, pattern, mlp, tmp_path):
    one_error(train(mlp, tmp_path, config_for(source), 2), pattern)


@pytest.mark.parametrize(
    "features,pattern",
    [
        ("{type: rbf, sigma: 1.0e-200}", r"model\.features: sigma 1e-200 is too small"),
        ("{type: fourier, scale: 1.0e+300}", r"the φ\(x\) of row \d+ is not a finite number"),
        ("{type: polynomial, degree: 10}", r"the φ\(x\) of line \d+ is not a finite number"),
    ],
)
def test_basis_functions_that_overflow_are_refused(features, pattern, mlp, tmp_path):
    rows = "".join(f"{a * 1e35!r},{b},{label}\n" for a, b, label in SEPARABLE)
    (tmp_path / "d.csv").write_text("x1,x2,label\n" + rows)
    source = "d.csv" if "polynomial" in features else "{generator: moons, n_samples: 60}"
    config = config_for(source).replace("model: {", f"model: {{features: {features}, ")
    config = config.replace("data: {", "data: {standardize: false, ")
    one_error(train(mlp, tmp_path, config, 2), pattern)


def test_a_target_among_the_features_is_refused(mlp, tmp_path):
    (tmp_path / "d.csv").write_text("x1,x2,label\n1,2,a\n3,4,b\n5,6,a\n")
    config = config_for("d.csv").replace("data: {", "data: {features: [x1, label], ")
    one_error(train(mlp, tmp_path, config, 2), r"column 'label' is both the target and a feature")


# -- arithmetic that used to overflow -----------------------------------------------------------


@pytest.mark.parametrize(
    "growth,epochs,expected",
    [
        (Growth(2.0, 1, 64), [0, 3, 1022, 1023, 1024, 10**12], [8, 64, 64, 64, 64, 64]),
        (Growth(1e300, 1, None), [0, 1, 2, 10**6], [8, 500, 500, 500]),
        (Growth(1.5, 3, 500), [0, 3, 30, 33], [8, 12, 461, 500]),
    ],
)
def test_growing_batches_never_overflow(growth, epochs, expected):
    schedule = BatchSchedule("minibatch", 500, 8, growth)
    assert [schedule.size_at(e) for e in epochs] == expected


def test_a_long_run_of_growing_batches_finishes_and_saves(mlp, tmp_path):
    res = train(mlp, tmp_path, MOONS, 0, "train.epochs=1100",
                "train.batch={size: 8, growth: {factor: 2, every: 1, max: 64}}",
                "data.validation_split=null")  # fmt: skip
    assert res.json()["epochs_run"] == 1100


def test_reading_data_never_warns(tmp_path):
    (tmp_path / "d.csv").write_text("x1,x2,label\n1e39,2,a\n3,4,b\n")  # beyond float32
    with pytest.raises(DataError, match="Input contains infinity"):
        with np.errstate(all="raise"):
            load_csv(tmp_path / "d.csv")


# -- found by review ----------------------------------------------------------------------------


def test_a_constant_column_stays_harmless_at_predict_time(mlp, tmp_path):
    rows = "".join(f"{a},{b},0.1,{label}\n" for a, b, label in SEPARABLE)
    (tmp_path / "d.csv").write_text("x1,x2,c,label\n" + rows)
    train(mlp, tmp_path, "dtype: float64\n" + config_for("d.csv"))
    (tmp_path / "new.csv").write_text("x1,x2,c\n-2.0,-1.0,0.2\n2.0,1.0,0.2\n")
    res = mlp("predict", tmp_path / "run", "--data", tmp_path / "new.csv")
    assert res.exit_code == 0, res.stderr
    assert [line.split(",")[0] for line in res.stdout.splitlines()[1:]] == ["a", "b"]


def test_r2_of_large_float32_targets_is_computed_in_float64():
    from mlpcli.metrics import regression_report

    t = np.array([[1e20], [2e20], [3e20]], dtype=np.float32)
    report = regression_report(t + np.float32(5e19), t)
    assert report["r2"] == pytest.approx(1 - 3 * 25e38 / 2e40, rel=1e-6)


@pytest.mark.parametrize(
    "labels,expected",
    [
        (["a", "b", "1", "1.0", "01"], ["a", "b", "1", "1", "1"]),
        (["x", "0.50", ".5"], ["x", "0.5", "0.5"]),
    ],
)
def test_numbers_among_text_labels_are_one_class_each(labels, expected, tmp_path):
    assert classes_read(labels, tmp_path) == expected


@pytest.mark.parametrize(
    "y,code,pattern",
    [
        (
            np.array([0, 1, 2**63, 1], dtype=np.uint64),
            2,
            r"class label 9223372036854775808 at row 3",
        ),
        (np.array([[0], [1], [0], [1]]), 0, None),  # a column vector of labels is fine
        (np.zeros((4, 0)), 2, r"no target column"),
    ],
    ids=["uint64 beyond int64", "labels as a column", "no target column"],
)
def test_npz_target_shapes_and_ranges(y, code, pattern, mlp, tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(8.0).reshape(4, 2), y=y)
    config = config_for("d.npz", "loss: squared_error\n" if y.shape[-1:] == (0,) else "")
    res = train(mlp, tmp_path, config, code)
    if pattern:
        one_error(res, pattern)


def test_idx_edge_shapes_and_ranges_are_named(mlp, tmp_path):
    import struct

    def idx(name, code, dims, payload):
        head = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
        (tmp_path / name).write_bytes(head + payload)

    idx("lab.idx", 0x08, [2], bytes([0, 1]))
    idx("img.idx", 0x08, [2, 0, 3], b"")
    res = train(mlp, tmp_path, config_for("{images: img.idx, labels: lab.idx}"), 2)
    one_error(res, r"img\.idx: IDX shape \(2, 0, 3\) holds no data")
    idx("img.idx", 0x0E, [2, 1, 2], np.array([1.0, 2.0, 1e300, 0.0], ">f8").tobytes())
    res = train(mlp, tmp_path, config_for("{images: img.idx, labels: lab.idx}"), 2)
    one_error(res, r"img\.idx \(labels: lab\.idx\): Input contains infinity.*beyond float32")
    idx("lab.idx", 0x0D, [2], np.array([0.0, 0.5], ">f4").tobytes())
    idx("img.idx", 0x08, [2, 1, 2], bytes(4))
    res = train(mlp, tmp_path, config_for("{images: img.idx, labels: lab.idx}"), 2)
    one_error(res, r"\(labels: lab\.idx\): class label 0\.5 at row 2 is not a whole number")


# -- what other programs write -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("x1;x2;label\n0,5;1;a\n", r"line 1: the header is one column 'x1;x2;label'; columns "
         r"are separated by commas, not ';'"),
        ("x1,x2,label,\n1,2,a,\n3,4,b,\n", r"column 4 of the header has no name"),
        (",x1,label\n0,1,a\n1,2,b\n", r"column 1 of the header has no name"),
        ("x1,x2,label\n1,2,a\nNA,4,b\n", r"line 3, column 'x1': could not convert 'NA' to a "
         r"number; only empty cells and NaN are missing values: replace 'NA' by an empty cell"),
        ('x1,label\n1,"two\nlines"\n', r"line 3: expected 2 columns like the header, found 1; "
         r"a quoted cell that spans lines is not supported"),
        ('x1,label\n"0,5",a\n"1,25",b\n"-2,0",a\n', r"column 'x1': the cells look like "
         r"numbers with a decimal comma or a thousands separator \('-2,0'\)"),
    ],
    ids=["semicolons", "trailing comma", "unnamed index", "NA marker", "multi-line cell",
         "decimal comma"],
)  # fmt: skip
def test_export_quirks_are_refused_with_what_to_do(text, pattern, mlp, tmp_path):
    (tmp_path / "d.csv").write_text(text)
    one_error(train(mlp, tmp_path, config_for("d.csv"), 2), pattern)


def test_a_byte_that_is_not_utf8_is_named_by_its_line_and_offset(mlp, tmp_path):
    lines = [b"x1,label"] + [f"{i},{'ab'[i % 2]}".encode() for i in range(20_000)]
    lines[15_000] += b"\xe9"  # far past the decoder's first buffer
    data = b"\n".join(lines) + b"\n"
    (tmp_path / "d.csv").write_bytes(data)
    res = train(mlp, tmp_path, config_for("d.csv"), 2)
    offset = data.index(b"\xe9")
    one_error(res, rf"d\.csv, line 15001: not UTF-8 text \(invalid continuation byte: byte "
                   rf"0xe9 at offset {offset}\); save it as UTF-8")  # fmt: skip


def test_nan_in_a_text_column_is_a_missing_value_as_in_a_numeric_one(mlp, tmp_path):
    rows = [f"{'north' if i % 7 else 'NaN'},{i % 5},{'ab'[i % 2]}" for i in range(40)]
    (tmp_path / "d.csv").write_text("region,size,label\n" + "\n".join(rows) + "\n")
    one_error(train(mlp, tmp_path, config_for("d.csv"), 2),
              r"missing value \(an empty or NaN cell\) at line 2, column 'region'")  # fmt: skip
    extra = "data: {train: d.csv, missing: {strategy: most_frequent}}\n"
    train(mlp, tmp_path, config_for("d.csv").replace("data: {train: d.csv}\n", extra))
    from mlpcli.files.model import load_model

    assert load_model(tmp_path / "run").model.inputs.encoder.categories == [["north"]]


def test_a_text_model_evaluates_a_file_holding_only_its_numeric_looking_class(mlp, tmp_path):
    rows = [f"{i % 5},{i % 3},{['low', '2.5', 'high'][i % 3]}" for i in range(60)]
    (tmp_path / "d.csv").write_text("x1,x2,grade\n" + "\n".join(rows) + "\n")
    train(mlp, tmp_path, config_for("d.csv"))
    (tmp_path / "e.csv").write_text("x1,x2,grade\n1,1,2.5\n4,1,2.50\n")
    res = mlp("eval", tmp_path / "run", "--data", tmp_path / "e.csv", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["n"] == 2
