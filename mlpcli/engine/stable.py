"""Numerically stable array functions shared by the activations and the fused losses.

Each is arranged so that no intermediate overflows: the exponentials only
ever see non-positive arguments, so inputs of ±1000 give exact 0s and 1s,
never a warning. Plain NumPy in, plain NumPy out; the ops that differentiate
them live in ``activations.py`` and ``losses.py``.
"""

from __future__ import annotations

import numpy as np


def exp_neg_abs(a: np.ndarray) -> np.ndarray:
    """e^{−|a|} ∈ (0, 1]; underflow to 0 for large |a| is the right answer."""
    with np.errstate(under="ignore"):
        return np.exp(-np.abs(a))


def sigmoid(a: np.ndarray, e: np.ndarray | None = None) -> np.ndarray:
    """σ(a) = 1 / (1 + e⁻ᵃ), evaluated without overflow for any a.

    With e = e^{−|a|} ∈ (0, 1]: σ(a) = 1/(1 + e) for a ≥ 0 and e/(1 + e) for
    a < 0. A caller that already holds ``e`` (binary cross-entropy) passes it.
    """
    if e is None:
        e = exp_neg_abs(a)
    out = np.asarray(1.0 / (1.0 + e))  # an array even for 0-d a, so out= works below
    np.multiply(out, e, out=out, where=a < 0)
    return out


def softplus(a: np.ndarray) -> np.ndarray:
    """ln(1 + eᵃ) = max(a, 0) + ln(1 + e^{−|a|}), finite for any a."""
    return np.maximum(a, 0) + np.log1p(exp_neg_abs(a))


def shifted_exp(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, e^z, Σ_j e^{z_j}) for z = a − max_j a_j, row by row of (N, K) logits.

    The shift makes every exponential ≤ 1 and leaves softmax unchanged:
    softmax(a) = e^z / Σ e^z and ln Σ_j e^{a_j} = max a + ln Σ_j e^{z_j}.
    """
    z = a - a.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        e = np.exp(z)
    return z, e, e.sum(axis=1, keepdims=True)


def softmax(a: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits."""
    _, e, total = shifted_exp(a)
    e /= total
    return e
