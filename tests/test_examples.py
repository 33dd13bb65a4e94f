"""Every shipped config trains and shows the lecture claim written at its top."""

import re

import numpy as np
import pytest
from conftest import CONFIGS, DATASETS, metrics_rows
from safetensors.numpy import load_file

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.yaml"))


def train(mlp, tmp_path, name, *sets, out="run", code=0):
    args = ["train", CONFIGS / name, "--out", tmp_path / out, "--force", "--json", "--quiet"]
    for s in sets:
        args += ["--set", s]
    res = mlp(*args)
    assert res.exit_code == code, res.stderr
    return res.json()


def accuracy_on(mlp, run, data):
    res = mlp("eval", run, "--data", data, "--json", "--quiet")
    assert res.exit_code == 0, res.stderr
    return res.json()["accuracy"]


def test_every_example_is_tested():
    # a test named after each config, here or in another test module (test_dropout.py, ...)
    names = set(globals()) | {
        m for path in CONFIGS.parent.joinpath("tests").glob("test_*.py")
        for m in re.findall(r"^def (test_\w+)", path.read_text(), re.M)
    }  # fmt: skip
    tested = {n.removeprefix("test_").replace("_", "-") + ".yaml" for n in names}
    assert len(SHIPPED) == 13
    assert set(SHIPPED) <= tested


def test_perceptron_xor(mlp, tmp_path):
    train(mlp, tmp_path, "perceptron-xor.yaml")
    assert accuracy_on(mlp, tmp_path / "run", DATASETS / "xor.csv") <= 0.75


def test_perceptron_xor_features(mlp, tmp_path):
    train(mlp, tmp_path, "perceptron-xor-features.yaml")
    assert accuracy_on(mlp, tmp_path / "run", DATASETS / "xor.csv") == 1.0


def test_mlp_xor(mlp, tmp_path):
    train(mlp, tmp_path, "mlp-xor.yaml")
    assert accuracy_on(mlp, tmp_path / "run", DATASETS / "xor.csv") == 1.0


def test_multiclass_blobs(mlp, tmp_path):
    linear = train(mlp, tmp_path, "multiclass-blobs.yaml", out="linear")
    logistic = train(mlp, tmp_path, "multiclass-blobs.yaml", "model.output_activation=sigmoid")
    assert load_file(str(tmp_path / "run" / "model.safetensors"))["layers.0.weight"].shape == (4, 2)
    assert linear["test"]["accuracy"] <= 0.8  # a masked class never wins
    assert logistic["test"]["accuracy"] >= 0.95


def test_universal_sine(mlp, tmp_path):
    summary = train(mlp, tmp_path, "universal-sine.yaml")
    assert summary["test"]["mse"] < 1e-3


@pytest.mark.parametrize("loss", ["squared_error", "binary_cross_entropy", "hinge"])
def test_losses_moons(loss, mlp, tmp_path):
    assert train(mlp, tmp_path, "losses-moons.yaml", f"loss={loss}")["test"]["accuracy"] >= 0.95


def near_zero_fraction(run):
    w = load_file(str(run / "model.safetensors"))["layers.0.weight"]
    return float((np.abs(w) < 1e-3).mean()), float(np.abs(w).mean())


def test_regularizers_digits(mlp, tmp_path):
    train(mlp, tmp_path, "regularizers-digits.yaml", out="l1")
    train(mlp, tmp_path, "regularizers-digits.yaml", "regularizer={type: l2, lambda: 20}", out="l2")
    train(mlp, tmp_path, "regularizers-digits.yaml", "regularizer={type: none}", out="none")
    l1, l2, none = (near_zero_fraction(tmp_path / r) for r in ("l1", "l2", "none"))
    assert l1[0] > 0.5  # most first-layer weights are (near) zero under L1
    assert l2[0] < 0.05  # L2: almost none are...
    assert l2[1] < 0.6 * none[1]  # ...though the weights are clearly smaller


SPIRAL_MODES = {  # mode: (overrides, expected steps per epoch)
    "batch": (["train.batch={mode: batch}", "train.lr=0.5", "train.epochs=1000"], {1}),
    "stochastic": (["train.batch={mode: stochastic}", "train.lr=0.005", "train.epochs=40"], {480}),
    "minibatch": ([], {15}),
    "growing": (
        ["train.batch={mode: minibatch, size: 8, growth: {factor: 2, every: 25, max: 256}}"],
        {60, 30, 15, 8, 4, 2},
    ),
}


@pytest.mark.parametrize("mode", SPIRAL_MODES)
def test_sgd_modes_spirals(mode, mlp, tmp_path):
    sets, steps_per_epoch = SPIRAL_MODES[mode]
    summary = train(mlp, tmp_path, "sgd-modes-spirals.yaml", *sets)
    assert summary["test"]["accuracy"] >= 0.95
    rows = metrics_rows(tmp_path / "run")
    steps = [int(r[1]) for r in rows[1:]]
    assert set(np.diff([0, *steps]).tolist()) == steps_per_epoch


def loss_curve(run):
    return [float(r[2]) for r in metrics_rows(run)[1:]]


def test_learning_rate_quadratic(mlp, tmp_path):
    train(mlp, tmp_path, "learning-rate-quadratic.yaml", "train.lr=0.1", out="slow")
    train(mlp, tmp_path, "learning-rate-quadratic.yaml", "train.lr=1.0", out="best")
    slow, best = loss_curve(tmp_path / "slow"), loss_curve(tmp_path / "best")
    minimum = best[-1]
    assert best[1] == pytest.approx(minimum, rel=1e-5)  # η = 1/curvature: one step
    assert slow[10] > minimum * 1.01 and slow[-1] == pytest.approx(minimum, rel=1e-4)
    diverged = train(mlp, tmp_path, "learning-rate-quadratic.yaml", "train.lr=3", out="big", code=3)
    assert diverged["stop_reason"] == "diverged"


def test_digits_mlp(mlp, tmp_path):
    assert train(mlp, tmp_path, "digits-mlp.yaml")["test"]["accuracy"] >= 0.97


def test_quickstart(mlp, tmp_path):
    summary = train(mlp, tmp_path, "quickstart.yaml")
    assert summary["test"]["accuracy"] >= 0.9


@pytest.mark.parametrize("name", SHIPPED)
def test_gradcheck_passes_on_every_shipped_config(name, mlp):
    res = mlp("gradcheck", CONFIGS / name, "--json", "--quiet")
    assert res.exit_code == 0, res.stdout
    report = res.json()
    assert report["passed"] and all(t["passed"] for t in report["tensors"])
