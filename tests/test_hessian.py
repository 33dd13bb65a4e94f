"""Second derivatives: every op's R-operator rules, and exact Hessian-vector products.

Each tangent rule is checked against central differences of the op's own
forward and backward; H v of a whole network against central differences of
its exact gradient and against second differences of E alone, for every
loss, activation and penalty.
"""

import numpy as np
import pytest

from mlpcli import engine
from mlpcli.engine import HessianVectorProduct, ops
from mlpcli.gradcheck import check_tangent, numeric_hvp, second_difference
from mlpcli.nn.heads import HEADS
from mlpcli.nn.model import MLP
from mlpcli.nn.objective import Objective
from mlpcli.nn.regularizers import Regularizer

rng = np.random.default_rng(0)
A = rng.standard_normal((4, 3))
B = rng.standard_normal((4, 3))
POSITIVE = rng.uniform(0.5, 2.0, (4, 3))
ROW = rng.standard_normal(3)
LOGITS = rng.standard_normal((5, 3)) * 2  # away from hinge kinks: checked below
CLASSES = np.array([0, 2, 1, 1, 0])

OPS = {  # name: (op factory, inputs, positions without a direction)
    "add": (ops.Add, (A, ROW), ()),
    "sub": (ops.Sub, (ROW, A), ()),
    "mul": (ops.Mul, (A, ROW), ()),
    "div": (ops.Div, (A, POSITIVE), ()),
    "neg": (ops.Neg, (A,), ()),
    "pow": (lambda: ops.Pow(3.0), (A,), ()),
    "pow_half": (lambda: ops.Pow(0.5), (POSITIVE,), ()),
    "matmul": (ops.MatMul, (A, B.T), ()),
    "matmul_vector": (ops.MatMul, (A, ROW), ()),
    "inner": (ops.MatMul, (ROW, ROW[::-1].copy()), ()),
    "linear": (ops.Linear, (A, rng.standard_normal((2, 3)), rng.standard_normal(2)), ()),
    "sum": (lambda: ops.Sum(axis=0), (A,), ()),
    "mean": (lambda: ops.Mean(axis=1, keepdims=True), (A,), ()),
    "mean_all": (ops.Mean, (A,), ()),
    "exp": (ops.Exp, (A,), ()),
    "log": (ops.Log, (POSITIVE,), ()),
    "abs": (ops.Abs, (A,), ()),
    "identity": (engine.Identity, (A,), ()),
    "relu": (engine.Relu, (A,), ()),
    "leaky_relu": (engine.LeakyRelu, (A,), ()),
    "sigmoid": (engine.Sigmoid, (A,), ()),
    "tanh": (engine.Tanh, (A,), ()),
    "softplus": (engine.Softplus, (A,), ()),
    "squared_error": (engine.SquaredError, (LOGITS, rng.standard_normal((5, 3))), (1,)),
    "bce": (engine.BinaryCrossEntropy, (LOGITS, (LOGITS > 0.3).astype(float)), (1,)),
    "softmax_ce": (engine.SoftmaxCrossEntropy, (LOGITS, CLASSES), (1,)),
    "hinge": (engine.Hinge, (LOGITS, np.sign(rng.standard_normal((5, 3)))), (1,)),
    "multiclass_hinge": (engine.MulticlassHinge, (LOGITS, CLASSES), (1,)),
    "l2": (lambda: engine.L2Penalty(0.3), (A, ROW), ()),
    "l1": (lambda: engine.L1Penalty(0.3), (A, ROW), ()),
}


@pytest.mark.parametrize("name", OPS)
def test_every_tangent_rule_matches_central_differences(name):
    make, arrays, fixed = OPS[name]
    results = check_tangent(make, *arrays, fixed=fixed)
    assert len(results) == 1 + len(arrays) - len(fixed)
    for r in results:
        assert r.passed, (name, r)


def test_a_wrong_tangent_rule_is_caught(monkeypatch):
    # σ'' dropped: the check must fail on the backward tangent, not on the tangent.
    monkeypatch.setattr(
        engine.Sigmoid, "backward_tangent", lambda self, g, dg, t: (dg * self.out * (1 - self.out),)
    )
    results = {r.name: r.passed for r in check_tangent(engine.Sigmoid, A)}
    assert results == {"tangent": True, "backward_tangent[0]": False}


def small_network(loss, activation, regularizer=None, k=3):
    """A float64 3-4-4-k network on 6 examples and E's parts."""
    r = np.random.default_rng(1)
    head = HEADS[loss]()
    out_act = "sigmoid" if loss == "squared_error" and activation == "tanh" else "identity"
    classes = np.array([0, 1, 2, 1, 0, 2]) % k
    n_out = head.n_outputs(k) if loss != "squared_error" else 2
    model = MLP(3, [4, 4], n_out, activation=activation, output_activation=out_act,
                init="xavier", dtype=np.float64)  # fmt: skip
    model.reset_parameters(r)
    for p in model.parameters():  # biases away from 0, so every path carries curvature
        p.value += 0.1 * r.standard_normal(p.value.shape)
    x = r.standard_normal((6, 3))
    targets = (
        r.standard_normal((6, 2)) if loss == "squared_error" else head.encode(classes, k, float)
    )
    return Objective(model, head, regularizer, n_train=6), x, targets


