"""The training loop through the CLI: batch modes, reproducibility, the error normalization."""

import json

import numpy as np
import pytest
from conftest import MOONS, metrics_rows, read_run, same_tensors
from safetensors.numpy import load_file

from mlpcli.config import load_config
from mlpcli.prepare import prepare

MODES = {
    "batch": "{mode: batch}",
    "stochastic": "{mode: stochastic}",
    "minibatch": "{mode: minibatch, size: 16}",
    "growing": "{mode: minibatch, size: 4, growth: {factor: 2, every: 2, max: 16}}",
}


def moons_with(batch: str, epochs: int = 6) -> str:
    return MOONS.replace("batch: {mode: minibatch, size: 16}", f"batch: {batch}").replace(
        "epochs: 6", f"epochs: {epochs}"
    )


@pytest.mark.parametrize("mode", MODES)
def test_every_batch_mode_trains_and_is_reproducible(mode, write, mlp, tmp_path):
    path = write("c.yaml", moons_with(MODES[mode]))
    assert mlp("train", path, "--out", "a", "--quiet").exit_code == 0
    assert mlp("train", path, "--out", "b", "--quiet").exit_code == 0
    a, b = read_run(tmp_path / "a"), read_run(tmp_path / "b")
    assert metrics_rows(tmp_path / "a") == metrics_rows(tmp_path / "b")
    assert same_tensors(a["tensors"], b["tensors"])
    assert a["summary"]["stop_reason"] == "completed" and a["summary"]["epochs_run"] == 6
    # a different seed gives a different run: the check above can fail
    assert mlp("train", path, "--out", "c", "--quiet", "--set", "seed=4").exit_code == 0
    assert not same_tensors(a["tensors"], read_run(tmp_path / "c")["tensors"])


def steps_and_sizes(run_dir):
    rows = metrics_rows(run_dir)
    header, body = rows[0], rows[1:]
    step, size = header.index("step"), header.index("batch_size")
    return [int(r[step]) for r in body], [int(r[size]) for r in body]


def test_batch_mode_takes_one_step_per_epoch(write, mlp, tmp_path):
    assert (
        mlp("train", write("c.yaml", moons_with(MODES["batch"])), "--out", "r", "-q").exit_code == 0
    )
    steps, sizes = steps_and_sizes(tmp_path / "r")
    assert steps == [1, 2, 3, 4, 5, 6] and set(sizes) == {90}  # 120 rows, 25 % held out


def test_stochastic_mode_takes_n_steps_per_epoch(write, mlp, tmp_path):
    path = write("c.yaml", moons_with(MODES["stochastic"], epochs=3))
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    steps, sizes = steps_and_sizes(tmp_path / "r")
    assert steps == [90, 180, 270] and set(sizes) == {1}


def test_minibatch_keeps_the_remainder_batch(write, mlp, tmp_path):
    path = write("c.yaml", moons_with(MODES["minibatch"], epochs=2))
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    assert steps_and_sizes(tmp_path / "r")[0] == [6, 12]  # ⌈90 / 16⌉ = 6


def test_growth_schedule_changes_the_batch_size_when_it_should(write, mlp, tmp_path):
    path = write("c.yaml", moons_with(MODES["growing"], epochs=7))
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    steps, sizes = steps_and_sizes(tmp_path / "r")
    assert sizes == [4, 4, 8, 8, 16, 16, 16]
    per_epoch = np.diff([0, *steps]).tolist()
    assert per_epoch == [23, 23, 12, 12, 6, 6, 6]  # ⌈90 / size⌉


REGRESSION = """\
seed: 0
dtype: float64
data: {train: data.csv, standardize: false, standardize_target: false}
model: {hidden: [], init: {name: normal, std: 0.5}}
loss: squared_error
regularizer: {type: l2, lambda: 0.3}
train: {epochs: 1, batch: {mode: batch}, lr: 0.1}
"""


def test_one_full_batch_step_by_hand_with_l2(write, mlp, tmp_path):
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    rows = "\n".join(",".join(repr(float(v)) for v in (*xi, ti[0])) for xi, ti in zip(x, t))
    write("data.csv", f"x1,x2,y\n{rows}\n")
    path = write("c.yaml", REGRESSION)
    initial = prepare(load_config(path)).model  # the same seed draws the same initial weights
    w, b = initial.layers[0].weight.value.copy(), initial.layers[0].bias.value.copy()
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0

    # E = (1/N) Σ ½‖y − t‖² + (λ/N) ½‖W‖²  (biases not regularized), one step of η = 0.1
    n, lam, lr = 5, 0.3, 0.1
    y = x @ w.T + b
    grad_w = (y - t).T @ x / n + lam / n * w
    grad_b = (y - t).sum(axis=0) / n
    trained = load_file(str(tmp_path / "r" / "model.safetensors"))
    np.testing.assert_allclose(trained["layers.0.weight"], w - lr * grad_w, rtol=1e-13)
    np.testing.assert_allclose(trained["layers.0.bias"], b - lr * grad_b, rtol=1e-13)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["final"]["train_loss"] == pytest.approx(
        0.5 * ((y - t) ** 2).sum() / n, rel=1e-13
    )


