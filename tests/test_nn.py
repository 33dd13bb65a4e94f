"""Layers, initializers, basis functions, losses and whole models, gradient-checked end to end."""

import numpy as np
import pytest

from mlpcli.engine import Node
from mlpcli.gradcheck import check_gradients
from mlpcli.nn import (
    ACTIVATIONS,
    FEATURES,
    HEADS,
    INITIALIZERS,
    MLP,
    REGULARIZERS,
    InputTransform,
    Linear,
    Standardizer,
    error,
    regularizer,
)
from mlpcli.nn.features import RBF, Fourier, Polynomial


def test_initializer_statistics():
    rng = np.random.default_rng(0)
    big = (400, 600)  # fan_out, fan_in
    w = INITIALIZERS["he"](rng, big)
    assert w.std() == pytest.approx(np.sqrt(2 / 600), rel=0.02) and abs(w.mean()) < 1e-3
    w = INITIALIZERS["xavier"](rng, big)
    limit = np.sqrt(6 / 1000)
    assert (
        w.max() <= limit
        and w.min() >= -limit
        and w.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    )
    assert INITIALIZERS["normal"](rng, big, std=0.5).std() == pytest.approx(0.5, rel=0.02)
    assert not INITIALIZERS["zeros"](rng, big).any()


def test_linear_layer_shapes_dtype_and_reset():
    layer = Linear(3, 5, init="xavier", dtype=np.float32)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    layer.reset_parameters(np.random.default_rng(1))
    first = layer.weight.value.copy()
    layer.reset_parameters(np.random.default_rng(1))
    np.testing.assert_array_equal(first, layer.weight.value)  # same seed, same weights
    assert layer.weight.value.dtype == np.float32 and not layer.bias.value.any()
    out = layer(Node(np.ones((4, 3), np.float32)))
    assert out.shape == (4, 5) and out.dtype == np.float32


def test_perceptron_is_a_single_layer():
    model = MLP(2, [], 1)
    assert len(model.layers) == 1 and model.layers[0].weight.shape == (1, 2)
    assert model.activations == ["identity"]


def test_mlp_per_layer_activations_and_sizes():
    model = MLP(4, [8, 6], 3, activation=["tanh", "relu"], output_activation="sigmoid")
    assert [layer.weight.shape for layer in model.layers] == [(8, 4), (6, 8), (3, 6)]
    assert model.activations == ["tanh", "relu", "sigmoid"]
    assert [p.name for p in model.parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
        "layers.2.weight",
        "layers.2.bias",
    ]
    with pytest.raises(ValueError, match="2 hidden layers"):
        MLP(4, [8, 6], 3, activation=["tanh"])


def test_polynomial_features_all_monomials():
    x = np.array([[2.0, 3.0], [1.0, -1.0]])
    poly = Polynomial(degree=2)
    poly.fit(x, np.random.default_rng(0))
    # x1, x2, x1², x1x2, x2²
    np.testing.assert_array_equal(poly(x), [[2, 3, 4, 6, 9], [1, -1, 1, -1, 1]])
    assert poly.n_features(2) == 5
    assert Polynomial(degree=3).n_features(4) == 34  # C(4+3, 3) − 1
    pure = Polynomial(degree=3, interactions=False)
    pure.fit(x, None)
    np.testing.assert_array_equal(pure(x)[0], [2, 4, 8, 3, 9, 27])
    restored = Polynomial.from_state(poly.state(), degree=2)
    np.testing.assert_array_equal(restored(x), poly(x))


def test_rbf_centers_come_from_training_inputs_and_seed():
    x = np.random.default_rng(0).standard_normal((50, 3))
    a, b = RBF(n_centers=5, sigma=0.7), RBF(n_centers=5, sigma=0.7)
    a.fit(x, np.random.default_rng(42))
    b.fit(x, np.random.default_rng(42))
    np.testing.assert_array_equal(a.centers, b.centers)
    assert all(any(np.array_equal(c, row) for row in x) for c in a.centers)
    phi = a(x)
    expected = np.exp(-((x[:, None, :] - a.centers[None]) ** 2).sum(-1) / (2 * 0.7**2))
    np.testing.assert_allclose(phi, expected, rtol=1e-12)
    np.testing.assert_allclose(RBF.from_state(a.state())(x), phi, rtol=0)
    with pytest.raises(ValueError, match="50 rows"):
        RBF(n_centers=51).fit(x, np.random.default_rng(0))


