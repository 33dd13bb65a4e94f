"""The lecture's claims, trained through the library with plain gradient descent.

Each holds on every seed in SEEDS (float64, full batch), with a margin: see test_examples.py.
"""

import numpy as np
import pytest

from mlpcli.nn import HEADS, MLP, InputTransform, error
from mlpcli.nn.features import Polynomial
from mlpcli.optim import SGD

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_CLASSES = np.array([0, 1, 1, 0])
SEEDS = range(5)


def train_full_batch(model, x, targets, loss, *, lr, epochs, momentum=0.0):
    optimizer = SGD(model.parameters(), lr, momentum=momentum)
    prepared = model.inputs(x)
    for _ in range(epochs):
        optimizer.zero_grad()
        error(model, prepared, targets, loss).backward()
        optimizer.step()
    return model


def xor_accuracy(model):
    loss = HEADS["binary_cross_entropy"]()
    train_full_batch(
        model, XOR_X, loss.encode(XOR_CLASSES, 2, np.float64), loss, lr=0.5, epochs=3000
    )
    return (loss.predict(model.outputs(XOR_X, raw=True)) == XOR_CLASSES).mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_perceptron_cannot_solve_xor(seed):
    model = MLP(2, [], 1, dtype=np.float64)
    model.reset_parameters(np.random.default_rng(seed))
    assert xor_accuracy(model) <= 0.75


@pytest.mark.parametrize("seed", SEEDS)
def test_perceptron_with_polynomial_features_solves_xor(seed):
    basis = Polynomial(degree=2)
    basis.fit(XOR_X, None)
    model = MLP(2, [], 1, dtype=np.float64, inputs=InputTransform(2, basis=basis))
    model.reset_parameters(np.random.default_rng(seed))
    assert xor_accuracy(model) == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_one_hidden_layer_learns_xor_features_itself(seed):
    model = MLP(2, [4], 1, activation="tanh", init="xavier", dtype=np.float64)
    model.reset_parameters(np.random.default_rng(seed))
    assert xor_accuracy(model) == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_one_hidden_layer_approximates_sine(seed):
    # Measured over seeds 0–7: test MSE 1.6e-4 to 3.2e-4 with 32 units (16 units reached
    # 7.2e-4 on one seed: too close to the bound; faster rates turn chaotic, and then the
    # BLAS kernel decides the result).
    x = np.linspace(-np.pi, np.pi, 200)[:, None]
    model = MLP(1, [32], 1, activation="tanh", init="xavier", dtype=np.float64)
    model.reset_parameters(np.random.default_rng(seed))
    loss = HEADS["squared_error"]()
    train_full_batch(model, x, np.sin(x), loss, lr=0.1, momentum=0.9, epochs=4000)
    x_test = np.random.default_rng(seed + 100).uniform(-np.pi, np.pi, (500, 1))
    mse = ((model.outputs(x_test, raw=True) - np.sin(x_test)) ** 2).mean()
    assert mse < 1e-3
