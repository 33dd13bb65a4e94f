"""Optimizers, schedules, per-layer rates and clipping: steps by hand, and exact resumes."""

import math

import numpy as np
import pytest
from conftest import MOONS, metrics_rows, read_run, same_tensors
from test_training import REGRESSION

from mlpcli import build
from mlpcli.config import load_config
from mlpcli.engine import parameter
from mlpcli.optim import Adam, AdamW, clip_grad_norm
from mlpcli.optim.schedules import Constant, Cosine, Plateau, Step
from mlpcli.prepare import prepare

GRADS = [  # three steps' gradients for a (2, 2) weight and a (2,) bias
    (np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([0.1, -3.0])),
    (np.array([[-0.5, 1.5], [1.0, 0.2]]), np.array([0.2, 1.0])),
    (np.array([[0.3, -0.2], [-4.0, 0.1]]), np.array([-0.1, 0.5])),
]


def by_hand_adam(w, g_steps, lr, b1, b2, eps, decay=0.0):
    """Kingma & Ba's algorithm, written out; decoupled decay (AdamW) when given."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(g_steps, start=1):
        w = w * (1 - lr * decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def run(optimizer, steps):
    for g_w, g_b in steps:
        optimizer.params[0].grad, optimizer.params[1].grad = g_w.copy(), g_b.copy()
        optimizer.step()


@pytest.mark.parametrize("cls,decay", [(Adam, 0.0), (AdamW, 0.1)])
def test_adam_and_adamw_match_three_steps_by_hand(cls, decay):
    w0, b0 = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.0, 1.0])
    w, b = parameter(w0.copy()), parameter(b0.copy())
    kwargs = {"weight_decay": decay} if cls is AdamW else {}
    opt = cls([w, b], lr=0.01, beta1=0.8, beta2=0.9, eps=1e-3, **kwargs)
    run(opt, GRADS)
    expected_w = by_hand_adam(w0, [g for g, _ in GRADS], 0.01, 0.8, 0.9, 1e-3, decay)
    expected_b = by_hand_adam(b0, [g for _, g in GRADS], 0.01, 0.8, 0.9, 1e-3)  # never decayed
    np.testing.assert_allclose(w.value, expected_w, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b.value, expected_b, rtol=1e-13, atol=1e-15)
    assert int(opt.state()["t"]) == 3


def test_adam_first_step_moves_every_weight_by_about_eta():
    w = parameter(np.array([1e-4, 1.0, 1e4]))
    opt = Adam([w, parameter(np.zeros(1))], lr=0.1)
    w.grad, opt.params[1].grad = np.array([1e-6, -1.0, 1e3]), np.zeros(1)
    opt.step()
    np.testing.assert_allclose(w.value - [1e-4, 1.0, 1e4], [-0.1, 0.1, -0.1], rtol=1e-2)


def test_adam_steps_allocate_nothing_parameter_sized():
    import tracemalloc

    params = [parameter(np.zeros((500, 400))), parameter(np.zeros(400))]
    opt = Adam(params, lr=1e-3)
    for p in params:
        p.grad = np.ones_like(p.value)
    opt.step()  # warm
    tracemalloc.start()
    opt.step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10_000  # bytes; one (500, 400) temporary would be 1.6 MB


def test_clip_grad_norm_by_hand():
    a, b = parameter(np.zeros(2)), parameter(np.zeros((1, 2)))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([[0.0, 4.0]])  # ‖g‖ = 5
    assert clip_grad_norm([a, b], 1.0) == 5.0
    np.testing.assert_allclose(a.grad, [3 / (5 + 1e-6), 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [[0.0, 4 / (5 + 1e-6)]], rtol=1e-15)
    assert clip_grad_norm([a, b], 10.0) == pytest.approx(1.0, rel=1e-6)  # below: untouched
    np.testing.assert_allclose(a.grad, [3 / (5 + 1e-6), 0.0], rtol=1e-15)


def test_schedules_by_hand():
    warm = Constant(0.3, warmup=3)
    assert [warm(t, 0) for t in range(5)] == pytest.approx([0.075, 0.15, 0.225, 0.3, 0.3])
    steps = Step(1.0, factor=0.5, every=2, unit="step", warmup=1)
    assert [steps(0, t) for t in range(5)] == pytest.approx([0.5, 1.0, 0.5, 0.5, 0.25])
    cos = Cosine(1.0, period=4, eta_min=0.2)
    expected = [0.2 + 0.4 * (1 + math.cos(math.pi * t / 4)) for t in range(4)] + [0.2, 0.2]
    assert [cos(t, 0) for t in range(6)] == pytest.approx(expected, rel=1e-15)


def test_plateau_reduces_after_patience_and_keeps_its_state():
    p = Plateau(1.0, factor=0.5, patience=1, threshold=0.1, eta_min=0.2)
    rates = []
    for loss in [1.0, 0.95, 0.94, 0.5, 0.49, 0.48, 0.47, 0.46, 0.45]:
        rates.append(p(0, 0))
        p.observe({"val_loss": loss})
    # 0.95, 0.94: not 10 % better than 1.0 → after 2 bad epochs (> patience) halve;
    # 0.5 improves; 0.49, 0.48 bad → halve; 0.47, 0.46 → halve again, but not below 0.2
    assert rates == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2]
    assert float(p.state()["best"]) == 0.5 and int(p.state()["bad_epochs"]) == 1
    q = Plateau(1.0, metric="val_accuracy", patience=0)
    q.observe({"val_accuracy": 0.8})
    q.observe({"val_accuracy": 0.9})  # higher is better: an improvement
    assert q(0, 0) == 1.0
    q.observe({"val_accuracy": 0.85})
    assert q(0, 0) == pytest.approx(0.1)


def test_lr_scale_multiplies_each_layers_step(write):
    config = load_config(write("c.yaml", MOONS + "  lr_scale: [1.0, 0.25]\n"))
    params = prepare(config).model.parameters()  # W0, b0, W1, b1
    before = [p.value.copy() for p in params]
    opt = build.optimizer(config, params, 0.2)
    for p in params:
        p.grad = np.ones_like(p.value)
    opt.step()
    moved = [float(np.max(np.abs(p.value - b))) for p, b in zip(params, before)]
    assert moved == pytest.approx([0.2, 0.2, 0.05, 0.05], rel=1e-6)


CLIPPED = REGRESSION.replace("lr: 0.1}", "lr: 0.1, clip_norm: 0.05}")


def test_one_clipped_full_batch_step_by_hand(write, mlp, tmp_path):
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=(5, 2)), rng.normal(size=(5, 1)) + 3
    rows = "\n".join(",".join(repr(float(v)) for v in (*xi, ti[0])) for xi, ti in zip(x, t))
    write("data.csv", f"x1,x2,y\n{rows}\n")
    path = write("c.yaml", CLIPPED)
    initial = prepare(load_config(path)).model
    w, b = initial.layers[0].weight.value.copy(), initial.layers[0].bias.value.copy()
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    y = x @ w.T + b  # E = (1/N) Σ ½‖y − t‖² + (λ/N) ½‖W‖², λ = 0.3
    grad_w, grad_b = (y - t).T @ x / 5 + 0.3 / 5 * w, (y - t).sum(axis=0) / 5
    norm = np.sqrt((grad_w**2).sum() + (grad_b**2).sum())
    assert norm > 0.05  # the clip acts
    coef = 0.05 / (norm + 1e-6)
    trained = read_run(tmp_path / "r")["tensors"]
    np.testing.assert_allclose(trained["layers.0.weight"], w - 0.1 * coef * grad_w, rtol=1e-13)
    np.testing.assert_allclose(trained["layers.0.bias"], b - 0.1 * coef * grad_b, rtol=1e-13)


def test_cosine_period_defaults_to_the_epochs_and_plateau_reduces_in_training(write, mlp, tmp_path):
    cosine = MOONS.replace("lr: 0.2", "lr: {schedule: cosine, initial: 0.2, warmup: 2}")
    assert mlp("train", write("c.yaml", cosine), "--out", "c", "-q").exit_code == 0
    assert "period: 6" in (tmp_path / "c" / "config.yaml").read_text()
    lrs = [float(r[6]) for r in metrics_rows(tmp_path / "c")[1:]]
    expected = [0.1 * (1 + math.cos(math.pi * t / 6)) for t in range(6)]
    expected[0] *= 1 / 3  # warmup: (t + 1)/(warmup + 1)
    expected[1] *= 2 / 3
    assert lrs == pytest.approx(expected, rel=1e-12)
    plateau = MOONS.replace(
        "lr: 0.2", "lr: {schedule: plateau, initial: 0.2, patience: 1, threshold: 0.99}"
    )
    assert mlp("train", write("p.yaml", plateau), "--out", "p", "-q").exit_code == 0
    lrs = [float(r[6]) for r in metrics_rows(tmp_path / "p")[1:]]
    assert lrs == pytest.approx([0.2, 0.2, 0.2, 0.02, 0.02, 0.002])


RESUMABLE = {
    "adam": "  optimizer: {name: adam, beta1: 0.85}\n",
    "adamw_cosine_per_step": "  optimizer: {name: adamw, weight_decay: 0.05}\n"
    "  lr: {schedule: cosine, initial: 0.05, unit: step, period: 30, warmup: 4}\n",
    "plateau": "  lr: {schedule: plateau, initial: 0.2, patience: 0, threshold: 0.05}\n",
    "nesterov_scaled_clipped": "  optimizer: {name: sgd, momentum: 0.9, nesterov: true}\n"
    "  lr_scale: [0.5, 1.0]\n  clip_norm: 0.5\n",
}


@pytest.mark.parametrize("name", RESUMABLE)
def test_every_optimizer_and_schedule_resumes_bit_identically(name, write, mlp, tmp_path):
    text = MOONS.replace("  lr: 0.2\n", "") + "  lr: 0.2\n" * ("lr:" not in RESUMABLE[name])
    path = write("c.yaml", text + RESUMABLE[name])
    assert mlp("train", path, "--out", "full", "-q").exit_code == 0
    assert mlp("train", path, "--out", "part", "-q", "--set", "train.epochs=3").exit_code == 0
    assert mlp("train", "--resume", "part", "-q", "--set", "train.epochs=6").exit_code == 0
    full, part = read_run(tmp_path / "full"), read_run(tmp_path / "part")
    assert same_tensors(full["tensors"], part["tensors"])
    assert metrics_rows(tmp_path / "full") == metrics_rows(tmp_path / "part")
    assert len(set(r[6] for r in metrics_rows(tmp_path / "full")[1:])) > 1 or name in (
        "adam",
        "nesterov_scaled_clipped",
    )  # the schedules did change the rate


@pytest.mark.parametrize(
    "setting,field,message",
    [
        ("train.lr={schedule: plateau, initial: 0.1}", "train.lr ", "needs validation data"),
        ("train.lr={schedule: cosine, initial: 0.1, unit: step}", "train.lr.period", "required"),
        ("train.lr_scale=[1.0]", "train.lr_scale", "one multiplier per layer: 2"),
        ("train.optimizer={name: adam, momentum: 0.9}", "train.optimizer.momentum", "unknown key"),
        ("train.optimizer={name: adam, beta2: 1.0}", "train.optimizer.beta2", "must be < 1"),
        ("train.clip_norm=0", "train.clip_norm", "must be > 0"),
        ("data.standardize_target=true", "data.standardize_target", "only for regression"),
    ],
)
def test_bad_optimizer_and_schedule_settings_name_the_field(setting, field, message, write, mlp):
    text = MOONS.replace("  validation_split: 0.25\n", "")
    res = mlp("train", write("c.yaml", text), "--set", setting, "--out", "r")
    assert res.exit_code == 2 and field in res.stderr and message in res.stderr, res.stderr
