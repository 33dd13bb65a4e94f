"""Reference implementations mlpcli is measured against.

* ``NumpyMLP*``: hand-written NumPy loops doing exactly the arithmetic the
  mlpcli engine does for the same network — the practical floor for a NumPy
  engine (float32, ``X Wᵀ + b`` with the bias added in place, activations in
  place, the fused softmax/sigmoid cross-entropy gradient p − t, plain SGD
  ``W -= lr * gW``), with no graph and no per-op objects.
* ``torch_*``: PyTorch CPU the way a PyTorch user writes it
  (``nn.Sequential`` + ``optim.SGD``), float32, default thread count.
* ``sklearn_*``: scikit-learn's ``MLPClassifier`` with plain SGD.

The NumPy and PyTorch loops start from mlpcli's initial weights and visit the
examples in mlpcli's order, so after one epoch all three hold (nearly) the
same weights: :func:`max_weight_diff` checks that the loops really do the
same work. scikit-learn draws its own initial weights and its own order.
torch and sklearn are imported lazily: both are optional.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

Params = list[tuple[np.ndarray, np.ndarray]]  # [(W (out, in), b (out,)), ...] per layer


def copy_params(params: Params) -> Params:
    return [(w.copy(), b.copy()) for w, b in params]


def max_weight_diff(a: Params, b: Params) -> float:
    """max |a − b| over every weight and bias (float64)."""
    return max(
        float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
        for pa, pb in zip(a, b)
        for x, y in zip(pa, pb)
    )


# -- NumPy floor ----------------------------------------------------------------------


def numpy_relu_softmax_epoch(
    x: np.ndarray, labels: np.ndarray, params: Params, order: np.ndarray, batch: int, lr: float
) -> dict:
    """One epoch of minibatch SGD on D-w1-w2-K ReLU with softmax cross-entropy, in place.

    Per step, the same work the mlpcli Trainer does: gather the batch rows
    (``np.take`` into a reused buffer), forward, loss value (read as a float,
    as the trainer does for its divergence check), logits kept for the epoch's
    training accuracy, backward, SGD. Returns the epoch's mean loss and accuracy.
    """
    (w1, b1), (w2, b2), (w3, b3) = params
    n = len(order)
    xbuf = np.empty((batch, x.shape[1]), dtype=x.dtype)
    logits_epoch = np.empty((n, w3.shape[0]), dtype=x.dtype)
    rows_all = np.arange(batch)
    loss_sum = 0.0
    for start in range(0, n, batch):
        idx = order[start : start + batch]
        k = len(idx)
        xb = xbuf[:k]
        np.take(x, idx, axis=0, out=xb)
        t = labels[idx]
        rows = rows_all[:k]
        # forward: a = X Wᵀ + b (bias in place), ReLU in place
        h1 = xb @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        logits_epoch[start : start + k] = z
        # fused softmax cross-entropy: loss = log Σ e^z − z_t, gradient (p − onehot)/k
        z -= z.max(axis=1, keepdims=True)
        picked = z[rows, t]
        np.exp(z, out=z)
        total = z.sum(axis=1, keepdims=True)
        loss = float((np.log(total[:, 0]) - picked).sum() / k)
        z /= total
        z[rows, t] -= 1
        z *= 1.0 / k
        g3 = z
        # backward
        gw3 = g3.T @ h2
        gb3 = g3.sum(axis=0)
        g2 = g3 @ w3
        np.multiply(g2, h2 > 0, out=g2)
        gw2 = g2.T @ h1
        gb2 = g2.sum(axis=0)
        g1 = g2 @ w2
        np.multiply(g1, h1 > 0, out=g1)
        gw1 = g1.T @ xb
        gb1 = g1.sum(axis=0)
        # plain SGD
        w1 -= lr * gw1
        b1 -= lr * gb1
        w2 -= lr * gw2
        b2 -= lr * gb2
        w3 -= lr * gw3
        b3 -= lr * gb3
        loss_sum += loss * k
    accuracy = float(np.mean(logits_epoch.argmax(axis=1) == labels[order]))
    return {"loss": loss_sum / n, "accuracy": accuracy}


def numpy_tanh_bce_epoch(
    x: np.ndarray, targets: np.ndarray, params: Params, order: np.ndarray, lr: float
) -> dict:
    """One epoch of stochastic (batch size 1) SGD on D-w1-w2-1 tanh with binary cross-entropy.

    The rows are permuted once per epoch (one gather of the whole small set),
    then each step slices row i: the cheapest way NumPy can feed one example.
    ``targets`` is (N, 1) in {0, 1}.
    """
    (w1, b1), (w2, b2), (w3, b3) = params
    n = len(order)
    xp, tp = x[order], targets[order]
    w1t, w2t, w3t = w1.T, w2.T, w3.T  # views, kept in step with the in-place updates
    loss_sum = 0.0
    for i in range(n):
        xb = xp[i : i + 1]
        t = tp[i : i + 1]
        h1 = xb @ w1t
        h1 += b1
        np.tanh(h1, out=h1)
        h2 = h1 @ w2t
        h2 += b2
        np.tanh(h2, out=h2)
        a = h2 @ w3t
        a += b3
        # BCE on the logit: max(a,0) − a t + log1p(e^{−|a|}); gradient σ(a) − t
        e = np.exp(-np.abs(a))
        loss = float((np.maximum(a, 0) - a * t + np.log1p(e)).sum())
        s = 1.0 / (1.0 + e)
        np.multiply(s, e, out=s, where=a < 0)
        g3 = s - t
        gw3 = g3.T @ h2
        gb3 = g3.sum(axis=0)
        g2 = g3 @ w3
        g2 *= 1 - h2 * h2
        gw2 = g2.T @ h1
        gb2 = g2.sum(axis=0)
        g1 = g2 @ w2
        g1 *= 1 - h1 * h1
        gw1 = g1.T @ xb
        gb1 = g1.sum(axis=0)
        w1 -= lr * gw1
        b1 -= lr * gb1
        w2 -= lr * gw2
        b2 -= lr * gb2
        w3 -= lr * gw3
        b3 -= lr * gb3
        loss_sum += loss
    return {"loss": loss_sum / n}


def numpy_relu_forward(x: np.ndarray, params: Params, chunk: int = 8192) -> np.ndarray:
    """Logits of a ReLU network on ``x``, in chunks (the evaluation floor)."""
    (w1, b1), (w2, b2), (w3, b3) = params
    out = np.empty((len(x), w3.shape[0]), dtype=x.dtype)
    for a in range(0, len(x), chunk):
        h = x[a : a + chunk] @ w1.T
        h += b1
        np.maximum(h, 0, out=h)
        h2 = h @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = np.matmul(h2, w3.T, out=out[a : a + chunk])
        z += b3
    return out


# -- PyTorch ----------------------------------------------------------------------------


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_model(params: Params, activation: str):
    """nn.Sequential of Linear/activation layers holding a copy of ``params``."""
    import torch
    from torch import nn

    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    layers: list = []
    for i, (w, b) in enumerate(params):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(params) - 1:
            layers.append(act())
    return nn.Sequential(*layers)


def torch_params(model) -> Params:
    lins = [m for m in model if hasattr(m, "weight")]
    return [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in lins]


def torch_minibatch_epoch(
    model, x, labels, order: np.ndarray, batch: int, lr: float, optimizer=None
) -> dict:
    """One epoch of nn.Sequential + an optimizer + CrossEntropyLoss on minibatches in ``order``.

    ``optimizer(params, lr)`` builds the optimizer; default ``torch.optim.SGD``.
    """
    import torch
    from torch import nn

    xt, yt = torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
    ot = torch.from_numpy(order.astype(np.int64))
    opt = (optimizer or torch.optim.SGD)(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    loss_sum = 0.0
    for start in range(0, len(ot), batch):
        idx = ot[start : start + batch]
        xb, yb = xt.index_select(0, idx), yt.index_select(0, idx)
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
    return {"loss": loss_sum / len(ot)}


def torch_stochastic_epoch(model, x, targets, order: np.ndarray, lr: float) -> dict:
    """One epoch of batch-size-1 SGD with BCEWithLogitsLoss (rows permuted once, then sliced)."""
    import torch
    from torch import nn

    ot = torch.from_numpy(order.astype(np.int64))
    xp = torch.from_numpy(x).index_select(0, ot)
    tp = torch.from_numpy(targets).index_select(0, ot)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    loss_sum = 0.0
    for i in range(len(ot)):
        opt.zero_grad()
        loss = loss_fn(model(xp[i : i + 1]), tp[i : i + 1])
        loss.backward()
        opt.step()
        loss_sum += loss.item()
    return {"loss": loss_sum / len(ot)}


def torch_forward(model, x: np.ndarray, chunk: int = 8192) -> np.ndarray:
    import torch

    out = []
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        for a in range(0, len(x), chunk):
            out.append(model(xt[a : a + chunk]))
    return torch.cat(out).numpy()


# -- scikit-learn -------------------------------------------------------------------------


def sklearn_available() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def sklearn_classifier(hidden: Sequence[int], activation: str, batch: int, lr: float, seed: int):
    """MLPClassifier doing one epoch of plain SGD (no momentum, no L2, no early stopping)."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        activation=activation,
        solver="sgd",
        alpha=0.0,
        batch_size=batch,
        learning_rate="constant",
        learning_rate_init=lr,
        momentum=0.0,
        nesterovs_momentum=False,
        max_iter=1,
        shuffle=True,
        early_stopping=False,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=10**9,
    )


def sklearn_fit(clf, x: np.ndarray, y: np.ndarray) -> dict:
    """``clf.fit(x, y)`` (one epoch: max_iter=1) with its ConvergenceWarning silenced."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    return {"loss": float(clf.loss_), "dtype": str(clf.coefs_[0].dtype)}
