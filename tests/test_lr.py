"""``mlp lr``: the lecture's quadratic example proven, power iteration, per-layer blocks, scan."""

import shlex

import numpy as np
import pytest
import yaml
from conftest import CONFIGS

from mlpcli.config import load_config
from mlpcli.curvature import _recorded, curvature_of, largest_eigenvalue, power_iteration
from mlpcli.engine import HessianVectorProduct
from mlpcli.files.model import SavedModel, load_model, save_model
from mlpcli.prepare import prepare

# Three inputs of different scales, not standardized: H = XᵀX/N has distinct eigenvalues.
QUADRATIC = """\
seed: 1
dtype: {dtype}
data: {{train: data.csv, standardize: false, standardize_target: false}}
model: {{hidden: [], init: {{name: normal, std: 0.5}}}}
loss: squared_error
train: {{epochs: {epochs}, batch: {{mode: batch}}, lr: 0.1}}
"""


@pytest.fixture
def quadratic(write):
    """(config path writer, Φ = (x, 1) of the data, targets)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 3)) * [1.0, 0.6, 0.3] + [0.5, -0.2, 0.1]
    t = x @ [1.5, -2.0, 0.7] + 0.3 + 0.1 * rng.normal(size=40)
    rows = "\n".join(",".join(repr(float(v)) for v in (*xi, ti)) for xi, ti in zip(x, t))
    write("data.csv", f"x1,x2,x3,y\n{rows}\n")

    def config(dtype="float64", epochs=1):
        return write("c.yaml", QUADRATIC.format(dtype=dtype, epochs=epochs))

    return config, np.hstack([x, np.ones((40, 1))]), t


def gradient(phi, t, w):
    """∇E of E = (1/2N) Σ (φ·w − t)², for w = (W, b) as one vector."""
    return phi.T @ (phi @ w - t) / len(t)


def as_vector(model):
    return np.concatenate([model.layers[0].weight.value.ravel(), model.layers[0].bias.value])


def test_eta_opt_and_the_stability_bound_are_exact_on_a_quadratic(quadratic, mlp):
    config, phi, t = quadratic
    hessian = phi.T @ phi / len(t)  # the exact Hessian XᵀX/N of the lecture's quadratic
    g = gradient(phi, t, as_vector(prepare(load_config(config())).model))
    res = mlp("lr", config(), "--json", "-q")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert report["batch"] == 40 and report["dtype"] == "float64"
    assert report["eta_opt"] == pytest.approx(g @ g / (g @ hessian @ g), rel=1e-6)
    lam = np.linalg.eigvalsh(hessian)[-1]
    assert report["lambda_max"] == pytest.approx(lam, rel=1e-6)
    assert report["stability_bound"] == pytest.approx(2 / lam, rel=1e-6)
    assert report["power_iteration"]["converged"]
    assert report["recommended_lr"] == pytest.approx(1 / lam, rel=1e-6)
    (layer,) = report["per_layer"]  # one layer: its block is the whole Hessian
    assert layer["lambda_max"] == pytest.approx(lam, rel=1e-6)


def test_eta_opt_along_an_eigendirection_reaches_the_minimum_in_one_step(quadratic, mlp, tmp_path):
    config, phi, t = quadratic
    hessian = phi.T @ phi / len(t)
    values, vectors = np.linalg.eigh(hessian)
    best = np.linalg.lstsq(phi, t, rcond=None)[0]
    start = best + 0.8 * vectors[:, 1]  # off the minimum along one eigendirection only
    assert mlp("train", config(), "--out", "a", "-q").exit_code == 0
    saved = load_model(tmp_path / "a")
    saved.model.layers[0].weight.value[...] = start[:3]
    saved.model.layers[0].bias.value[...] = start[3:]
    save_model(tmp_path / "start.safetensors", SavedModel(**{**vars(saved), "path": None}))

    report = mlp("lr", config(), "--init-from", tmp_path / "start.safetensors", "--json").json()
    assert report["eta_opt"] == pytest.approx(1 / values[1], rel=1e-9)  # g ∥ that eigenvector
    eta = repr(report["eta_opt"])
    assert mlp("train", config(), "--init-from", tmp_path / "start.safetensors", "--out", "b",
               "-q", "--set", f"train.lr={eta}").exit_code == 0  # fmt: skip
    stepped = as_vector(load_model(tmp_path / "b").model)
    np.testing.assert_allclose(stepped, best, atol=1e-10)


def test_just_below_two_over_lambda_max_converges_and_just_above_diverges(quadratic, mlp):
    config, phi, t = quadratic
    bound = mlp("lr", config(), "--json", "-q").json()["stability_bound"]
    minimum = 0.5 * np.mean((phi @ np.linalg.lstsq(phi, t, rcond=None)[0] - t) ** 2)
    path = config("float32", epochs=1500)
    below = mlp(
        "train", path, "--out", "below", "-q", "--json", "--set", f"train.lr={0.95 * bound}"
    )
    assert below.exit_code == 0
    assert below.json()["final"]["train_loss"] == pytest.approx(minimum, rel=1e-3)
    above = mlp("train", path, "--out", "above", "--json", "--set", f"train.lr={1.05 * bound}")
    assert above.exit_code == 3 and above.json()["stop_reason"] == "diverged"
    assert "above the stability bound 2/λ_max" in above.stderr and "mlp lr" in above.stderr


def test_the_shipped_quadratic_config_states_its_eta_opt_and_three_regimes(mlp):
    path = CONFIGS / "learning-rate-quadratic.yaml"
    res = mlp("lr", path, "--json", "-q", "--scan", "--from", "0.1", "--to", "10", "--count", "3",
              "--epochs", "3")  # fmt: skip
    report = res.json()
    assert report["eta_opt"] == pytest.approx(1.0, rel=1e-6)  # standardized x: H = I
    assert report["stability_bound"] == pytest.approx(2.0, rel=1e-6)
    assert f"η_opt = gᵀg/gᵀHg = {report['eta_opt']:.3g}," in path.read_text()  # as stated
    verdicts = {p["lr"]: p["verdict"] for p in report["scan"]["points"]}
    assert verdicts == {0.1: "too small", 1.0: "best", 10.0: "diverged"}


def test_power_iteration_finds_the_largest_eigenvalue_even_behind_a_negative_one():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    a = q @ np.diag([-5.0, 2.0, 1.5, 1.0, 0.5, -0.1]) @ q.T  # |−5| dominates; λ_max = 2

    def matvec(v):
        return [a @ v[0]]

    start = [rng.normal(size=6)]
    plain = power_iteration(matvec, start, tol=1e-12, max_iterations=500)
    assert plain.eigenvalue == pytest.approx(-5.0, rel=1e-9) and plain.converged
    found = largest_eigenvalue(matvec, start, tol=1e-12, max_iterations=2000)
    assert found.eigenvalue == pytest.approx(2.0, rel=1e-8)
    assert found.shifted and found.converged and found.iterations > plain.iterations
    stuck = power_iteration(matvec, start, tol=1e-12, max_iterations=3)
    assert not stuck.converged and stuck.iterations == 3 and stuck.relative_change > 1e-12


def test_power_iteration_is_not_fooled_by_eigenvalues_plus_and_minus_a():
    """±a dominate: v swings between their eigenvectors and the quotient stands still below
    a. That is no convergence, and λ_max is still found (zero initial weights do this)."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a = q @ np.diag([3.0, -3.0, 1.0, 0.5, 0.0]) @ q.T

    def matvec(v):
        return [a @ v[0]]

    start = [rng.normal(size=5)]
    plain = power_iteration(matvec, start, tol=1e-9, max_iterations=300)
    assert not plain.converged and plain.eigenvalue < 2.9  # the quotient alone looked settled
    found = largest_eigenvalue(matvec, start, tol=1e-9, max_iterations=300)
    assert found.eigenvalue == pytest.approx(3.0, rel=1e-8) and found.converged and found.shifted
    b = q @ np.diag([3.0, 2.99, 1.0, 0.5, 0.0]) @ q.T  # merely slow: v stays near an eigenvector
    slow = largest_eigenvalue(lambda v: [b @ v[0]], start, tol=1e-9, max_iterations=50)
    assert not slow.converged and not slow.shifted and slow.iterations == 50
    assert 2.9 < slow.eigenvalue <= 3.0


