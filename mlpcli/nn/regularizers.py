"""Weight penalties Ω(w) and their place in the normalized error.

E(w) = (1/|B|) Σ_{n∈B} L(t_n, y(x_n; w)) + (λ/N) Ω(w), N the size of the
training set: the same λ gives the same model whatever the batch size.

* ``l2``: Ω = ½ Σ w² (weight decay: each step shrinks w by η·λ/N·w);
* ``l1``: Ω = Σ |w| (drives small weights to exactly zero);
* ``elastic``: λ₁ Σ |w| + λ₂ ½ Σ w², each with its own λ.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlpcli.engine import L1Penalty, L2Penalty, Node


@dataclass(frozen=True)
class Regularizer:
    """λ₁ Σ|w| + λ₂ ½ Σw², divided by the training-set size N when built into E."""

    l1: float = 0.0
    l2: float = 0.0

    def penalty(self, weights: list[Node], n_train: int) -> Node | None:
        """The graph node (λ₁/N) Σ|w| + (λ₂/N) ½ Σ w², or None when both λ are 0."""
        terms = []
        if self.l1:
            terms.append(L1Penalty(self.l1 / n_train)(*weights))
        if self.l2:
            terms.append(L2Penalty(self.l2 / n_train)(*weights))
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def none(lam: float = 0.0) -> Regularizer:
    return Regularizer()


def l2(lam: float) -> Regularizer:
    return Regularizer(l2=lam)


def l1(lam: float) -> Regularizer:
    return Regularizer(l1=lam)


def elastic(lam_l1: float, lam_l2: float) -> Regularizer:
    return Regularizer(l1=lam_l1, l2=lam_l2)


#: The config's ``regularizer.type`` values.
REGULARIZERS = {"none": none, "l2": l2, "l1": l1, "elastic": elastic}