def hvp_and_oracles(objective, x, targets, seed=2):
    params = objective.model.parameters()
    v = [np.random.default_rng(seed).standard_normal(p.value.shape) for p in params]
    exact = HessianVectorProduct(objective(x, targets).total, params)(v)

    def gradient():
        for p in params:
            p.grad = None
        objective(x, targets).total.backward()
        return [p.grad for p in params]

    def value():
        with engine.no_grad():
            return float(objective(x, targets).total.value)

    numeric = numeric_hvp(gradient, params, v)
    vhv = second_difference(value, params, v, h=1e-4)
    return v, exact, numeric, vhv


CASES = [
    ("squared_error", "tanh", None, 2),
    ("squared_error", "softplus", Regularizer(l2=0.5), 2),
    ("binary_cross_entropy", "sigmoid", None, 2),
    ("binary_cross_entropy", "tanh", Regularizer(l2=0.3), 3),
    ("cross_entropy", "tanh", Regularizer(l1=0.2, l2=0.1), 3),
    ("cross_entropy", "leaky_relu", None, 3),
    ("hinge", "tanh", None, 2),
    ("hinge", "softplus", Regularizer(l2=1.0), 3),
]


@pytest.mark.parametrize("loss,activation,regularizer,k", CASES)
def test_hessian_vector_products_match_finite_differences(loss, activation, regularizer, k):
    objective, x, targets = small_network(loss, activation, regularizer, k)
    v, exact, numeric, vhv = hvp_and_oracles(objective, x, targets)
    for hv, fd in zip(exact, numeric):
        np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-7)
    quadratic_form = sum(np.vdot(a, b) for a, b in zip(v, exact))
    assert quadratic_form == pytest.approx(vhv, rel=1e-4, abs=1e-6)


def test_relu_network_hessian_away_from_kinks():
    # ReLU's h'' is 0 away from 0: the curvature comes from the loss alone.
    objective, x, targets = small_network("cross_entropy", "relu", None, 3)
    _, exact, numeric, _ = hvp_and_oracles(objective, x, targets)
    for hv, fd in zip(exact, numeric):
        np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-7)


def test_hessian_is_symmetric_and_linear():
    objective, x, targets = small_network("cross_entropy", "tanh", Regularizer(l2=0.2), 3)
    params = objective.model.parameters()
    hvp = HessianVectorProduct(objective(x, targets).total, params)
    r = np.random.default_rng(5)
    u = [r.standard_normal(p.value.shape) for p in params]
    w = [r.standard_normal(p.value.shape) for p in params]
    hu, hw = hvp(u), hvp(w)
    dot = lambda a, b: sum(np.vdot(s, t) for s, t in zip(a, b))  # noqa: E731
    assert dot(u, hw) == pytest.approx(dot(w, hu), rel=1e-12)
    h_sum = hvp([a + 2 * b for a, b in zip(u, w)])
    for s, a, b in zip(h_sum, hu, hw):
        np.testing.assert_allclose(s, a + 2 * b, rtol=1e-12, atol=1e-14)


def test_a_direction_on_one_tensor_gives_its_block_column():
    objective, x, targets = small_network("squared_error", "tanh", None)
    params = objective.model.parameters()
    hvp = HessianVectorProduct(objective(x, targets).total, params)
    v = [np.random.default_rng(3).standard_normal(p.value.shape) for p in params]
    only = [None, None, v[2], None, None, None]
    zeros = [np.zeros_like(p.value) if a is None else a for p, a in zip(params, only)]
    for a, b in zip(hvp(only), hvp(zeros)):
        np.testing.assert_array_equal(a, b)


def test_the_quadratic_hessian_is_exactly_xtx_over_n():
    # Linear model y = W x + b with squared error: H = (1/N) Σ φ φᵀ per output, φ = (x, 1).
    r = np.random.default_rng(4)
    x, t = r.standard_normal((20, 3)) * [1.0, 3.0, 0.5], r.standard_normal((20, 1))
    model = MLP(3, [], 1, init="zeros", dtype=np.float64)
    objective = Objective(model, HEADS["squared_error"](), None, n_train=20)
    w, b = model.parameters()
    hvp = HessianVectorProduct(objective(x, t).total, [w, b])
    phi = np.hstack([x, np.ones((20, 1))])
    exact = phi.T @ phi / 20
    columns = [
        np.concatenate([a.ravel(), c]) for a, c in (hvp([e[:3][None], e[3:]]) for e in np.eye(4))
    ]
    np.testing.assert_allclose(np.array(columns).T, exact, rtol=1e-14, atol=1e-15)
