"""Dropout: an engine op checked by finite differences, on in training only, redrawn every
step from the run's seed, restored on resume; and the example config's claim."""

import numpy as np
import pytest
from conftest import CONFIGS, metrics_rows, same_tensors
from safetensors.numpy import load_file

from mlpcli.engine import Dropout, Node, no_grad
from mlpcli.gradcheck import check_op
from mlpcli.nn.model import MLP

RUN = """\
seed: 4
data:
  train: {generator: moons, n_samples: 120, noise: 0.2}
  validation_split: 0.25
model: {hidden: [16, 8], activation: relu, dropout: [0.5, 0.2]}
loss: cross_entropy
train:
  epochs: 8
  batch: {mode: minibatch, size: 8}
  lr: 0.1
  optimizer: {momentum: 0.9}
  checkpoint_seconds: 0
"""


def test_the_op_passes_the_gradient_check_with_a_fixed_mask():
    h = np.random.default_rng(1).standard_normal((6, 9))
    (check,) = check_op(lambda x: Dropout(0.4, np.random.default_rng(0))(x), h)
    assert check.passed, check


def test_inverted_dropout_keeps_the_expected_value_and_drops_about_p():
    h = np.ones((400, 250))
    out = Dropout(0.3, np.random.default_rng(0)).forward(h)
    assert set(np.unique(out).tolist()) == {0.0, 1 / 0.7}
    assert (out == 0).mean() == pytest.approx(0.3, abs=0.01)
    assert out.mean() == pytest.approx(1.0, abs=0.01)


def test_a_replayed_graph_draws_a_new_mask_each_step_and_evaluation_never_drops():
    from mlpcli.engine import Graph

    model = MLP(3, [50], 2, dropout=0.5, dropout_rng=np.random.default_rng(0), dtype=np.float64)
    model.reset_parameters(np.random.default_rng(1))
    x = np.random.default_rng(2).standard_normal((4, 3))
    y = model.forward(Node(x), training=True)
    graph = Graph(y)
    first = y.value.copy()
    graph.forward()
    assert not np.array_equal(first, y.value)  # a fresh mask
    with no_grad():
        a = model.forward(Node(x)).value
    assert np.array_equal(a, model.outputs(x, raw=False)) and np.array_equal(
        a, model.outputs(x, raw=False)
    )


def test_mlp_gradcheck_passes_with_dropout(write, mlp):
    res = mlp("gradcheck", write("c.yaml", RUN), "--json", "-q", "--nodes")
    assert res.exit_code == 0 and res.json()["passed"], res.stdout


@pytest.mark.parametrize("stop_at", [3, 5])
def test_resume_with_dropout_is_bit_identical(stop_at, write, mlp, tmp_path):
    path = write("c.yaml", RUN)
    assert mlp("train", path, "--out", "full", "-q").exit_code == 0
    assert (
        mlp("train", path, "--out", "part", "-q", "--set", f"train.epochs={stop_at}").exit_code == 0
    )
    assert (
        mlp("train", "--resume", tmp_path / "part", "--set", "train.epochs=8", "-q").exit_code == 0
    )
    assert metrics_rows(tmp_path / "full") == metrics_rows(tmp_path / "part")
    full, part = (load_file(str(tmp_path / r / "model.safetensors")) for r in ("full", "part"))
    assert same_tensors(full, part)


def test_dropout_changes_training_but_not_the_seeded_start(write, mlp, tmp_path):
    path = write("c.yaml", RUN)
    assert mlp("train", path, "--out", "a", "-q").exit_code == 0
    assert mlp("train", path, "--out", "b", "-q", "--set", "model.dropout=0").exit_code == 0
    assert metrics_rows(tmp_path / "a") != metrics_rows(tmp_path / "b")


@pytest.mark.parametrize(
    "value,pattern",
    [
        ("1.0", r"model\.dropout .*must be < 1"),
        ("-0.1", r"model\.dropout .*must be ≥ 0"),
        ("[0.5]", r"model\.dropout .*1 rates for 2 hidden layers"),
        ("half", r"model\.dropout .*must be a number"),
    ],
)
def test_bad_dropout_rates_are_refused(value, pattern, write, mlp, tmp_path):
    import re

    res = mlp("train", write("c.yaml", RUN), "--set", f"model.dropout={value}")
    assert res.exit_code == 2 and re.search(pattern, res.stderr), res.stderr
    assert not (tmp_path / "runs").exists()


def test_dropout_needs_hidden_layers(write, mlp):
    res = mlp(
        "train", write("c.yaml", RUN), "--set", "model.hidden=[]", "--set", "model.dropout=0.5"
    )
    assert res.exit_code == 2 and "needs hidden layers" in res.stderr, res.stderr


def gap(run):
    last = metrics_rows(run)[-1]
    return float(last[3]) - float(last[2])  # val_loss − train_loss at the end


def test_dropout_moons(mlp, tmp_path):
    """Dropout narrows the gap between validation and training loss, seed after seed."""
    for seed in range(5):
        base = ["train", CONFIGS / "dropout-moons.yaml", "-q", "--set", f"seed={seed}"]
        assert mlp(*base, "--out", f"d{seed}").exit_code == 0
        assert mlp(*base, "--out", f"n{seed}", "--set", "model.dropout=0").exit_code == 0
        with_dropout, without = gap(tmp_path / f"d{seed}"), gap(tmp_path / f"n{seed}")
        assert with_dropout < 0.75 * without, (seed, with_dropout, without)