def test_lambda_max_at_zero_initial_weights_is_the_dense_hessians(write):
    config = write("z.yaml", "seed: 0\ndata: {train: {generator: moons}}\n"
                             "model: {hidden: [4], init: zeros, activation: tanh}\n")  # fmt: skip
    exp = prepare(load_config(config), dtype=np.float64)
    hvp, _, _ = _recorded(exp, None)  # E on the batch mlp lr measures
    eig = np.linalg.eigvalsh(explicit_hessian(hvp, hvp.params)[0])
    assert eig[0] == pytest.approx(-eig[-1], rel=1e-6)  # the ± pair that stalled the iteration
    report = curvature_of(exp)
    assert report.whole.lambda_max == pytest.approx(eig[-1], rel=1e-5)  # tol 1e-6: 4 digits
    assert report.whole.lambda_max >= report.whole.curvature  # any quotient is ≤ λ_max


def explicit_hessian(hvp, params):
    """The dense Hessian, one column per basis vector (small networks only)."""
    sizes = [p.value.size for p in params]
    columns = []
    for k in range(sum(sizes)):
        e = np.zeros(sum(sizes))
        e[k] = 1
        parts = np.split(e, np.cumsum(sizes)[:-1])
        v = [part.reshape(p.value.shape) for part, p in zip(parts, params)]
        columns.append(np.concatenate([h.ravel() for h in hvp(v)]))
    return np.array(columns).T, np.cumsum([0, *sizes])


