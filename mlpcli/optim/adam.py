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
Adam, without weight decay: use the regularizer), in the same order of
operations. Updates are in place into one scratch array per tensor allocated
at construction: a step allocates nothing the size of the parameters.
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
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]
        self.scratch = [np.empty_like(p.value) for p in self.params]
        self.t = np.zeros((), dtype=np.int64)  # steps taken (a 0-d array: saved with the state)

    def decay(self, p: Node, rate: float) -> None:
        """The decoupled weight decay before the step (none for Adam)."""

    def step(self, lr: float | None = None) -> None:
        """One update with the gradients the parameters hold."""
        lr = self.lr if lr is None else lr
        self.t += 1
        t, b1, b2 = int(self.t), self.beta1, self.beta2
        correction1 = 1.0 - b1**t
        root_correction2 = math.sqrt(1.0 - b2**t)
        for p, m, v, s, scale in zip(self.params, self.m, self.v, self.scratch, self.lr_scale):
            g = p.grad
            if g is None:
                continue
            rate = lr * scale
            self.decay(p, rate)
            np.subtract(g, m, out=s)  # m ← m + (1 − β₁)(g − m)
            s *= 1.0 - b1
            m += s
            np.multiply(g, g, out=s)  # v ← β₂ v + (1 − β₂) g²
            s *= 1.0 - b2
            v *= b2
            v += s
            np.sqrt(v, out=s)  # s = √v / √(1 − β₂ᵗ) + ε = √v̂ + ε
            s /= root_correction2
            s += self.eps
            np.divide(m, s, out=s)  # w ← w − (η / (1 − β₁ᵗ)) m / (√v̂ + ε)
            s *= rate / correction1
            p.value -= s

    def state(self) -> dict[str, np.ndarray]:
        """Buffers needed to resume exactly: both moments of every tensor and the step count."""
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
