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


#: The config's ``regularizer.type`` values, each with the λ keys it takes (as the
#: config spells them) and the :class:`Regularizer` field each one sets.
REGULARIZERS: dict[str, dict[str, str]] = {
    "none": {},
    "l1": {"lambda": "l1"},
    "l2": {"lambda": "l2"},
    "elastic": {"lambda_l1": "l1", "lambda_l2": "l2"},
}


def regularizer(kind: str, **lambdas: float) -> Regularizer:
    """``regularizer("elastic", lambda_l1=1e-4, lambda_l2=1e-3)``: the λ keys of ``kind``."""
    return Regularizer(**{REGULARIZERS[kind][key]: lam for key, lam in lambdas.items()})
