"""Data as it comes: text (categorical) columns, missing cells, imbalanced classes, and
predictions a user can join back to the data. Each option is tried with the bad input it
invites: exit 2, one line naming the place, nothing written."""

import csv
import io
import json

import numpy as np
import pytest
from conftest import CONFIGS, DATASETS

from mlpcli.config.schema import Config
from mlpcli.data.loaders import load_csv
from mlpcli.data.weights import class_weights
from mlpcli.engine import (
    BinaryCrossEntropy,
    Hinge,
    MulticlassHinge,
    Node,
    SoftmaxCrossEntropy,
    SquaredError,
)
from mlpcli.files.model import load_model
from mlpcli.gradcheck import check_op
from mlpcli.nn.encoding import Encoder

TABLE = """\
id,region,size,income,label
{rows}
"""


def table(n=40, gap_every=0, unseen=None):
    """A small CSV: region text, size number, income with gaps, label a/b (3:1)."""
    regions = ["north", "south", "east"]
    rows = []
    for i in range(n):
        income = "" if gap_every and i % gap_every == 3 else f"{20 + (i * 7) % 30}"
        region = unseen if unseen and i == n - 1 else regions[i % 3]
        label = "b" if (i % 4 == 0) == (region == "north") else "a"
        rows.append(f"r{i},{region},{i % 5},{income},{label}")
    return TABLE.format(rows="\n".join(rows))


CONFIG = """\
seed: 1
data:
  train: d.csv
  features: [region, size, income]
  validation_split: 0.25
{extra}
model: {{hidden: [8], activation: tanh}}
train: {{epochs: 3, batch: {{mode: minibatch, size: 8}}, lr: 0.1}}
"""


def setup(write, data, extra=""):
    write("d.csv", data)
    return write("c.yaml", CONFIG.format(extra=extra))


def refused(res, pattern, tmp_path):
    import re

    assert res.exit_code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(pattern, lines[0]), res.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# -- categorical columns -----------------------------------------------------------------


def test_a_text_column_is_one_hot_encoded_and_named_in_the_header(write, mlp, tmp_path):
    path = setup(write, table())
    res = mlp("train", path, "--out", "run")
    assert res.exit_code == 0, res.stderr
    assert "categorical, one-hot: region (3)" in res.stderr
    saved = load_model(tmp_path / "run")
    enc = saved.model.inputs.encoder
    assert enc.kinds == "tnn" and enc.categories == [["east", "north", "south"]]
    assert saved.model.layers[0].in_features == 5  # 3 one-hot + size + income
    # one-hot columns are not standardized: μ 0, s 1
    assert saved.model.inputs.standardizer.mean[:3].tolist() == [0, 0, 0]
    assert saved.model.inputs.standardizer.std[:3].tolist() == [1, 1, 1]


def test_one_hot_rows_are_exact_and_unseen_categories_follow_the_policy(tmp_path):
    (tmp_path / "d.csv").write_text(table())
    data = load_csv(tmp_path / "d.csv", target="label", features=["region", "size"])
    enc = Encoder.fit(data.x, np.arange(30), data.feature_names)
    out = enc(data.x[:3])
    assert out[:, :3].tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0]]  # north, south, east
    assert out[:, 3].tolist() == [0, 1, 2]
    data.x.text[0, 0] = "mars"
    with pytest.raises(ValueError, match="category 'mars' was never seen"):
        enc(data.x[:1])
    enc.unknown = ["zeros"]
    assert enc(data.x[:1])[0, :3].tolist() == [0, 0, 0]


def test_an_unseen_category_at_predict_time_names_the_line(write, mlp, tmp_path):
    path = setup(write, table())
    assert mlp("train", path, "--out", "run", "-q").exit_code == 0
    write("new.csv", table(unseen="mars"))
    res = mlp("predict", "run", "--data", "new.csv", "--out", "p.csv")
    refused(res, r"new\.csv, line 41, column 'region': category 'mars' was never seen", tmp_path)
    assert not (tmp_path / "p.csv").exists()
    assert "unknown: zeros" in res.stderr


