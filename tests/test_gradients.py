"""Every op, activation, loss and penalty against central differences in float64.

Random points are kept at least 0.1 away from kinks (ReLU at 0, |w| at 0,
hinge margins); the kinks have exact tests of their own below.
"""

import numpy as np
import pytest

from mlpcli import engine as E
from mlpcli.gradcheck import check_op

rng = np.random.default_rng(12345)


def away_from_zero(shape, margin=0.1):
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + margin, x - margin)


def positive(shape):
    return rng.uniform(0.5, 2.0, shape)


CLASSES = np.array([0, 2, 1, 2, 0])
BINARY = rng.integers(0, 2, (5, 1)).astype(float)
SIGNS = 2 * BINARY - 1

# name -> (function of nodes, input arrays)
CASES = {
    "add": (lambda a, b: a + b, [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]),
    "add_broadcast": (lambda a, b: a + b, [rng.standard_normal((4, 3)), rng.standard_normal(3)]),
    "sub_broadcast": (
        lambda a, b: a - b,
        [rng.standard_normal((4, 1)), rng.standard_normal((1, 3))],
    ),
    "mul_broadcast": (
        lambda a, b: a * b,
        [rng.standard_normal((4, 3)), rng.standard_normal((4, 1))],
    ),
    "div": (lambda a, b: a / b, [rng.standard_normal((4, 3)), positive((4, 3))]),
    "div_broadcast": (lambda a, b: a / b, [rng.standard_normal((2, 4, 3)), positive(3)]),
    "neg": (lambda a: -a, [rng.standard_normal((3, 2))]),
    "pow_square": (lambda a: a**2, [rng.standard_normal((3, 2))]),
    "pow_cube": (lambda a: a**3, [rng.standard_normal((3, 2))]),
    "pow_fractional": (lambda a: a**0.5, [positive((3, 2))]),
    "pow_negative": (lambda a: a**-1.5, [positive((3, 2))]),
    "matmul": (lambda a, b: a @ b, [rng.standard_normal((4, 3)), rng.standard_normal((3, 5))]),
    "matmul_vector_right": (
        lambda a, b: a @ b,
        [rng.standard_normal((4, 3)), rng.standard_normal(3)],
    ),
    "matmul_vector_left": (
        lambda a, b: a @ b,
        [rng.standard_normal(4), rng.standard_normal((4, 3))],
    ),
    "matmul_inner": (lambda a, b: a @ b, [rng.standard_normal(4), rng.standard_normal(4)]),
    "matmul_batched": (
        lambda a, b: a @ b,
        [rng.standard_normal((2, 4, 3)), rng.standard_normal((3, 5))],
    ),
    "linear": (
        lambda x, w, b: E.Linear()(x, w, b),
        [rng.standard_normal((6, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)],
    ),
    "sum_all": (lambda a: a.sum(), [rng.standard_normal((3, 4))]),
    "sum_axis0": (lambda a: a.sum(axis=0), [rng.standard_normal((3, 4))]),
    "sum_axis1_keepdims": (lambda a: a.sum(axis=1, keepdims=True), [rng.standard_normal((3, 4))]),
    "sum_axes": (lambda a: a.sum(axis=(0, 2)), [rng.standard_normal((2, 3, 4))]),
    "mean_all": (lambda a: a.mean(), [rng.standard_normal((3, 4))]),
    "mean_axis1": (lambda a: a.mean(axis=1), [rng.standard_normal((3, 4))]),
    "mean_axis0_keepdims": (lambda a: a.mean(axis=0, keepdims=True), [rng.standard_normal((3, 4))]),
    "exp": (lambda a: a.exp(), [rng.standard_normal((3, 4))]),
    "log": (lambda a: a.log(), [positive((3, 4))]),
    "abs": (lambda a: a.abs(), [away_from_zero((3, 4))]),
    "relu": (lambda a: a.relu(), [away_from_zero((3, 4))]),
    # activations
    "identity": (lambda a: E.Identity()(a), [rng.standard_normal((3, 4))]),
    "leaky_relu": (lambda a: E.LeakyRelu(0.1)(a), [away_from_zero((3, 4))]),
    "sigmoid_scalar": (lambda a: E.Sigmoid()(a), [np.array(0.7)]),
    "softplus_scalar": (lambda a: E.Softplus()(a), [np.array(-0.3)]),
    "sigmoid": (lambda a: E.Sigmoid()(a), [3 * rng.standard_normal((3, 4))]),
    "tanh": (lambda a: E.Tanh()(a), [2 * rng.standard_normal((3, 4))]),
    "softplus": (lambda a: E.Softplus()(a), [3 * rng.standard_normal((3, 4))]),
    # losses
    "squared_error": (
        lambda y: E.SquaredError()(y, E.constant(np.ones((5, 2)))),
        [rng.standard_normal((5, 2))],
    ),
    "binary_cross_entropy": (
        lambda a: E.BinaryCrossEntropy()(a, E.constant(BINARY)),
        [3 * rng.standard_normal((5, 1))],
    ),
    "binary_cross_entropy_multi": (
        lambda a: E.BinaryCrossEntropy()(a, E.constant(np.eye(3)[CLASSES])),
        [rng.standard_normal((5, 3))],
    ),
    "softmax_cross_entropy": (
        lambda a: E.SoftmaxCrossEntropy()(a, E.constant(CLASSES)),
        [3 * rng.standard_normal((5, 3))],
    ),
    # hinge: 1 − t·y kept away from 0 by putting t·y at 0.5 ± 0.3 or 1.5 ± 0.3
    "hinge": (
        lambda y: E.Hinge()(y, E.constant(SIGNS)),
        [SIGNS * rng.choice([0.5, 1.5], (5, 1)) + rng.uniform(-0.3, 0.3, (5, 1))],
    ),
    "multiclass_hinge": (
        lambda y: E.MulticlassHinge()(y, E.constant(CLASSES)),
        [
            np.array(
                [
                    [2.0, 0.5, 1.7],
                    [0.3, 0.4, 1.0],
                    [3.0, 1.2, 0.0],
                    [0.1, -0.5, 0.3],
                    [1.0, 1.3, 2.0],
                ]
            )
        ],
    ),
    # penalties
    "l2_penalty": (
        lambda w1, w2: E.L2Penalty(0.3)(w1, w2),
        [rng.standard_normal((3, 4)), rng.standard_normal((2, 3))],
    ),
    "l1_penalty": (
        lambda w1, w2: E.L1Penalty(0.3)(w1, w2),
        [away_from_zero((3, 4)), away_from_zero((2, 3))],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_central_differences(name):
    fn, arrays = CASES[name]
    results = check_op(fn, *arrays)
    for r in results:
        assert r.checked == r.size > 0
        assert r.passed, (
            f"{name}/{r.name}: max abs err {r.max_abs_error:.3g}, rel {r.max_rel_error:.3g}"
        )


def test_multiclass_hinge_case_has_active_and_inactive_margins():
    # Guards the fixed point above: both kinds of margins must be exercised, none at the kink.
    y = CASES["multiclass_hinge"][1][0]
    margins = 1 + y - y[np.arange(5), CLASSES][:, None]
    margins[np.arange(5), CLASSES] = -1
    others = margins[margins != -1]
    assert (others > 0.1).any() and (others < -0.1).any() and not (np.abs(others) < 0.1).any()


def test_a_wrong_backward_is_caught():
    class BrokenTanh(E.Tanh):
        def backward(self, grad):
            return (grad * (1 - self.out),)  # forgot the square

    results = check_op(lambda a: BrokenTanh()(a), rng.standard_normal((3, 3)))
    assert not results[0].passed


# -- the kinks, exactly -----------------------------------------------------------


def grad_of(op_fn, x):
    node = E.parameter(np.array(x, dtype=float))
    op_fn(node).sum().backward()
    return node.grad


def test_relu_at_zero_has_zero_gradient():
    np.testing.assert_array_equal(grad_of(lambda a: a.relu(), [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])


def test_leaky_relu_at_zero_takes_the_slope():
    np.testing.assert_array_equal(
        grad_of(lambda a: E.LeakyRelu(0.1)(a), [-1.0, 0.0, 2.0]), [0.1, 0.1, 1.0]
    )


def test_abs_at_zero_has_zero_subgradient():
    np.testing.assert_array_equal(grad_of(lambda a: a.abs(), [-3.0, 0.0, 3.0]), [-1.0, 0.0, 1.0])


def test_l1_penalty_at_zero_has_zero_subgradient():
    w = E.parameter(np.array([[-2.0, 0.0, 0.5]]))
    E.L1Penalty(2.0)(w).backward()
    np.testing.assert_array_equal(w.grad, [[-2.0, 0.0, 2.0]])


def test_binary_hinge_at_margin():
    # t·y = 1 exactly: loss 0 and gradient 0; just inside the margin the gradient is −t/N.
    y = E.parameter(np.array([[1.0], [-1.0], [0.5]]))
    t = np.array([[1.0], [-1.0], [1.0]])
    loss = E.Hinge()(y, E.constant(t))
    loss.backward()
    assert loss.item() == pytest.approx(0.5 / 3)
    np.testing.assert_array_equal(y.grad, [[0.0], [0.0], [-1.0 / 3]])


def test_multiclass_hinge_at_margin():
    # Target class 0; class 1 sits exactly on the margin (1 + y1 − y0 = 0), class 2 violates it.
    y = E.parameter(np.array([[2.0, 1.0, 1.5]]))
    loss = E.MulticlassHinge()(y, E.constant(np.array([0])))
    loss.backward()
    assert loss.item() == pytest.approx(0.5)
    np.testing.assert_array_equal(y.grad, [[-1.0, 0.0, 1.0]])


def test_squared_error_value_is_half_sum_over_outputs_mean_over_examples():
    y = E.parameter(np.array([[1.0, 2.0], [0.0, 0.0]]))
    loss = E.SquaredError()(y, E.constant(np.array([[0.0, 0.0], [1.0, 1.0]])))
    assert loss.item() == pytest.approx((0.5 * (1 + 4) + 0.5 * (1 + 1)) / 2)


def test_softmax_cross_entropy_value():
    a = np.array([[1.0, 2.0, 3.0]])
    loss = E.SoftmaxCrossEntropy()(E.constant(a), E.constant(np.array([2])))
    assert loss.item() == pytest.approx(-np.log(np.exp(3) / np.exp(a).sum()), rel=1e-14)


def test_penalty_values():
    w = E.constant(np.array([[1.0, -2.0], [0.0, 3.0]]))
    assert E.L2Penalty(0.1)(w).item() == pytest.approx(0.1 * 0.5 * 14)
    assert E.L1Penalty(0.1)(w).item() == pytest.approx(0.1 * 6)