NETWORK = """\
seed: 2
data: {train: {generator: spirals, n_samples: 60, classes: 3}}
model: {hidden: [5], activation: tanh, init: xavier}
loss: cross_entropy
regularizer: {type: l2, lambda: 0.1}
train: {batch: {mode: batch}}
"""


def test_per_layer_figures_are_those_of_the_explicit_hessian_blocks(write):
    exp = prepare(load_config(write("c.yaml", NETWORK)), dtype=np.float64)
    report = curvature_of(exp, tol=1e-12, max_iterations=3000)
    params = exp.model.parameters()
    x, t = exp.train.x, exp.train.targets
    hvp = HessianVectorProduct(exp.objective()(x, t).total, params)
    h, edges = explicit_hessian(hvp, params)
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    g = np.concatenate([a.ravel() for a in hvp.gradient])
    assert report.whole.lambda_max == pytest.approx(np.linalg.eigvalsh(h)[-1], rel=1e-6)
    assert report.whole.eta_opt == pytest.approx(g @ g / (g @ h @ g), rel=1e-9)
    for i, layer in enumerate(report.layers):  # layer i: tensors 2i, 2i+1 (W, b)
        block = slice(edges[2 * i], edges[2 * i + 2])
        gb, hb = g[block], h[block, block]
        assert layer.lambda_max == pytest.approx(np.linalg.eigvalsh(hb)[-1], rel=1e-6)
        assert layer.eta_opt == pytest.approx(gb @ gb / (gb @ hb @ gb), rel=1e-9)
        assert layer.parameters == hb.shape[0]
    # Adam's first step −η g/(|g| + ε): the quadratic model along it is lowest at gᵀs/sᵀHs.
    s = g / (np.abs(g) + 1e-8)
    assert report.adam_eta == pytest.approx(g @ s / (s @ h @ s), rel=1e-9)


@pytest.mark.parametrize("shuffle", [True, False])
def test_the_default_batch_is_the_first_batch_training_sees(write, mlp, shuffle):
    from mlpcli.curvature import first_batch
    from mlpcli.train import Trainer

    minibatch = NETWORK.replace(
        "{mode: batch}", f"{{mode: minibatch, size: 16}}, shuffle: {shuffle}"
    )
    path = write("c.yaml", minibatch)
    assert mlp("lr", path, "--json", "-q").json()["batch"] == 16
    assert mlp("lr", path, "--json", "-q", "--batch", "40").json()["batch"] == 40
    exp = prepare(load_config(path))
    rows = Trainer(exp)._order()[:16]  # what the first step trains on
    np.testing.assert_array_equal(first_batch(exp).x, exp.train.batch(rows).x)