def test_fourier_features_given_and_random():
    x = np.array([[0.5, 1.0]])
    f = Fourier(frequencies=[[1.0, 0.0], [0.0, 2.0]])
    f.fit(x, np.random.default_rng(0))
    np.testing.assert_allclose(f(x), [[np.sin(0.5), np.sin(2.0), np.cos(0.5), np.cos(2.0)]])
    r = Fourier(n_frequencies=7, scale=3.0)
    r.fit(x, np.random.default_rng(0))
    assert r(x).shape == (1, 14) and r.frequencies.shape == (7, 2)
    np.testing.assert_array_equal(Fourier.from_state(r.state())(x), r(x))


def test_standardizer_fits_mean_and_std_and_survives_constant_columns():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]], dtype=np.float32)
    s = Standardizer.fit(x)
    z = s(x)
    np.testing.assert_allclose(z[:, 0], [-1.2247449, 0, 1.2247449], rtol=1e-6)
    np.testing.assert_array_equal(z[:, 1], 0)
    assert z.dtype == np.float32


def test_model_prepares_inputs_standardize_then_phi():
    x = np.random.default_rng(3).standard_normal((20, 2)) * 5 + 2
    poly = Polynomial(degree=2)
    std = Standardizer.fit(x)
    poly.fit(std(x), None)
    model = MLP(2, [4], 1, inputs=InputTransform(2, std, poly), dtype=np.float64)
    assert model.layers[0].in_features == 5
    np.testing.assert_allclose(model.inputs(x), poly(std(x)))


def test_loss_encodings_and_decisions():
    classes = np.array([0, 1, 1, 0])
    bce, hinge, ce, se = (
        HEADS[n]() for n in ("binary_cross_entropy", "hinge", "cross_entropy", "squared_error")
    )
    assert bce.n_outputs(2) == hinge.n_outputs(2) == se.n_outputs(2) == 1 and ce.n_outputs(2) == 2
    assert bce.n_outputs(5) == hinge.n_outputs(5) == ce.n_outputs(5) == 5
    np.testing.assert_array_equal(bce.encode(classes, 2, float)[:, 0], [0, 1, 1, 0])
    np.testing.assert_array_equal(hinge.encode(classes, 2, float)[:, 0], [-1, 1, 1, -1])
    np.testing.assert_array_equal(ce.encode(classes, 2, float), classes)
    np.testing.assert_array_equal(se.encode(np.array([2, 0]), 3, float), [[0, 0, 1], [1, 0, 0]])
    logits = np.array([[-0.1], [0.2]])
    np.testing.assert_array_equal(bce.predict(logits), [0, 1])
    np.testing.assert_array_equal(se.predict(np.array([[0.4], [0.6]])), [0, 1])
    np.testing.assert_allclose(bce.probabilities(np.array([[0.0]])), [[0.5, 0.5]])
    np.testing.assert_allclose(ce.probabilities(np.array([[1.0, 1.0, 1.0]])), [[1 / 3] * 3])
    assert hinge.probabilities(logits) is None


def test_error_normalization_l2_over_training_set_size():
    rng = np.random.default_rng(0)
    model = MLP(3, [], 1, dtype=np.float64)
    model.reset_parameters(rng)
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
    loss, lam, n_train = HEADS["squared_error"](), 0.5, 40
    e = error(model, x, t, loss, regularizer("l2", **{"lambda": lam}), n_train)
    w = model.layers[0].weight.value
    y = x @ w.T + model.layers[0].bias.value
    expected = 0.5 * ((y - t) ** 2).sum() / 4 + lam / n_train * 0.5 * (w**2).sum()
    assert e.item() == pytest.approx(expected, rel=1e-14)


LOSS_SETUPS = {  # loss -> (n_classes or None for regression, output activations to try)
    "squared_error": [(None, "identity"), (None, "tanh"), (2, "sigmoid"), (3, "identity")],
    "binary_cross_entropy": [(2, "identity"), (3, "identity")],
    "hinge": [(2, "identity"), (4, "identity")],
    "cross_entropy": [(2, "identity"), (3, "identity")],
}
REGULARIZER_SETUPS = [
    ("none", {}),
    ("l2", {"lambda": 0.3}),
    ("l1", {"lambda": 0.2}),
    ("elastic", {"lambda_l1": 0.1, "lambda_l2": 0.4}),
]