def test_early_stopping_restores_the_best_epoch(write, mlp, tmp_path):
    text = moons_with(MODES["minibatch"], epochs=60).replace(
        "lr: 0.2", "lr: 0.2\n  early_stopping: {patience: 3, restore_best: true}"
    )
    assert mlp("train", write("c.yaml", text), "--out", "r", "-q").exit_code == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["stop_reason"] == "early_stopping"
    best = summary["best"]
    assert summary["epochs_run"] == best["epoch"] + 3 < 60
    report = mlp("eval", tmp_path / "r", "--json").json()  # default: the validation split
    assert report["loss"] == pytest.approx(best["value"], rel=1e-6)


DIVERGING = """\
data: {train: {generator: sine, n_samples: 64}, validation_split: 0.25}
model: {hidden: []}
loss: squared_error
train: {epochs: 200, batch: {mode: batch}, lr: 10}
"""


def test_divergence_exits_3_and_keeps_the_last_finite_weights(write, mlp, tmp_path):
    # Linear regression on standardized x has curvature ≈ 1: η = 10 multiplies the error by ≈ 9.
    res = mlp("train", write("c.yaml", DIVERGING), "--out", "r", "--json")
    assert res.exit_code == 3
    assert "training diverged at epoch" in res.stderr and "smaller learning rate" in res.stderr
    assert res.json()["stop_reason"] == "diverged"
    tensors = load_file(str(tmp_path / "r" / "model.safetensors"))
    assert all(np.isfinite(v).all() for v in tensors.values())
    assert mlp("eval", tmp_path / "r", "--json").exit_code == 0  # loadable


def test_training_stays_float32_end_to_end(write):
    exp = prepare(load_config(write("c.yaml", MOONS)))
    from mlpcli.train import Trainer

    seen = set()
    trainer = Trainer(
        exp, on_epoch=lambda r: seen.update(p.grad.dtype for p in exp.model.parameters())
    )
    trainer.run()
    assert exp.train.x.dtype == np.float32 and exp.train.targets.dtype.kind == "i"
    assert {p.value.dtype for p in exp.model.parameters()} == {np.dtype(np.float32)}
    assert seen == {np.dtype(np.float32)}


def test_an_epoch_allocates_no_copy_of_the_dataset(tmp_path):
    import tracemalloc

    from mlpcli.train import Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40_000, 100)).astype(np.float32)  # 16 MB
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    (tmp_path / "c.yaml").write_text(
        "data: {train: d.npz, validation_split: 0.1}\n"
        "model: {hidden: [16], activation: relu}\n"
        "train: {epochs: 2, batch: {mode: minibatch, size: 256}, lr: 0.1}\n"
    )
    exp = prepare(load_config(tmp_path / "c.yaml"))
    assert exp.train.x.base is None or exp.train.x.base.nbytes == exp.train.x.nbytes
    tracemalloc.start()
    Trainer(exp).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A copy of the training split would be 90 % of x; what remains are per-row index arrays.
    assert peak < 0.25 * x.nbytes


def test_the_training_metric_is_right_when_one_minibatch_is_the_whole_set(write, mlp, tmp_path):
    # A minibatch as large as the set is batch mode: same weights, so the same metrics.
    text = MOONS.replace("  validation_split: 0.25\n", "").replace("epochs: 6", "epochs: 20")
    path = write("c.yaml", text)
    batch = mlp("train", path, "--out", "a", "-q", "--json", "--set", "train.batch={mode: batch}")
    whole = mlp("train", path, "--out", "b", "-q", "--json", "--set", "train.batch.size=120")
    assert batch.json()["final"] == whole.json()["final"]


def test_run_names_with_glob_characters(write, mlp, tmp_path):
    path = write("exp[1].yaml", MOONS)
    assert mlp("train", path, "-q").exit_code == 0
    assert mlp("train", path, "-q").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["exp[1]-1", "exp[1]-2"]