def test_lr_json_keys_help_and_bad_options(write, mlp):
    path = write("c.yaml", NETWORK)
    report = mlp("lr", path, "--json", "-q", "--scan", "--steps", "2", "--count", "2").json()
    assert {"eta_opt", "lambda_max", "stability_bound", "per_layer", "recommended_lr", "reason",
            "power_iteration", "suggested_lr_scale", "scan"} <= set(report)  # fmt: skip
    assert [p["steps"] for p in report["scan"]["points"]] == [2, 2]
    assert report["scan"]["steps"] == 2 and report["scan"]["epochs"] is None
    assert "Example:" in mlp("lr", "--help").stdout
    res = mlp("lr", path, "--scan", "--from", "0.1")
    assert res.exit_code == 2 and "--from and --to go together" in res.stderr
    res = mlp("lr", path, "--set", "train.optimizer.momentum=2")
    assert res.exit_code == 2 and "train.optimizer.momentum" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scan", "--from", "0", "--to", "1"], "--from 0 must be > 0 and below --to 1"),
        (["--scan", "--from", "1", "--to", "0.1"], "--from 1 must be > 0 and below --to 0.1"),
        (["--scan", "--from", "1", "--to", "1"], "--from 1 must be > 0 and below --to 1"),
        (["--scan", "--from", "0.1", "--to", "inf"], "--to inf: not a finite number"),
        (["--scan", "--epochs", "2", "--steps", "3"], "--epochs and --steps"),
        (["--from", "0.1", "--to", "1"], "--from, --to: only with --scan"),
        (["--count", "3"], "--count: only with --scan"),
        (["--epochs", "3"], "--epochs: only with --scan"),
        (["--steps", "3"], "--steps: only with --scan"),
    ],
)
def test_scan_options_are_refused_by_name_before_any_work(mlp, args, message):
    # The config does not exist: the options are judged before it is even read.
    for extra in ([], ["--json"]):
        res = mlp("lr", "no-such-config.yaml", *args, *extra)
        assert res.exit_code == 2 and message in res.stderr, res.stderr
        assert "Traceback" not in res.stderr and "λ_max" not in res.stderr
        if extra:
            assert message in res.json()["error"]
    res = mlp("lr", "no-such-config.yaml", "--scan", "--count", "101")  # a usage error
    assert res.exit_code == 2 and "'--count'" in res.stderr and "100" in res.stderr


def test_a_batch_larger_than_the_training_split_is_refused_as_graph_does(write, mlp):
    path = write("c.yaml", NETWORK)
    n = len(prepare(load_config(path)).train)
    for command in ("lr", "graph"):
        res = mlp(command, path, "--batch", str(n + 1))
        assert res.exit_code == 2, res.stderr
        assert res.stderr.strip() == f"error: --batch {n + 1}: the training split has {n} examples"
    assert mlp("lr", path, "--batch", str(n), "--json", "-q").json()["batch"] == n


def test_rates_that_leave_the_loss_exactly_unchanged_are_too_small(quadratic, mlp):
    config, _, _ = quadratic
    args = ["--scan", "--from", "1e-320", "--to", "1e-300", "--count", "3", "--epochs", "1"]
    scan = mlp("lr", config(), *args, "--json", "-q").json()["scan"]
    assert {p["loss"] for p in scan["points"]} == {scan["initial_loss"]}
    assert [p["verdict"] for p in scan["points"]] == ["too small"] * 3
    assert scan["best_lr"] is None
    # A rate that lowers the loss among them: judged as before; the unmoved stay too small.
    args = [*args[:3], "--to", "0.1", "--count", "2", "--epochs", "1"]
    scan = mlp("lr", config(), *args, "--json", "-q").json()["scan"]
    assert [p["verdict"] for p in scan["points"]] == ["too small", "best"]
    # Under a warmup the smallest rate's first step rounds to 0: a step that moves nothing.
    warm = ["--set", "train.lr={schedule: constant, initial: 0.1, warmup: 1}"]
    scan = mlp("lr", config(), *warm, "--scan", "--from", "5e-324", "--to", "0.1",
               "--count", "2", "--epochs", "2", "--json", "-q")  # fmt: skip
    assert [p["verdict"] for p in scan.json()["scan"]["points"]] == ["too small", "best"]