def test_unknown_zeros_predicts_and_keeps_identifiers(write, mlp, tmp_path):
    path = setup(write, table(), extra="  categorical: {region: {unknown: zeros}}")
    assert mlp("train", path, "--out", "run", "-q").exit_code == 0
    write("new.csv", table(unseen="mars"))
    res = mlp("predict", "run", "--data", "new.csv", "--keep", "id,region")
    assert res.exit_code == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["id", "region", "prediction", "p_a", "p_b"]
    assert rows[1][:2] == ["r0", "north"] and rows[-1][:2] == ["r39", "mars"]
    assert len(rows) == 41


def reordered(text: str, order: list[str]) -> str:
    """The CSV ``text`` with its columns in ``order`` (some may be left out)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return "\n".join([",".join(order)] + [",".join(r[c] for c in order) for r in rows]) + "\n"


def two_text_columns(n=48):
    """Two text columns whose values never coincide, a number, and a label."""
    rows = [f"{'nsew'[i % 4]}x,{'pq'[i % 2]}y,{i % 7},{'ab'[(i // 2) % 2]}" for i in range(n)]
    return "region,plan,size,label\n" + "\n".join(rows) + "\n"


def test_text_columns_follow_the_features_order_not_the_files(write, mlp, tmp_path):
    """The file has region before plan, the config plan before region: each column keeps
    its own categories and policy, and a file with the columns swapped predicts the same."""
    write("d.csv", two_text_columns())
    extra = "  categorical: {region: {unknown: zeros}}"
    text = CONFIG.format(extra=extra).replace("[region, size, income]", "[plan, region, size]")
    config = write("c.yaml", text)
    assert mlp("train", config, "--out", "run", "-q").exit_code == 0
    enc = load_model(tmp_path / "run").model.inputs.encoder
    assert enc.names == ["plan", "region", "size"] and enc.unknown == ["error", "zeros"]
    assert enc.categories == [["py", "qy"], ["ex", "nx", "sx", "wx"]]
    swapped = reordered(two_text_columns(), ["plan", "label", "size", "region"])
    write("swapped.csv", swapped)
    a = mlp("predict", "run", "--data", "d.csv")
    b = mlp("predict", "run", "--data", "swapped.csv")
    assert a.exit_code == b.exit_code == 0 and a.stdout == b.stdout, b.stderr


def test_other_files_are_read_by_column_name_and_a_missing_one_is_named(write, mlp, tmp_path):
    """A test file and --data files are matched to the training header by name, whatever
    their order; a missing column is an error naming it, never a read by position."""
    data = table()
    write("d.csv", data)
    order = ["label", "income", "id", "size", "region"]
    write("t.csv", reordered(data, order))
    config = write("c.yaml", CONFIG.format(extra="  test: t.csv"))
    res = mlp("train", config, "--out", "run", "-q", "--json")
    assert res.exit_code == 0, res.stderr
    same = mlp("eval", "run", "--data", "d.csv", "--json")
    assert json.loads(res.stdout)["test"]["accuracy"] == json.loads(same.stdout)["accuracy"]
    write("gap.csv", reordered(data, ["id", "region", "size", "label"]))
    for command in ("eval", "predict"):
        res = mlp(command, "run", "--data", "gap.csv")
        refused(res, r"gap\.csv: feature column 'income' not found \(columns: id, region, "
                     r"size, label\)", tmp_path)  # fmt: skip


def test_a_class_with_no_training_rows_cannot_be_balanced(write, mlp, tmp_path):
    rows = [f"{i},{i % 3},{'ab'[i % 2]}" for i in range(40)] + ["7,1,c"]
    write("d.csv", "x1,x2,label\n" + "\n".join(rows) + "\n")
    write("c.yaml", "data: {train: d.csv, test_split: 0.5, class_weight: balanced}\n"
                    "model: {hidden: [4]}\ntrain: {epochs: 2, batch: {mode: batch}}\n")  # fmt: skip
    res = mlp("train", "c.yaml", "--out", "runs/r")
    refused(res, r"data\.class_weight: balanced weighs class k by n / \(K · n_k\), but class "
                 r"'c' has no rows in the training split", tmp_path)  # fmt: skip


def test_a_word_in_a_numeric_column_is_refused_not_made_categorical(write, mlp, tmp_path):
    text = table().replace("r4,south,4,", "r4,south,oops,")
    res = mlp("train", setup(write, text))
    refused(res, r"d\.csv, line 6, column 'size': could not convert 'oops' to a number; "
                 r"if 'size' is categorical, list it in data.categorical", tmp_path)  # fmt: skip


def test_a_numeric_column_can_be_declared_categorical(write, mlp, tmp_path):
    path = setup(write, table(), extra="  categorical: [size]")
    res = mlp("train", path, "--out", "run")
    assert res.exit_code == 0, res.stderr
    assert "region (3), size (5)" in res.stderr


@pytest.mark.parametrize(
    "extra,pattern",
    [
        ("  categorical: {regio: {}}", r"column 'regio' not found.*did you mean 'region'"),
        ("  categorical: {region: {unknown: ignore}}", r"data\.categorical\.region\.unknown .*"
                                                       r"'ignore' is not one of error, zeros"),
        ("  categorical: [label]", r"categorical column 'label' is not a feature"),
        ("  class_weight: {c: 2}", r"data\.class_weight: 'c' is not a class of the training data"),
        ("  class_weight: {a: -1}", r"data\.class_weight\.a .*must be > 0"),
        ("  class_weight: balance", r"data\.class_weight .*'balance' is not one of balanced"),
    ],
    ids=["misspelled column", "unknown policy", "the target", "unknown class", "negative",
         "misspelled"],
)  # fmt: skip
def test_bad_categorical_and_class_weight_settings(extra, pattern, write, mlp, tmp_path):
    refused(mlp("train", setup(write, table(), extra=extra)), pattern, tmp_path)


def test_an_identifier_column_is_refused_as_a_category(write, mlp, tmp_path):
    write("d.csv", table())
    path = write("c.yaml", CONFIG.format(extra="").replace("[region, size, income]", "[id, size]"))
    refused(mlp("train", path), r"column 'id' has a different value on each of the 30 "
                                r"training rows \(an identifier", tmp_path)  # fmt: skip


# -- missing values ------------------------------------------------------------------------


def test_missing_cells_are_refused_by_default_with_the_way_to_allow_them(write, mlp, tmp_path):
    res = mlp("train", setup(write, table(gap_every=10)))
    refused(res, r"d\.csv: Input contains NaN \(line 5, column 'income'\); to fill missing "
                 r"values, set data\.missing: \{strategy: mean\}", tmp_path)  # fmt: skip
    text = table().replace("r3,north,", "r3,,")
    pattern = r"missing value \(an empty or NaN cell\) at line 5, column 'region'; to fill"
    refused(mlp("train", setup(write, text)), pattern, tmp_path)


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_missing_values_are_filled_from_the_training_split(strategy, tmp_path):
    (tmp_path / "d.csv").write_text(table(gap_every=10))
    data = load_csv(tmp_path / "d.csv", target="label", features=["size", "income"], missing=True)
    rows = np.arange(0, 30)
    enc = Encoder.fit(data.x, rows, data.feature_names, strategy=strategy, indicator=True,
                      fill_value=-1.0)  # fmt: skip
    income = data.x[rows, 1].astype(np.float64)
    given = income[~np.isnan(income)]
    values, counts = np.unique(given, return_counts=True)
    expected = {"mean": given.mean(), "median": np.median(given),
                "most_frequent": values[np.argmax(counts)], "constant": -1.0}[strategy]  # fmt: skip
    assert enc.fill[1] == pytest.approx(expected, rel=1e-6)
    out = enc(data.x)
    assert not np.isnan(out).any()
    assert enc.indicator == [1] and out[:, 2].tolist() == np.isnan(data.x[:, 1]).tolist()
    assert out[3, 1] == pytest.approx(expected, rel=1e-6)


def test_missing_imputation_trains_predicts_and_reloads(write, mlp, tmp_path):
    extra = "  missing: {strategy: median, indicator: true}"
    path = setup(write, table(gap_every=10).replace("r3,north,", "r3,,"), extra=extra)
    res = mlp("train", path, "--out", "run")
    assert res.exit_code == 0, res.stderr
    assert "missing values: median, indicators for region, income" in res.stderr
    saved = load_model(tmp_path / "run")
    assert saved.model.inputs.encoder.strategy == "median"
    res = mlp("predict", "run", "--data", "d.csv", "--json")
    assert res.exit_code == 0 and len(res.json()["rows"]) == 40
    ev = mlp("eval", "run", "--json", "-q")
    assert ev.exit_code == 0 and ev.json()["n"] == 10


def test_bad_missing_settings(write, mlp, tmp_path):
    extra = "  missing: {strategy: average}"
    pattern = r"data\.missing\.strategy .*'average' is not one of mean, median"
    refused(mlp("train", setup(write, table(), extra=extra)), pattern, tmp_path)
    extra = "  missing: {strategy: mean, fill_value: 3}"
    refused(
        mlp("train", setup(write, table(), extra=extra)),
        r"data\.missing\.fill_value .*only for strategy constant",
        tmp_path,
    )


def test_a_column_with_no_value_to_fill_from_is_refused(write, mlp, tmp_path):
    text = "\n".join(
        ",".join(c if k != 3 else "" for k, c in enumerate(line.split(",")))
        if i else line for i, line in enumerate(table().splitlines())
    ) + "\n"  # fmt: skip
    extra = "  missing: {strategy: mean}"
    refused(mlp("train", setup(write, text, extra=extra)),
            r"column 'income' has no values in the training split", tmp_path)  # fmt: skip


# -- class weights -------------------------------------------------------------------------


def test_balanced_weights_follow_scikit_learn_and_average_one():
    indices = np.array([0] * 30 + [1] * 10)
    c = class_weights("balanced", indices, np.array(["a", "b"]))
    assert c.tolist() == pytest.approx([40 / (2 * 30), 40 / (2 * 10)])
    assert c[indices].mean() == pytest.approx(1.0)
    c = class_weights({"b": 3, "a": 1}, indices, np.array(["a", "b"]))
    assert c[1] / c[0] == pytest.approx(3) and c[indices].mean() == pytest.approx(1.0)
    assert class_weights({"01": 2}, indices, np.array([0, 1]))[1] > 1  # labels by value


@pytest.mark.parametrize(
    "op,targets",
    [
        (SquaredError, lambda rng: rng.standard_normal((6, 3))),
        (BinaryCrossEntropy, lambda rng: (rng.random((6, 3)) > 0.5).astype(float)),
        (SoftmaxCrossEntropy, lambda rng: rng.integers(0, 3, 6)),
        (Hinge, lambda rng: np.where(rng.random((6, 1)) > 0.5, 1.0, -1.0)),
        (MulticlassHinge, lambda rng: rng.integers(0, 3, 6)),
    ],
)
def test_weighted_losses_pass_the_gradient_check(op, targets):
    rng = np.random.default_rng(0)
    t = targets(rng)
    y = rng.standard_normal((6, 1 if op is Hinge else 3)) * 2
    w = rng.uniform(0.2, 3, 6)
    (check,) = check_op(lambda a: op()(a, Node(t), Node(w)), y)
    assert check.passed, check
    # the weighted mean (1/N) Σ w_n L_n, row by row against the unweighted op
    per_row = [float(op()(Node(y[i : i + 1]), Node(t[i : i + 1])).value) for i in range(6)]
    weighted = float(op()(Node(y), Node(t), Node(w)).value)
    assert weighted == pytest.approx(np.dot(w, per_row) / 6)


def test_class_weights_in_training_eval_and_summary_agree(write, mlp, tmp_path):
    path = setup(write, table(), extra="  class_weight: balanced")
    res = mlp("train", path, "--out", "run", "--json")
    assert res.exit_code == 0, res.stderr
    summary = res.json()
    weight = summary["class_weight"]
    assert weight["a"] > 1 > weight["b"]  # a is the rarer class; mean 1 over training rows
    assert "class weights a" in res.stderr
    ev = mlp("eval", "run", "--json", "-q").json()  # the validation split, weighted alike
    assert ev["loss"] == pytest.approx(summary["final"]["val_loss"], rel=1e-6)


def test_class_weights_are_for_classification_only(write, mlp, tmp_path):
    path = setup(write, table(), extra="  class_weight: balanced\nloss: squared_error")
    refused(mlp("train", path), r"data\.class_weight .*only for classification", tmp_path)


# -- predictions ---------------------------------------------------------------------------


def test_hinge_predictions_carry_decision_scores(write, mlp, tmp_path):
    path = setup(write, table())
    assert mlp("train", path, "--out", "run", "-q", "--set", "loss=hinge").exit_code == 0
    res = mlp("predict", "run", "--data", "d.csv", "--json")
    doc = res.json()
    assert doc["columns"] == ["prediction", "score"]
    assert all((row[1] > 0) == (row[0] == "b") for row in doc["rows"])


@pytest.mark.parametrize(
    "keep,pattern",
    [("idd", r"kept column 'idd' not found .*did you mean 'id'"),
     ("id,,x", r"--keep 'id,,x': expected column names"),
     ("prediction", r"--keep prediction: the predictions have a column of that name")],
)  # fmt: skip
def test_bad_keep(keep, pattern, write, mlp, tmp_path):
    path = setup(write, table())
    assert mlp("train", path, "--out", "run", "-q").exit_code == 0
    res = mlp("predict", "run", "--data", "d.csv", "--keep", keep, "--out", "p.csv")
    refused(res, pattern, tmp_path)
    assert not (tmp_path / "p.csv").exists()


# -- the shipped example ------------------------------------------------------------------


def recall_of(mlp, run, label):
    report = mlp("eval", run, "--json", "-q").json()
    return next(c["recall"] for c in report["per_class"] if c["class"] == label)


def test_customers_churn(mlp, tmp_path):
    """Balanced class weights find most churners; without them most are missed."""
    for seed in range(5):
        common = ["train", CONFIGS / "customers-churn.yaml", "-q", "--set", f"seed={seed}"]
        assert mlp(*common, "--out", f"w{seed}").exit_code == 0
        assert mlp(*common, "--out", f"u{seed}", "--set", "data.class_weight=null").exit_code == 0
        weighted, plain = recall_of(mlp, f"w{seed}", "yes"), recall_of(mlp, f"u{seed}", "yes")
        assert weighted >= 0.5 and weighted >= plain + 0.15, (seed, weighted, plain)


def test_the_customers_file_is_what_the_script_makes(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, DATASETS / "make_datasets.py", "customers", "--out", tmp_path],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "customers.csv" in out.stdout
    assert (tmp_path / "customers.csv").read_bytes() == (DATASETS / "customers.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO((DATASETS / "customers.csv").read_text())))
    assert sum(r["income"] == "" for r in rows) > 20
    assert sum(r["churned"] == "yes" for r in rows) < len(rows) / 4


def test_the_resolved_config_names_every_new_key():
    config = Config.model_validate({"data": {"train": "x.csv"}})
    dumped = json.loads(config.model_dump_json())
    assert {"categorical", "missing", "class_weight"} <= dumped["data"].keys()
    assert "dropout" in dumped["model"]


def test_class_weights_of_any_scale_give_the_same_weights():
    # Only the ratios matter (the weights are scaled to mean 1 over the training rows):
    # weights near the float limits must not overflow on the way.
    idx, classes = np.array([0, 0, 0, 1]), np.array(["a", "b"])
    small = class_weights({"a": 1, "b": 3}, idx, classes)
    for scale in (1e-300, 1e300):
        c = class_weights({"a": scale, "b": 3 * scale}, idx, classes)
        np.testing.assert_allclose(c, small, rtol=1e-12)
    assert np.dot([3, 1], small) == pytest.approx(4)
