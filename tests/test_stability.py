"""Extreme logits must give finite, correct losses and gradients, with every FP warning an error."""

import numpy as np
import pytest

from mlpcli import engine as E

DTYPES = [np.float32, np.float64]


def run(op, logits, dtype):
    a = E.parameter(np.asarray(logits, dtype=dtype))
    with np.errstate(all="raise"):
        out = op(a)
        if out.value.ndim:
            out = out.sum()
        out.backward()
    assert np.all(np.isfinite(out.value)) and np.all(np.isfinite(a.grad))
    assert out.value.dtype == dtype and a.grad.dtype == dtype
    return out.item(), a.grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_at_plus_minus_1000(dtype):
    logits = [[1000.0], [-1000.0], [1000.0], [-1000.0]]
    targets = np.array([[1.0], [0.0], [0.0], [1.0]], dtype=dtype)
    loss, grad = run(lambda a: E.BinaryCrossEntropy()(a, E.constant(targets)), logits, dtype)
    # Two confident right answers cost 0, two confident wrong ones cost 1000 each.
    assert loss == pytest.approx(2000.0 / 4)
    np.testing.assert_allclose(grad, [[0.0], [0.0], [0.25], [-0.25]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_at_plus_minus_1000(dtype):
    logits = [[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]]
    loss, grad = run(
        lambda a: E.SoftmaxCrossEntropy()(a, E.constant(np.array([1, 2]))), logits, dtype
    )
    # Row 0: −ln softmax = 2000; row 1: two tied logits, −ln ½.
    assert loss == pytest.approx((2000.0 + np.log(2)) / 2, rel=1e-6)
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.25, -0.25]], atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_at_plus_minus_1000(dtype):
    _, grad = run(lambda a: E.Sigmoid()(a), [-1000.0, 0.0, 1000.0], dtype)
    with np.errstate(all="raise"):
        s = E.sigmoid(np.array([-1000.0, 0.0, 1000.0], dtype=dtype))
    np.testing.assert_array_equal(s, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.25, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_and_hinge_at_plus_minus_1000(dtype):
    value, _ = run(lambda a: E.Softplus()(a), [-1000.0, 1000.0], dtype)
    assert value == pytest.approx(1000.0)
    value, _ = run(
        lambda a: E.Hinge()(a, E.constant(np.array([[1.0], [-1.0]], dtype=dtype))),
        [[1000.0], [1000.0]],
        dtype,
    )
    assert value == pytest.approx(1001.0 / 2)


def test_sigmoid_is_accurate_in_both_tails():
    a = np.array([-30.0, -5.0, 5.0, 30.0])
    np.testing.assert_allclose(E.sigmoid(a), 1 / (1 + np.exp(-a)), rtol=1e-15)
