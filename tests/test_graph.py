"""The graph itself: the lecture's hand-worked examples, fan-out, broadcasting, no_grad."""

import numpy as np
import pytest

from mlpcli.engine import (
    BinaryCrossEntropy,
    Linear,
    Node,
    Sigmoid,
    constant,
    is_grad_enabled,
    no_grad,
    parameter,
)


def test_lecture_example_b_equals_xy_plus_z():
    x, y, z = parameter(3.0), parameter(-5.0), parameter(2.0)
    b = x * y + z
    assert b.item() == -13.0
    b.backward()
    assert (x.grad, y.grad, z.grad) == (-5.0, 3.0, 1.0)


def test_fan_out_gradients_add():
    # a = 2x feeds two consumers: c = a·a + 3a. dc/dx = (2a + 3)·2 = (2·4 + 3)·2 = 22 at x = 2.
    x = parameter(2.0)
    a = x * 2.0
    c = a * a + a * 3.0
    c.backward()
    assert a.grad == pytest.approx(2 * 4.0 + 3.0)  # both paths summed at the shared node
    assert x.grad == pytest.approx(22.0)


def test_leaf_used_twice_in_one_op():
    x = parameter(np.array([1.0, -2.0, 3.0]))
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.value)


def test_sigmoid_derivative_is_s_times_one_minus_s():
    a = parameter(np.linspace(-4, 4, 9))
    s = Sigmoid()(a)
    s.sum().backward()
    np.testing.assert_allclose(a.grad, s.value * (1 - s.value), rtol=1e-15)


def test_logistic_regression_graph_gives_p_minus_t():
    # σ(wᵀx + w₀) with cross-entropy: ∂L/∂a = p − t, and so ∂L/∂w = (p − t) x.
    rng = np.random.default_rng(1)
    x = constant(rng.standard_normal((1, 3)))
    w = parameter(rng.standard_normal((1, 3)))
    w0 = parameter(np.array([0.3]))
    for t in (0.0, 1.0):
        w.grad = w0.grad = None
        a = Linear()(x, w, w0)
        loss = BinaryCrossEntropy()(a, Node(np.array([[t]])))
        loss.backward()
        p = 1 / (1 + np.exp(-a.value))
        np.testing.assert_allclose(a.grad, p - t, rtol=1e-12)
        np.testing.assert_allclose(w.grad, (p - t) * x.value, rtol=1e-12)
        np.testing.assert_allclose(w0.grad, (p - t)[0], rtol=1e-12)


def test_broadcast_gradient_is_summed_back_to_input_shape():
    x = parameter(np.ones((4, 3)))
    b = parameter(np.array([1.0, 2.0, 3.0]))
    c = parameter(np.ones((4, 1)))
    (x * b + c).sum().backward()
    assert b.grad.shape == (3,) and c.grad.shape == (4, 1) and x.grad.shape == (4, 3)
    np.testing.assert_array_equal(b.grad, [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(c.grad, np.full((4, 1), 3.0))


def test_every_gradient_has_its_nodes_shape():
    rng = np.random.default_rng(0)
    w = parameter(rng.standard_normal((5, 3)))
    b = parameter(rng.standard_normal(5))
    x = constant(rng.standard_normal((7, 3)))
    h = Linear()(x, w, b)
    y = (h * h).mean(axis=0) / 2.0 + 1.0
    y.sum().backward()
    for node in (w, b, h, y):
        assert node.grad.shape == node.value.shape


def test_constants_get_no_gradient_and_first_layer_skips_dx():
    w = parameter(np.ones((2, 3)))
    b = parameter(np.zeros(2))
    x = constant(np.ones((4, 3)))
    Linear()(x, w, b).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, np.full((2, 3), 4.0))


def test_backward_needs_scalar_without_seed():
    x = parameter(np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        (x * 2.0).backward()


def test_no_grad_records_nothing():
    w = parameter(np.ones((2, 2)))
    with no_grad():
        assert not is_grad_enabled()
        y = (w * 3.0).sum()
    assert is_grad_enabled()
    assert y.op is None and y.parents == () and not y.requires_grad
    assert y.item() == 12.0


def test_deep_graph_does_not_recurse():
    x = parameter(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_scalar_constants_keep_float32():
    x = parameter(np.ones(3, dtype=np.float32))
    y = ((x * 0.5 + 1.0) / 3.0 - 2.0) ** 2
    y.sum().backward()
    assert y.value.dtype == np.float32 and x.grad.dtype == np.float32


def test_node_repr_names_op_and_shape():
    x = Node(np.zeros((2, 3)), name="x")
    assert "x" in repr(x) and "(2, 3)" in repr(x)
    assert "Mul" in repr(parameter(1.0) * 2.0)


def test_backward_twice_accumulates_in_leaves_only():
    x, y, z = parameter(3.0), parameter(-5.0), parameter(2.0)
    b = x * y + z
    b.backward()
    b.backward()
    assert x.grad == -10.0  # leaves accumulate, as in PyTorch
    x.grad = y.grad = z.grad = None
    b.backward()
    assert (x.grad, y.grad, z.grad) == (-5.0, 3.0, 1.0)  # intermediates started afresh


def test_integer_values_are_differentiated_as_floats():
    x = parameter(3)
    y = x * 0.5
    y.backward()
    assert y.item() == 1.5 and x.grad == 0.5


def test_a_replayed_graph_gives_what_a_fresh_one_gives():
    from mlpcli.engine import Graph, SoftmaxCrossEntropy, Tanh

    rng = np.random.default_rng(0)
    w, b = parameter(rng.standard_normal((3, 4))), parameter(rng.standard_normal(3))
    x, targets = Node(rng.standard_normal((5, 4))), Node(np.zeros(5, dtype=int))
    loss = SoftmaxCrossEntropy()(Tanh()(Linear()(x, w, b)), targets)
    graph = Graph(loss)
    for n in (7, 1, 5):  # new inputs, targets and batch sizes
        xv, t = rng.standard_normal((n, 4)), rng.integers(0, 3, n)
        x.value, targets.value = xv, t
        w.grad = b.grad = None
        graph.forward()
        graph.backward()
        replayed = (loss.item(), w.grad.copy(), b.grad.copy())
        w.grad = b.grad = None
        fresh = SoftmaxCrossEntropy()(Tanh()(Linear()(Node(xv), w, b)), Node(t))
        fresh.backward()
        assert replayed[0] == fresh.item()
        np.testing.assert_array_equal(replayed[1], w.grad)
        np.testing.assert_array_equal(replayed[2], b.grad)