def test_the_per_layer_table_keeps_whole_numbers_at_80_columns(write, mlp, monkeypatch):
    config = write("n.yaml", "seed: 0\ndata: {train: {generator: moons}}\nmodel: {hidden: [4], "
                             "init: {name: normal, std: 0.001}, activation: tanh}\n")  # fmt: skip
    monkeypatch.setenv("COLUMNS", "80")  # what a pipe or a log gets
    res = mlp("lr", config)
    row = next(line for line in res.stderr.splitlines() if line.startswith(" layers.0"))
    assert "…" not in row and len(row) <= 80 and "e-" in row, res.stderr


def test_an_exact_fit_does_not_make_every_other_rate_too_small():
    """Hinge reaches a loss of exactly 0; a rate that removed 94 % of the loss is good."""
    from mlpcli.lrscan import ScanPoint, judge

    points = [ScanPoint(lr, loss, None, 2) for lr, loss in [(0.1, 0.9), (1, 0.06), (10, 0.0)]]
    assert [p.verdict for p in judge(1.0, points)] == ["too small", "good", "best"]


def test_a_scan_point_does_not_depend_on_the_other_rates_of_the_grid(write, mlp):
    """Each run starts from the same weights and the same dropout masks."""
    config = write("d.yaml", "seed: 0\ndata: {train: {generator: moons, n_samples: 60}}\n"
                             "model: {hidden: [16], dropout: 0.5}\n")  # fmt: skip

    def losses(count):
        args = ["--scan", "--from", "0.01", "--to", "1", "--count", count, "--epochs", "2"]
        points = mlp("lr", config, *args, "--json", "-q").json()["scan"]["points"]
        return {round(p["lr"], 9): p["loss"] for p in points}

    three, five = losses("3"), losses("5")
    assert three == {lr: five[lr] for lr in three}


# -- the error training minimizes: class weights ------------------------------------------

WEIGHTED = NETWORK.replace("classes: 3}}", "classes: 3}, class_weight: {0: 4, 2: 0.5}}")


def numpy_error(exp, w):
    """E of the NETWORK config for w = (W₀, b₀, W₁, b₁) flattened, by NumPy alone:
    (1/N) Σ c_t L + (λ/N) ½ Σ W², c_k = (4, 1, 0.5) scaled to mean 1 over the rows."""
    x, labels = exp.train.x, exp.train.labels
    shapes = [p.value.shape for p in exp.model.parameters()]
    w0, b0, w1, b1 = (
        part.reshape(shape)
        for part, shape in zip(np.split(w, np.cumsum([np.prod(s) for s in shapes])[:-1]), shapes)
    )
    y = np.tanh(x @ w0.T + b0) @ w1.T + b1
    top = y.max(axis=1, keepdims=True)
    losses = (top[:, 0] + np.log(np.exp(y - top).sum(axis=1))) - y[np.arange(len(y)), labels]
    c = np.array([4.0, 1.0, 0.5])[labels]
    c /= c.mean()
    return np.mean(c * losses) + 0.1 / len(x) * 0.5 * (np.sum(w0**2) + np.sum(w1**2))


