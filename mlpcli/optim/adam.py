"""Adam and AdamW: a step size per weight, from running moments of its gradient.

Adam (Kingma & Ba, 2015), with bias correction; t counts steps from 1:

    m ← β₁ m + (1 − β₁) g                  running mean of the gradient
    v ← β₂ v + (1 − β₂) g²                 running mean of its square
    m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)   (m and v start at 0: undo that bias)
    w ← w − η m̂ / (√v̂ + ε)

Each weight moves by about η per step whatever the scale of its gradient, so
one η suits layers and tasks whose gradients differ by orders of magnitude.

AdamW (Loshchilov & Hutter, 2019) first decays the weights, apart from the
gradient:  w ← (1 − η λ_wd) w,  then the Adam step. **How λ_wd relates to the
lecture's (λ/N) Ω**: with Ω = ½ Σ w² in E the gradient carries (λ/N) w, and a
plain SGD step shrinks every weight by η (λ/N) w — exactly AdamW's decay with
λ_wd = λ/N. Adam, given the same penalty through E (``regularizer``),
divides that term by √v̂ like the rest of g, so weights with large gradients
are hardly decayed at all; AdamW restores the uniform shrinkage of SGD. Only
weight matrices are decayed, not biases (as the regularizer's default).

Both are ``torch.optim.Adam`` / ``AdamW`` (without their ``amsgrad`` and, for
Adam, without weight decay: use the regularizer), to rounding. Updates are in
place, into one scratch array allocated at construction: a step allocates
nothing the size of the parameters (see :class:`Adam` for how the passes over
the weights are kept few).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mlpcli.engine import Node
from mlpcli.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam over a fixed list of parameter nodes.

    Parameters
    ----------
    params : sequence of Node
        Updated in place.
    lr : float
        η > 0 (Kingma & Ba suggest 1e-3); a schedule may change it per step.
    beta1, beta2 : float
        β₁, β₂ ∈ [0, 1): decay rates of the first and second moment averages.
    eps : float
        ε > 0 in the denominator: bounds the step of a weight whose gradient is ~0.

    Notes
    -----
    The moments are kept as unnormalized sums, M = Σ_s β₁^{t−s} g_s = m/(1 − β₁)
    and V = Σ_s β₂^{t−s} g_s² = v/(1 − β₂): each then costs two passes over
    the weights (M ← β₁M + g) instead of three, and the constants fold into
    one factor per step, w ← w − k M / (√V + ε/c), with c = √((1 − β₂)/(1 − β₂ᵗ))
    and k = η (1 − β₁)/((1 − β₁ᵗ) c): the same step, to rounding. M, V and the
    scratch array are each one flat array (per-tensor views), so the passes that
    need no gradient run once over all weights.
    """

    def __init__(
        self,
        params: Sequence[Node],
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {beta}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        dtype = np.result_type(*[p.value.dtype for p in self.params])
        size = sum(p.value.size for p in self.params)
        self.flat_m, self.flat_v = np.zeros(size, dtype), np.zeros(size, dtype)
        self.flat_scratch = np.empty(size, dtype)
        self.m = self._views(self.flat_m)
        self.v = self._views(self.flat_v)
        self.scratch = self._views(self.flat_scratch)
        self.t = np.zeros((), dtype=np.int64)  # steps taken (a 0-d array: saved with the state)

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        """One view of ``flat`` per parameter, in its shape."""
        out, start = [], 0
        for p in self.params:
            out.append(flat[start : start + p.value.size].reshape(p.value.shape))
            start += p.value.size
        return out

    def decay(self, p: Node, rate: float) -> None:
        """The decoupled weight decay before the step (none for Adam)."""

    def step(self, lr: float | None = None) -> None:
        """One update with the gradients the parameters hold (None counts as zero)."""
        lr = self.lr if lr is None else lr
        self.t += 1
        t, b1, b2 = int(self.t), self.beta1, self.beta2
        c = math.sqrt((1.0 - b2) / (1.0 - b2**t))
        k = lr * (1.0 - b1) / ((1.0 - b1**t) * c)
        m, v, s = self.flat_m, self.flat_v, self.flat_scratch
        m *= b1  # M ← β₁ M + g
        for m_i, s_i, p in zip(self.m, self.scratch, self.params):
            if p.grad is None:  # no gradient: a zero one (the moments decay)
                s_i[...] = 0
                continue
            m_i += p.grad
            np.square(p.grad, out=s_i)  # V ← β₂ V + g² (square: a third cheaper than g·g)
        v *= b2
        v += s
        np.sqrt(v, out=s)  # s = M / (√V + ε/c)
        s += self.eps / c
        np.divide(m, s, out=s)
        for p, s_i, scale in zip(self.params, self.scratch, self.lr_scale):
            self.decay(p, lr * scale)
            s_i *= k * scale  # w ← w − k M / (√V + ε/c)
            p.value -= s_i

    def state(self) -> dict[str, np.ndarray]:
        """Buffers needed to resume exactly: M and V of every tensor, and the step count."""
        out = {"t": self.t}
        out.update({f"m.{i}": m for i, m in enumerate(self.m)})
        out.update({f"v.{i}": v for i, v in enumerate(self.v)})
        return out


class AdamW(Adam):
    """Adam with decoupled weight decay: w ← (1 − η λ_wd) w before each Adam step.

    Parameters
    ----------
    weight_decay : float
        λ_wd ≥ 0, applied to weight matrices (not biases); λ_wd = λ/N is the
        lecture's L2 term under plain SGD (see the module docstring).
    """

    def __init__(
        self,
        params: Sequence[Node],
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, beta1, beta2, eps)
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be ≥ 0, got {weight_decay}")
        self.weight_decay = weight_decay

    def decay(self, p: Node, rate: float) -> None:
        if self.weight_decay and p.value.ndim >= 2:
            p.value *= 1.0 - rate * self.weight_decay
