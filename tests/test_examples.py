"""Every shipped config trains and shows the lecture claim written at its top.

A claim about training must hold on every machine, not just the one that wrote it, so
each is asserted on every seed in SEEDS (the seed draws the splits, the initial weights,
the shuffling and any generated data), and the recipes clear their thresholds by a margin
that a different BLAS kernel or thread count does not eat (see the README, Testing).
"""

import re

import numpy as np
import pytest
from conftest import CONFIGS, DATASETS, metrics_rows
from safetensors.numpy import load_file

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.yaml"))
SEEDS = range(5)


def train(mlp, tmp_path, name, *sets, out="run", code=0):
    args = ["train", CONFIGS / name, "--out", tmp_path / out, "--force", "--json", "--quiet"]
    for s in sets:
        args += ["--set", s]
    res = mlp(*args)
    assert res.exit_code == code, res.stderr
    return res.json()


def train_seeds(mlp, tmp_path, name, *sets, out="run", code=0):
    """``train`` once per seed in SEEDS, into ``out-<seed>``; the summaries, in seed order."""
    return [
        train(mlp, tmp_path, name, f"seed={seed}", *sets, out=f"{out}-{seed}", code=code)
        for seed in SEEDS
    ]


def accuracies_of(summaries):
    return [s["test"]["accuracy"] for s in summaries]


def evaluate(mlp, run, data=None):
    args = ["eval", run, "--json", "--quiet"] + (["--data", data] if data else [])
    res = mlp(*args)
    assert res.exit_code == 0, res.stderr
    return res.json()


def xor_accuracies(mlp, tmp_path, name):
    train_seeds(mlp, tmp_path, name)
    return [evaluate(mlp, tmp_path / f"run-{s}", DATASETS / "xor.csv")["accuracy"] for s in SEEDS]


def test_every_example_is_tested():
    # a test named after each config, here or in another test module (test_dropout.py, ...)
    names = set(globals()) | {
        m for path in CONFIGS.parent.joinpath("tests").glob("test_*.py")
        for m in re.findall(r"^def (test_\w+)", path.read_text(), re.M)
    }  # fmt: skip
    tested = {n.removeprefix("test_").replace("_", "-") + ".yaml" for n in names}
    assert len(SHIPPED) == 14
    assert set(SHIPPED) <= tested


def test_perceptron_xor(mlp, tmp_path):
    accuracies = xor_accuracies(mlp, tmp_path, "perceptron-xor.yaml")
    assert max(accuracies) <= 0.75, accuracies  # a line gets at most 3 of the 4 clusters


def test_perceptron_xor_features(mlp, tmp_path):
    accuracies = xor_accuracies(mlp, tmp_path, "perceptron-xor-features.yaml")
    assert min(accuracies) == 1.0, accuracies


def test_mlp_xor(mlp, tmp_path):
    accuracies = xor_accuracies(mlp, tmp_path, "mlp-xor.yaml")
    assert min(accuracies) == 1.0, accuracies


def never_predicted(mlp, run, data):
    """How many classes the model of ``run`` predicts for no example of ``data``."""
    matrix = np.array(evaluate(mlp, run, data)["confusion_matrix"])  # [true, predicted]
    return int((matrix.sum(axis=0) == 0).sum())


def test_multiclass_blobs(mlp, tmp_path):
    name = "multiclass-blobs.yaml"
    linear = train_seeds(mlp, tmp_path, name, out="linear")
    logistic = train_seeds(mlp, tmp_path, name, "model.output_activation=sigmoid")
    weights = load_file(str(tmp_path / "run-0" / "model.safetensors"))["layers.0.weight"]
    assert weights.shape == (4, 2)  # one output node per class
    assert max(accuracies_of(linear)) <= 0.8, accuracies_of(linear)
    assert min(accuracies_of(logistic)) >= 0.95, accuracies_of(logistic)
    for seed in SEEDS:  # on the whole data set: the masked class is never predicted at all
        blobs = DATASETS / "blobs.csv"
        assert never_predicted(mlp, tmp_path / f"linear-{seed}", blobs) == 1, seed
        assert never_predicted(mlp, tmp_path / f"run-{seed}", blobs) == 0, seed


def test_universal_sine(mlp, tmp_path):
    mse = [s["test"]["mse"] for s in train_seeds(mlp, tmp_path, "universal-sine.yaml")]
    assert max(mse) < 1e-3, mse


@pytest.mark.parametrize("loss", ["squared_error", "binary_cross_entropy", "hinge"])
def test_losses_moons(loss, mlp, tmp_path):
    accuracies = accuracies_of(train_seeds(mlp, tmp_path, "losses-moons.yaml", f"loss={loss}"))
    assert min(accuracies) >= 0.95, accuracies


def near_zero_fraction(run):
    w = load_file(str(run / "model.safetensors"))["layers.0.weight"]
    return float((np.abs(w) < 1e-3).mean()), float(np.abs(w).mean())