def _model_case(loss_name, n_classes, out_act, hidden_act, basis, reg, seed=0):
    rng = np.random.default_rng(seed)
    n, d = 7, 3
    x = rng.standard_normal((n, d))
    loss = HEADS[loss_name]()
    if n_classes is None:
        targets, n_out = rng.standard_normal((n, 2)), 2
    else:
        targets = loss.encode(np.arange(n) % n_classes, n_classes, np.float64)
        n_out = loss.n_outputs(n_classes)
    if basis is not None:
        basis.fit(x, rng)
    model = MLP(
        d,
        [5, 4],
        n_out,
        activation=hidden_act,
        output_activation=out_act,
        init="xavier",
        dtype=np.float64,
        inputs=InputTransform(d, basis=basis),
    )
    model.reset_parameters(rng)
    for p in model.parameters():  # non-zero biases, so their gradients are exercised
        p.value += rng.normal(0, 0.1, p.shape)
    prepared = model.inputs(x)
    penalty = regularizer(reg[0], **reg[1])
    return model, lambda: error(
        model, prepared, targets, loss, penalty, n_train=20, include_bias=True
    )


@pytest.mark.parametrize(
    "loss_name,n_classes,out_act",
    [(loss, k, act) for loss, setups in LOSS_SETUPS.items() for k, act in setups],
)
@pytest.mark.parametrize("reg", REGULARIZER_SETUPS, ids=[r[0] for r in REGULARIZER_SETUPS])
def test_whole_model_gradients_every_loss_and_regularizer(loss_name, n_classes, out_act, reg):
    model, compute = _model_case(loss_name, n_classes, out_act, "tanh", None, reg)
    results = check_gradients(compute, model.parameters())
    assert len(results) == 6
    assert all(r.passed for r in results), [r for r in results if not r.passed]


@pytest.mark.parametrize("activation", sorted(set(ACTIVATIONS) - {"relu", "leaky_relu"}))
@pytest.mark.parametrize("basis", [None, *sorted(FEATURES)])
def test_whole_model_gradients_every_activation_and_basis(activation, basis):
    params = {
        "polynomial": {"degree": 2},
        "rbf": {"n_centers": 4, "sigma": 1.5},
        "fourier": {"n_frequencies": 3},
    }
    b = FEATURES[basis](**params[basis]) if basis else None
    model, compute = _model_case(
        "cross_entropy", 3, "identity", activation, b, ("l2", {"lambda": 0.1})
    )
    assert all(r.passed for r in check_gradients(compute, model.parameters()))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_whole_model_gradients_piecewise_linear_activations(activation):
    # Random pre-activations are almost surely not exactly 0, and ε = 1e-6 rarely crosses a kink;
    # a fixed seed keeps that true here.
    model, compute = _model_case(
        "binary_cross_entropy", 2, "identity", activation, None, ("l2", {"lambda": 0.1})
    )
    assert all(r.passed for r in check_gradients(compute, model.parameters()))


def test_check_gradients_subsamples_large_tensors_and_reports_count():
    model, compute = _model_case("cross_entropy", 3, "identity", "tanh", None, ("none", {}))
    results = check_gradients(
        compute, model.parameters(), max_entries=6, rng=np.random.default_rng(0)
    )
    assert [r.checked for r in results] == [6, 5, 6, 4, 6, 3]
    assert [r.size for r in results] == [15, 5, 20, 4, 12, 3]


def test_check_gradients_refuses_float32():
    model = MLP(2, [], 1)
    with pytest.raises(TypeError, match="float64"):
        check_gradients(lambda: None, model.parameters())


def test_every_registry_key_is_tested():
    tried = {k for setups in LOSS_SETUPS.values() for _, k in setups}
    assert set(LOSS_SETUPS) == set(HEADS)
    assert {r[0] for r in REGULARIZER_SETUPS} == set(REGULARIZERS)
    assert tried <= set(ACTIVATIONS)
    assert list(INITIALIZERS) == ["he", "xavier", "normal", "zeros"]