def test_lr_measures_the_class_weighted_error_training_minimizes(write, mlp):
    path = write("c.yaml", WEIGHTED)
    exp = prepare(load_config(path), dtype=np.float64)
    w = np.concatenate([p.value.ravel() for p in exp.model.parameters()])
    n, eps = len(w), 1e-4
    step = np.eye(n) * eps

    def f(v):
        return numpy_error(exp, v)

    grad = np.array([(f(w + step[i]) - f(w - step[i])) / (2 * eps) for i in range(n)])
    hessian = np.array(
        [
            [
                (f(w + step[i] + step[j]) - f(w + step[i] - step[j])
                 - f(w - step[i] + step[j]) + f(w - step[i] - step[j])) / (4 * eps**2)
                for j in range(n)
            ]
            for i in range(n)
        ]
    )  # fmt: skip
    report = mlp("lr", path, "--json", "-q", "--tol", "1e-12", "--iterations", "3000").json()
    assert report["loss"] == pytest.approx(f(w), rel=1e-12)
    assert report["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-7)
    assert report["eta_opt"] == pytest.approx(grad @ grad / (grad @ hessian @ grad), rel=1e-5)
    assert report["lambda_max"] == pytest.approx(np.linalg.eigvalsh(hessian)[-1], rel=1e-5)
    unweighted = mlp("lr", path, "--json", "-q", "--set", "data.class_weight=null").json()
    assert abs(unweighted["loss"] - report["loss"]) > 1e-3 * report["loss"]  # the weights matter


SCHEDULE = "{schedule: cosine, initial: 0.01, warmup: 3, eta_min: 0.001}"


@pytest.mark.parametrize(("lr", "key"), [(SCHEDULE, "train.lr.initial"), ("0.01", "train.lr")])
def test_the_recommended_command_keeps_the_schedule_and_the_overrides(write, mlp, lr, key):
    path = write("c.yaml", NETWORK.replace("train: {batch", f"train: {{lr: {lr}, batch"))
    res = mlp("lr", path, "--set", "model.hidden=[4]", "--json")
    recommended = float(f"{res.json()['recommended_lr']:.3g}")
    line = next(s for s in res.stderr.splitlines() if s.startswith("  mlp train "))
    words = shlex.split(line)
    assert words[-2:] == ["--set", f"{key}={recommended:g}"]
    printed = mlp(*words[1:], "--print-config")
    assert printed.exit_code == 0, printed.stderr
    config = yaml.safe_load(printed.stdout)
    assert config["model"]["hidden"] == [4]  # as measured
    expected = yaml.safe_load(f"lr: {lr}")["lr"]
    expected = expected if isinstance(expected, dict) else {"schedule": "constant"}
    assert config["train"]["lr"] == {**config["train"]["lr"], **expected, "initial": recommended}


def test_a_rate_measured_at_other_weights_recommends_training_from_them(write, mlp, tmp_path):
    path = write("c.yaml", NETWORK.replace("train: {batch", "train: {epochs: 2, batch"))
    assert mlp("train", path, "--out", "run", "-q").exit_code == 0
    res = mlp("lr", path, "--init-from", "run")
    assert res.exit_code == 0, res.stderr
    line = next(s for s in res.stderr.splitlines() if s.startswith("  mlp train "))
    words = shlex.split(line)
    assert words[-2:] == ["--init-from", "run"]
    assert mlp(*words[1:], "--out", "again", "-q").exit_code == 0


# -- per-layer learning rates: train.lr_scale ----------------------------------------------

DEEPER = NETWORK.replace("hidden: [5]", "hidden: [4, 3]")


def test_with_lr_scale_the_whole_network_figures_are_those_of_the_scaled_hessian(write, mlp):
    """The step −η S g: η_opt = gᵀSg/gᵀSHSg, stable iff η < 2/λ_max(S^½ H S^½)."""
    path, scales = write("c.yaml", DEEPER), [1.0, 0.3, 5.0]
    exp = prepare(load_config(path), dtype=np.float64)
    params = exp.model.parameters()
    hvp = HessianVectorProduct(exp.objective()(exp.train.x, exp.train.targets).total, params)
    h, edges = explicit_hessian(hvp, params)
    s = np.repeat(np.repeat(scales, 2), np.diff(edges))  # S's diagonal, W and b of a layer alike
    g = np.concatenate([a.ravel() for a in hvp.gradient])
    lam = np.linalg.eigvalsh(np.sqrt(s)[:, None] * h * np.sqrt(s))[-1]

    def lr(*args):
        res = mlp("lr", path, "--json", "--tol", "1e-12", "--iterations", "3000", *args)
        assert res.exit_code == 0, res.stderr
        return res.json(), res.stderr

    report, shown = lr("--set", "train.lr_scale=[1, 0.3, 5]")
    assert report["lr_scale"] == scales
    assert report["eta_opt"] == pytest.approx(g @ (s * g) / ((s * g) @ h @ (s * g)), rel=1e-6)
    assert report["curvature"] == pytest.approx(1 / report["eta_opt"], rel=1e-12)
    assert report["lambda_max"] == pytest.approx(lam, rel=1e-6)
    assert report["stability_bound"] == pytest.approx(2 / lam, rel=1e-6)
    assert report["recommended_lr"] == pytest.approx(1 / lam, rel=1e-6)
    assert report["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-12)  # ‖g‖ itself
    step = s * g / (np.abs(g) + 1e-8)  # Adam's first step, per-layer rates included
    assert report["adam_eta"] == pytest.approx(g @ step / (step @ h @ step), rel=1e-9)
    assert "λ_max of S^½ H S^½" in shown and "S^½ H S^½, S = diag(lr_scale)" in report["reason"]

    plain, shown = lr()
    assert plain["lr_scale"] is None and "S^½" not in plain["reason"]
    assert "λ_max of S^½ H S^½" not in shown
    assert plain["per_layer"] == report["per_layer"]  # the blocks of H: to choose lr_scale from
    assert plain["lambda_max"] == pytest.approx(np.linalg.eigvalsh(h)[-1], rel=1e-6)
    # The suggested multipliers give each block the top block's λ_max; the η paired with
    # them is 1/λ_max of the whole network under them (the blocks are coupled).
    blocks = [layer["lambda_max"] for layer in plain["per_layer"]]
    suggested = plain["suggested_lr_scale"]
    assert suggested == [float(f"{max(blocks) / b:.2g}") for b in blocks]
    s = np.repeat(np.repeat(suggested, 2), np.diff(edges))
    lam = np.linalg.eigvalsh(np.sqrt(s)[:, None] * h * np.sqrt(s))[-1]
    assert plain["lr_with_suggested_scale"] == pytest.approx(1 / lam, rel=1e-6)
    scales = ",".join(f"{v:g}" for v in suggested)
    assert f"--set train.lr={1 / lam:.3g} --set 'train.lr_scale=[{scales}]'" in shown
    ones, _ = lr("--set", "train.lr_scale=[1, 1, 1]")
    figures = ("eta_opt", "curvature", "lambda_max", "stability_bound", "recommended_lr",
               "power_iteration", "per_layer", "adam_eta", "grad_norm", "loss")  # fmt: skip
    assert {k: ones[k] for k in figures} == {k: plain[k] for k in figures}  # exactly


@pytest.mark.parametrize("seed", range(5))
def test_the_recommendation_for_the_configured_lr_scale_trains_better_than_ignoring_it(mlp, seed):
    """customers-churn with two hidden layers, the last one's rate ×10: the η recommended
    for those scales beats the η that ignores them, trained with the scales as configured."""
    path = CONFIGS / "customers-churn.yaml"
    common = ("--set", "model.hidden=[16,8]", "--set", f"seed={seed}", "--json", "-q")
    ignoring = mlp("lr", path, *common).json()["recommended_lr"]
    scaled = ("--set", "train.lr_scale=[1,1,10]")
    recommended = mlp("lr", path, *common, *scaled).json()["recommended_lr"]
    assert recommended < ignoring / 2
    scan = mlp("lr", path, *common, *scaled, "--scan", "--from", repr(recommended),
               "--to", repr(ignoring), "--count", "2").json()["scan"]  # fmt: skip
    at, above = scan["points"]
    assert at["lr"] == pytest.approx(recommended) and at["verdict"] == "best"
    assert at["loss"] < 0.9 * above["loss"]


def test_on_a_quadratic_the_bound_under_lr_scale_is_where_training_diverges(quadratic, mlp):
    config, phi, t = quadratic
    half = ("--set", "train.lr_scale=[0.5]")  # the step −0.5 η g: twice the stable η
    plain = mlp("lr", config(), "--json", "-q").json()["stability_bound"]
    bound = mlp("lr", config(), *half, "--json", "-q").json()["stability_bound"]
    assert bound == pytest.approx(2 * plain, rel=1e-9)
    minimum = 0.5 * np.mean((phi @ np.linalg.lstsq(phi, t, rcond=None)[0] - t) ** 2)
    path = config("float32", epochs=1500)
    below = mlp("train", path, *half, "--out", "below", "-q", "--json",
                "--set", f"train.lr={0.95 * bound}")  # fmt: skip
    assert below.exit_code == 0
    assert below.json()["final"]["train_loss"] == pytest.approx(minimum, rel=1e-3)
    above = mlp("train", path, *half, "--out", "above", "--json",
                "--set", f"train.lr={1.05 * bound}")  # fmt: skip
    assert above.exit_code == 3 and above.json()["stop_reason"] == "diverged"
    assert f"above the stability bound 2/λ_max = {bound:.3g}" in above.stderr  # the hint's too
