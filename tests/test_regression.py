"""Regression out of the box: standardized targets, reports in the targets' own units."""

import json

import numpy as np
import pytest
from conftest import DATASETS, read_run

from mlpcli.config import load_config
from mlpcli.data.loaders import load_csv
from mlpcli.prepare import prepare

TWO_TARGETS = """\
seed: 0
dtype: float64
data:
  train: train.csv
  validation: val.csv
  target: [small, large]
model: {hidden: [6], activation: tanh, init: xavier}
loss: squared_error
train: {epochs: 3, batch: {mode: batch}, lr: 0.05}
"""


def write_two_targets(write):
    """Two targets on scales 1 and 1000 with means far from 0."""
    rng = np.random.default_rng(3)
    for name, n in (("train.csv", 60), ("val.csv", 20)):
        x = rng.normal(size=(n, 2))
        small = np.sin(x[:, 0]) + 5
        large = 1000 * x[:, 1] ** 2 + 300
        table = np.column_stack([x, small, large])
        rows = "\n".join(",".join(repr(float(v)) for v in row) for row in table)
        write(name, f"x1,x2,small,large\n{rows}\n")
    return write("c.yaml", TWO_TARGETS)


def test_targets_are_standardized_by_default_and_the_model_carries_the_scale(write, mlp, tmp_path):
    path = write_two_targets(write)
    exp = prepare(load_config(path))
    assert exp.config.data.standardize_target is True  # resolved for regression
    t = load_csv(tmp_path / "train.csv", target=["small", "large"]).y.astype(float)
    np.testing.assert_allclose(exp.model.target_scale.mean, t.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(exp.model.target_scale.std, t.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(exp.train.targets.mean(axis=0), 0, atol=1e-12)  # what E sees
    np.testing.assert_allclose(exp.train.labels, t)  # what metrics see
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    run = read_run(tmp_path / "r")
    np.testing.assert_array_equal(run["tensors"]["target.mean"], exp.model.target_scale.mean)
    np.testing.assert_array_equal(run["tensors"]["target.std"], exp.model.target_scale.std)
    assert run["summary"]["target_scale"]["mean"] == pytest.approx(t.mean(axis=0).tolist())
    moons = write("m.yaml", f"data: {{train: {DATASETS / 'moons.csv'}}}\n")
    classification = prepare(load_config(moons))
    assert classification.config.data.standardize_target is False


def test_losses_and_predictions_are_in_the_targets_units_exactly(write, mlp, tmp_path):
    path = write_two_targets(write)
    exp = prepare(load_config(path))
    t = exp.train.labels
    y0 = exp.model.outputs(exp.train.x, raw=False)  # the initial model, in target units
    first_loss = 0.5 * np.mean(np.sum((y0 - t) ** 2, axis=1))  # ½ Σ_k (y_k − t_k)², not rescaled
    res = mlp("train", path, "--out", "r", "-q", "--json")
    assert res.exit_code == 0
    rows = (tmp_path / "r" / "metrics.csv").read_text().splitlines()
    assert float(rows[1].split(",")[2]) == pytest.approx(first_loss, rel=1e-12)  # batch mode
    res = mlp("predict", tmp_path / "r", "--data", tmp_path / "val.csv", "--out", "p.csv")
    assert res.exit_code == 0
    predicted = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    truth = load_csv(tmp_path / "val.csv", target=["small", "large"]).y.astype(float)
    t = read_run(tmp_path / "r")["tensors"]  # what any safetensors reader would do:
    x = load_csv(tmp_path / "val.csv", target=["small", "large"], dtype=np.float64).x
    h = np.tanh(
        (x - t["input.mean"]) / t["input.std"] @ t["layers.0.weight"].T + t["layers.0.bias"]
    )
    by_hand = (h @ t["layers.1.weight"].T + t["layers.1.bias"]) * t["target.std"] + t["target.mean"]
    np.testing.assert_allclose(predicted, by_hand, rtol=1e-12)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    d = predicted - truth
    assert summary["validation"]["loss"] == pytest.approx(0.5 * np.mean((d**2).sum(1)), rel=1e-6)
    assert summary["final"]["val_loss"] == pytest.approx(summary["validation"]["loss"])
    assert summary["validation"]["mae"] == pytest.approx(np.mean(np.abs(d)), rel=1e-6)
    report = mlp("eval", tmp_path / "r", "--json").json()
    assert report["mse"] == pytest.approx(np.mean(d**2), rel=1e-6)
    assert report["r2"] == pytest.approx(summary["validation"]["r2"], rel=1e-9)


def test_train_json_reports_r2_and_mae_for_regression(mlp, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"data: {{train: {DATASETS / 'diabetes.csv'}, test_split: 0.2}}\n"
        "model: {hidden: [8]}\nloss: squared_error\ntrain: {epochs: 20}\n"
    )
    res = mlp("train", config, "--out", "r", "--json")
    assert res.exit_code == 0
    test = res.json()["test"]
    assert set(test) == {"loss", "mse", "mae", "r2", "n"} and test["n"] == 88
    assert 0.2 < test["r2"] < 0.7 and test["mse"] == pytest.approx(2 * test["loss"], rel=1e-6)
    assert "test R² / MAE" in res.stderr and "targets standardized" in res.stderr


def test_the_diabetes_csv_keeps_its_raw_units():
    data = load_csv(DATASETS / "diabetes.csv")
    assert data.x.shape == (442, 10) and data.target_names == ["progression"]
    y = data.y.astype(float)
    assert y.min() == 25 and y.max() == 346
    assert data.feature_names[:4] == ["age", "sex", "bmi", "bp"] and data.x[:, 0].max() > 70


def test_divergence_names_the_target_scale_and_the_command_to_run(mlp, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"data: {{train: {DATASETS / 'diabetes.csv'}, standardize_target: false}}\n"
        "model: {hidden: [32]}\nloss: squared_error\ntrain: {epochs: 20, lr: 0.01}\n"
    )
    res = mlp("train", config, "--out", "r")
    assert res.exit_code == 3
    assert "the targets are in large units" in res.stderr
    assert "set data.standardize_target: true" in res.stderr
    assert "mlp lr r/config.yaml" in res.stderr  # the run's config: every --set included
    assert mlp("train", config, "--out", "s", "--set", "data.standardize_target=true",
               "-q").exit_code == 0  # fmt: skip


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_a_bounded_output_is_not_standardized_and_refuses_targets_beyond_its_range(
    activation, write, mlp, tmp_path
):
    # Standardized targets span about ±3 and raw ones 25–346: a sigmoid or tanh output could
    # fit neither, so the default leaves targets as they are and out-of-range ones are refused.
    path = write_two_targets(write)
    cfg = load_config(path, [f"model.output_activation={activation}"])
    assert cfg.data.standardize_target is False
    res = mlp("train", path, "--out", "r", "--set", f"model.output_activation={activation}")
    assert res.exit_code == 2 and not (tmp_path / "r").exists()
    assert "train.csv: the targets span 4.002 to 1.134e+04, but a" in res.stderr
    assert "use model.output_activation: identity" in res.stderr
    res = mlp("train", path, "--out", "r", "--set", f"model.output_activation={activation}",
              "--set", "data.standardize_target=true")  # fmt: skip
    assert res.exit_code == 2 and "data.standardize_target" in res.stderr
    # Targets inside the range train as they are, in their own units.
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(80, 1))
    rows = "\n".join(f"{a:.6f},{b:.6f}" for a, b in zip(x[:, 0], 0.5 + 0.4 * np.sin(x[:, 0])))
    write("unit.csv", f"x,y\n{rows}\n")
    config = (
        "data: {train: unit.csv, target: y}\nloss: squared_error\n"
        f"model: {{hidden: [8], output_activation: {activation}}}\ntrain: {{epochs: 2}}\n"
    )
    cfg = write("u.yaml", config)
    res = mlp("train", cfg, "--out", "u", "-q", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["target_scale"] is None