def test_regularizers_digits(mlp, tmp_path):
    name = "regularizers-digits.yaml"
    train_seeds(mlp, tmp_path, name, out="l1")
    train_seeds(mlp, tmp_path, name, "regularizer={type: l2, lambda: 20}", out="l2")
    train_seeds(mlp, tmp_path, name, "regularizer={type: none}", out="none")
    for seed in SEEDS:
        l1, l2, none = (near_zero_fraction(tmp_path / f"{r}-{seed}") for r in ("l1", "l2", "none"))
        assert l1[0] > 0.5, (seed, l1)  # most first-layer weights are (near) zero under L1
        assert l2[0] < 0.05, (seed, l2)  # L2: almost none are...
        assert l2[1] < 0.6 * none[1], (seed, l2, none)  # ...though the weights are clearly smaller


SPIRAL_MODES = {  # mode: (overrides, expected steps per epoch), as in the config's comments
    "batch": (["train.batch={mode: batch}", "train.lr=0.3", "train.epochs=1000"], {1}),
    "stochastic": (
        [
            "train.batch={mode: stochastic}",
            "train.lr={schedule: step, initial: 0.004, factor: 0.5, every: 10}",
            "train.epochs=40",
        ],
        {480},
    ),
    "minibatch": ([], {15}),
    "growing": (
        [
            "train.batch={mode: minibatch, size: 8, growth: {factor: 2, every: 25, max: 256}}",
            "train.lr=0.03",
        ],
        {60, 30, 15, 8, 4, 2},
    ),
}


def test_spiral_modes_match_the_config_comments():
    text = (CONFIGS / "sgd-modes-spirals.yaml").read_text()
    for sets, _ in SPIRAL_MODES.values():
        for s in sets:
            assert f'--set "{s}"' in text or f"--set {s}" in text, s


@pytest.mark.parametrize("mode", SPIRAL_MODES)
def test_sgd_modes_spirals(mode, mlp, tmp_path):
    sets, steps_per_epoch = SPIRAL_MODES[mode]
    accuracies = accuracies_of(train_seeds(mlp, tmp_path, "sgd-modes-spirals.yaml", *sets))
    assert min(accuracies) >= 0.95, accuracies
    rows = metrics_rows(tmp_path / "run-0")
    steps = [int(r[1]) for r in rows[1:]]
    assert set(np.diff([0, *steps]).tolist()) == steps_per_epoch


def loss_curve(run):
    return [float(r[2]) for r in metrics_rows(run)[1:]]


def excess_ratios(curve, minimum, steps=10):
    """(E(w_{k+1}) − E*) / (E(w_k) − E*) for the first steps: (1 − η)² on this quadratic."""
    return [(curve[k + 1] - minimum) / (curve[k] - minimum) for k in range(steps)]


def test_learning_rate_quadratic(mlp, tmp_path):
    # train_loss of epoch k is E at the weights after k − 1 steps (batch mode: one per epoch).
    name = "learning-rate-quadratic.yaml"
    train_seeds(mlp, tmp_path, name, "train.lr=1.0", out="best")
    train_seeds(mlp, tmp_path, name, "train.lr=0.1", out="slow")
    diverged = train_seeds(mlp, tmp_path, name, "train.lr=3", out="big", code=3)
    for seed in SEEDS:
        best, slow, big = (loss_curve(tmp_path / f"{r}-{seed}") for r in ("best", "slow", "big"))
        minimum = best[-1]
        assert best[0] > minimum * 1.01  # the initial weights are not the minimum...
        assert best[1] == pytest.approx(minimum, rel=1e-5)  # ...one step of η = 1/curvature is
        # η = 0.1: the excess error shrinks by exactly (1 − η)² = 0.81 per step; so 0.1 gets there
        assert excess_ratios(slow, minimum) == pytest.approx([0.81] * 10, rel=1e-3)
        assert slow[-1] == pytest.approx(minimum, rel=1e-4)
        # η = 3: it grows by (1 − η)² = 4 per step, until the numbers overflow: exit 3
        assert excess_ratios(big, minimum) == pytest.approx([4.0] * 10, rel=1e-3)
        assert diverged[seed]["stop_reason"] == "diverged"


#: Median test R² of scikit-learn's default MLPRegressor on the splits of seeds 0–4
#: (benchmarks/diabetes_sklearn.py; README, "Choosing the learning rate").
SKLEARN_DIABETES_R2 = 0.393


def test_adam_diabetes(mlp, tmp_path):
    r2 = [
        train(mlp, tmp_path, "adam-diabetes.yaml", f"seed={seed}")["test"]["r2"]
        for seed in range(5)
    ]
    assert np.median(r2) >= SKLEARN_DIABETES_R2 and min(r2) > 0.25


def test_digits_mlp(mlp, tmp_path):
    accuracies = accuracies_of(train_seeds(mlp, tmp_path, "digits-mlp.yaml"))
    assert min(accuracies) >= 0.97, accuracies


def test_quickstart(mlp, tmp_path):
    summaries = train_seeds(mlp, tmp_path, "quickstart.yaml")
    assert min(accuracies_of(summaries)) >= 0.9, accuracies_of(summaries)
    # The weights of the best validation epoch are the ones saved; on most seeds the
    # validation loss stalls for 20 epochs before the 100th, and training stops there.
    assert all(s["best"]["restored"] for s in summaries)
    assert any(s["stop_reason"] == "early_stopping" for s in summaries)
