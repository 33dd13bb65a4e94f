"""Loaders, generators and every kind of bad data: exit 2 and a message naming the place."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from conftest import DATASETS

from mlpcli.data.loaders import load_csv, load_idx, load_npz
from mlpcli.data.splits import split_rows
from mlpcli.data.synthetic import GENERATORS, BadParameter
from mlpcli.data.targets import encode_classes
from mlpcli.errors import DataError


def config(train: str, extra: str = "", loss: str = "cross_entropy") -> str:
    return f"""\
data: {{train: {train}{extra}}}
model: {{hidden: [4], activation: tanh}}
loss: {loss}
train: {{epochs: 2, batch: {{mode: minibatch, size: 4}}, lr: 0.1}}
"""


# -- loaders -------------------------------------------------------------------


def test_csv_with_comments_blank_lines_string_labels_and_named_columns(write):
    path = write(
        "d.csv",
        """\
        # iris-like sample

        # comments come before the header
        a, b, kind, c

        1.0, 2.0, cat, 3
        4, 5, dog, 6
        7,8,"cat",9
        """,
    )
    d = load_csv(path, target="kind", features=["c", "a"])
    np.testing.assert_array_equal(d.x, [[3, 1], [6, 4], [9, 7]])
    assert d.x.dtype == np.float32 and d.y.tolist() == ["cat", "dog", "cat"]
    indices, classes = encode_classes(d)
    assert classes.tolist() == ["cat", "dog"] and indices.tolist() == [0, 1, 0]
    default = load_csv(path, features=["a", "b"])  # target: the last column
    assert default.target_names == ["c"] and default.y.tolist() == ["3", "6", "9"]


def test_shipped_datasets_load_with_their_documented_shapes():
    shapes = {
        **{"xor": (200, 2), "moons": (500, 2), "circles": (500, 2), "spirals": (600, 2)},
        **{"blobs": (600, 2), "sine": (400, 1), "iris": (150, 4), "digits": (1797, 64)},
    }
    for name, shape in shapes.items():
        assert load_csv(DATASETS / f"{name}.csv").x.shape == shape
    assert set(load_csv(DATASETS / "iris.csv").y) == {"setosa", "versicolor", "virginica"}
    assert sum(p.stat().st_size for p in DATASETS.iterdir()) < 5e6


def test_csv_loading_holds_at_most_one_extra_copy(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 30)).round(4)
    text = "\n".join(",".join(map(str, row)) + f",{i % 3}" for i, row in enumerate(x))
    path = tmp_path / "big.csv"
    path.write_text(",".join(f"f{i}" for i in range(30)) + ",label\n" + text + "\n")
    tracemalloc.start()
    data = load_csv(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * data.x.nbytes + 1e6  # the array itself, plus at most one more of its size


def test_npz_with_a_bundled_test_set(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(10, 3)), y=np.arange(10) % 2,
             x_test=rng.normal(size=(4, 3)), y_test=np.array([0, 1, 1, 0]))  # fmt: skip
    train, test = load_npz(tmp_path / "d.npz")
    assert (
        train.x.shape == (10, 3) and train.x.dtype == np.float32 and test.y.tolist() == [0, 1, 1, 0]
    )


def write_idx(path, array, gz=False):
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_and_labels(tmp_path, gz):
    images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2) * 20
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"img-idx3-ubyte{suffix}", images, gz)
    write_idx(tmp_path / f"lab-idx1-ubyte{suffix}", np.array([7, 1, 7], dtype=np.uint8), gz)
    d = load_idx(tmp_path / f"img-idx3-ubyte{suffix}", tmp_path / f"lab-idx1-ubyte{suffix}")
    assert d.x.shape == (3, 4) and d.x.max() <= 1.0
    np.testing.assert_allclose(d.x[1], images[1].ravel() / 255)
    assert d.y.tolist() == [7, 1, 7]


def test_mnist_in_a_three_line_data_section(tmp_path, write, mlp):
    rng = np.random.default_rng(0)
    labels = np.arange(40, dtype=np.uint8) % 3
    images = (rng.random((40, 4, 4)) * 60 + labels[:, None, None] * 60).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, gz=True)
    path = write(
        "m.yaml", config("{images: train-images-idx3-ubyte.gz, labels: train-labels-idx1-ubyte.gz}")
    )
    res = mlp("train", path, "--out", "r", "--json", "-q")
    assert res.exit_code == 0, res.stderr
    assert res.json()["n_train"] == 40


def test_generators_are_seeded_and_shaped():
    for fn in GENERATORS.values():
        x1, y1 = fn(np.random.default_rng(3))
        x2, y2 = fn(np.random.default_rng(3))
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
        assert x1.ndim == 2 and len(x1) == len(y1)
    x, y = GENERATORS["xor"](np.random.default_rng(0), n_samples=4, noise=0.0)
    assert x.tolist() == [[-1, -1], [-1, 1], [1, -1], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    x, y = GENERATORS["spirals"](np.random.default_rng(0), n_samples=90, classes=5)
    assert np.bincount(y).tolist() == [18] * 5
    x, y = GENERATORS["linear"](np.random.default_rng(0), n_samples=200, margin=0.2)
    # linearly separable: Rosenblatt's perceptron rule reaches zero errors
    w, t = np.zeros(x.shape[1] + 1), 2 * y - 1
    phi = np.hstack([x, np.ones((len(x), 1))])
    for _ in range(10_000):
        wrong = np.flatnonzero(t * (phi @ w) <= 0)
        if len(wrong) == 0:
            break
        w += t[wrong[0]] * phi[wrong[0]]
    assert (t * (phi @ w) > 0).all()
    with pytest.raises(BadParameter, match="must be ≥ 0"):
        GENERATORS["moons"](np.random.default_rng(0), noise=-1)


def test_stratified_split_keeps_class_proportions():
    strata = np.repeat([0, 1, 2], [50, 30, 20])
    train, val = split_rows(100, 0.2, np.random.default_rng(0), strata)
    assert np.bincount(strata[val]).tolist() == [10, 6, 4]
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 100


@pytest.mark.parametrize(
    "sizes,fraction,held",
    [([5] * 1000, 0.5, 2500), ([3, 3, 4], 0.5, 5), ([150] * 4, 0.25, 150), ([7], 0.5, 4)],
)
def test_a_stratified_split_holds_out_the_fraction_of_all_rows(sizes, fraction, held):
    # Each class rounded on its own would not add up (5 rows at 0.5: 2 each, 40 %).
    strata = np.repeat(np.arange(len(sizes)), sizes)
    _, val = split_rows(len(strata), fraction, np.random.default_rng(0), strata)
    assert len(val) == held
    per_class = np.bincount(strata[val], minlength=len(sizes))
    assert (np.abs(per_class - fraction * np.array(sizes)) < 1).all()  # each its share ± 1


# -- bad data: exit 2 and the place ------------------------------------------------

BAD_DATA = {
    # name: (file name, file content or None for absent, message regex)
    "missing file": ("nope.csv", None, r"nope\.csv: no such file"),
    "empty file": ("d.csv", "", r"d\.csv: the file is empty"),
    "header only": ("d.csv", "x1,x2,label\n", r"d\.csv: the file has a header but no data rows"),
    "ragged row": (
        "d.csv",
        "x1,x2,label\n1,2,0\n3,1\n",
        r"d\.csv, line 3: expected 3 columns like the header, found 2",
    ),
    "non-numeric feature": (
        "d.csv",
        "x1,x2,label\n1,2,0\n3,abc,1\n",
        r"d\.csv, line 3, column 'x2': could not convert 'abc' to a number",
    ),
    "NaN": (
        "d.csv",
        "# c\nx1,x2,label\n1,2,0\n3,nan,1\n",
        r"d\.csv: Input contains NaN \(line 4, column 'x2'\)",
    ),
    "infinity": (
        "d.csv",
        "x1,x2,label\n1,2,0\ninf,1,1\n",
        r"d\.csv: Input contains infinity \(line 3, column 'x1'\)",
    ),
    "single class": (
        "d.csv",
        "x1,x2,label\n1,2,0\n3,1,0\n",
        r"a single class \(0\) in the target; classification needs at least two",
    ),
    "fewer rows than the batch": (
        "d.csv",
        "x1,x2,label\n1,2,0\n3,1,1\n",
        r"the training split has 2 rows, fewer than train\.batch\.size \(4\)",
    ),
    "not utf-8": (
        "d.csv",
        b"x1,x2,label\n1,2,\xff\n",
        r"d\.csv, line 2: not UTF-8 text \(invalid start byte: byte 0xff at offset 16\)",
    ),
    "npz without y": ("d.npz", {"x": np.zeros((4, 2))}, r"d\.npz: no array 'y' \(arrays: x\)"),
    "npz object array": (
        "d.npz",
        {"x": np.array([{}, {}], dtype=object), "y": np.zeros(2)},
        r"array 'x' holds Python objects; refusing to unpickle it",
    ),
    "not an npz": ("d.npz", "this is text", r"d\.npz: not a readable \.npz archive"),
    "unknown format": ("d.parquet", "PAR1", r"unknown data format '\.parquet'"),
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_exits_2_naming_the_place(case, write, mlp, tmp_path):
    name, content, message = BAD_DATA[case]
    if isinstance(content, dict):
        np.savez(tmp_path / name, **content)
    elif isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    elif content is not None:
        (tmp_path / name).write_text(content)
    res = mlp("train", write("c.yaml", config(name)), "--json")
    assert res.exit_code == 2, res.stderr
    import re

    assert re.search(message, res.stderr), res.stderr
    assert "Traceback" not in res.stderr
    assert list(tmp_path.glob("runs*")) == []  # bad data leaves no run directory


def test_target_column_missing_suggests_the_closest(write, mlp):
    write("d.csv", "x1,x2,Label\n1,2,0\n3,1,1\n")
    res = mlp("train", write("c.yaml", config("d.csv", ", target: label")))
    assert res.exit_code == 2
    assert (
        "target column 'label' not found (columns: x1, x2, Label); did you mean 'Label'?"
        in res.stderr
    )


def test_too_small_for_the_split(write, mlp):
    write("d.csv", "x1,x2,label\n1,2,0\n3,1,1\n2,2,0\n")
    res = mlp("train", write("c.yaml", config("d.csv", ", validation_split: 0.1")))
    assert (
        res.exit_code == 2
        and "data.validation_split 0.1 of 3 rows leaves 3 rows and holds out 0" in res.stderr
    )


def test_eval_data_with_other_features_or_unseen_labels(write, mlp, tmp_path):
    rows = "\n".join(f"{i % 3},{(i * 7) % 5},{i % 2}" for i in range(20))
    write("d.csv", f"x1,x2,label\n{rows}\n")
    assert mlp("train", write("c.yaml", config("d.csv")), "--out", "r", "-q").exit_code == 0
    write("wide.csv", "a,b,c,label\n1,2,3,0\n")  # not the training names: never by position
    res = mlp("eval", tmp_path / "r", "--data", "wide.csv")
    assert res.exit_code == 2
    assert "wide.csv: feature column 'x1' not found (columns: a, b, c, label)" in res.stderr
    write("new.csv", "x1,x2,label\n1,2,0\n2,2,5\n")
    res = mlp("eval", tmp_path / "r", "--data", "new.csv")
    assert res.exit_code == 2
    assert "label 5 at line 3 was never seen in training (the model knows: 0, 1)" in res.stderr
    write("nolabel.csv", "x1,x2\n1,2\n")
    res = mlp("eval", tmp_path / "r", "--data", "nolabel.csv")
    assert res.exit_code == 2 and "target column 'label' not found" in res.stderr
    res = mlp("predict", tmp_path / "r", "--data", "nolabel.csv")  # prediction needs no target
    assert res.exit_code == 0 and res.stdout.splitlines()[0].startswith("prediction")


def test_regression_target_must_be_numeric(write, mlp):
    write("d.csv", "x,y\n1,2\n2,abc\n3,4\n4,5\n")
    res = mlp("train", write("c.yaml", config("d.csv", loss="squared_error")))
    assert (
        res.exit_code == 2 and "target 'abc' at line 3 (column 'y') is not a number" in res.stderr
    )


def test_loader_errors_are_data_errors(tmp_path):
    (tmp_path / "d.csv").write_text("a,a,b\n1,2,3\n")
    with pytest.raises(DataError, match="names column 'a' twice"):
        load_csv(tmp_path / "d.csv")


def test_predict_reads_an_npz_without_targets(write, mlp, tmp_path):
    rows = "\n".join(f"{i % 3},{(i * 7) % 5},{i % 2}" for i in range(20))
    write("d.csv", f"x1,x2,label\n{rows}\n")
    assert mlp("train", write("c.yaml", config("d.csv")), "--out", "r", "-q").exit_code == 0
    np.savez(tmp_path / "x.npz", x=np.array([[0.0, 1.0], [2.0, 3.0]]))
    res = mlp("predict", tmp_path / "r", "--data", tmp_path / "x.npz")
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 3
    res = mlp("predict", tmp_path / "r", "--data", tmp_path / "x.npz", "--out", tmp_path)
    assert res.exit_code == 2 and f"error: {tmp_path}:" in res.stderr  # names the user's path


def test_csv_with_an_excel_byte_order_mark(tmp_path):
    (tmp_path / "d.csv").write_bytes("x1,x2,label\n1,2,0\n3,4,1\n".encode("utf-8-sig"))
    d = load_csv(tmp_path / "d.csv", features=["x1", "x2"])
    assert d.feature_names == ["x1", "x2"] and d.y.tolist() == ["0", "1"]
