"""The fixed basis functions φ(x) of the config's ``model.features``.

The lecture's generalized linear model y = w·φ(x) + b fits a hyperplane in
the space of features φ(x) instead of the inputs x. Here φ is applied
before the first layer (after standardization: see ``inputs.py``); its
parameters are chosen once, from the training inputs and the config's seed,
are never trained, and are saved with the model (``features.*`` tensors).

Each basis maps (N, D) -> (N, D') and keeps its parameters as a dict of
arrays (:meth:`state`) from which :meth:`from_state` rebuilds it exactly.
The constructors' keyword parameters are the config's fields (the schema is
generated from them).
"""

from __future__ import annotations

import math
from itertools import combinations_with_replacement
from typing import Any, ClassVar

import numpy as np


class BasisFunctions:
    """Base class of the fixed basis functions φ: (N, D) -> (N, D')."""

    name: ClassVar[str]

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> None:
        """Choose parameters from the training inputs (no-op for most)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def n_features(self, n_inputs: int) -> int:
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], **params: Any) -> BasisFunctions:
        raise NotImplementedError


class Polynomial(BasisFunctions):
    """All monomials x₁^{p₁}···x_D^{p_D} of total degree 1..d (the constant is the bias).

    With ``interactions=False`` only the pure powers x_i^k are kept:
    D·d features instead of C(D+d, d) − 1. For XOR, degree 2 adds x₁x₂,
    the hand-designed feature that makes the classes linearly separable.
    The saved parameter is the exponent matrix ``powers`` (D', D).
    """

    name = "polynomial"

    def __init__(self, degree: int = 2, interactions: bool = True) -> None:
        self.degree, self.interactions = degree, interactions
        self.powers: np.ndarray | None = None

    def _terms(self, n_inputs: int) -> list[tuple[int, ...]]:
        # Each term is the sorted tuple of the variables it multiplies: (0, 0, 1) = x₀²x₁.
        if self.interactions:
            return [
                t
                for k in range(1, self.degree + 1)
                for t in combinations_with_replacement(range(n_inputs), k)
            ]
        return [(i,) * k for i in range(n_inputs) for k in range(1, self.degree + 1)]

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> None:
        terms = self._terms(x.shape[1])
        powers = np.zeros((len(terms), x.shape[1]), dtype=np.int64)
        for j, term in enumerate(terms):
            for i in term:
                powers[j, i] += 1
        self._set_powers(powers)

    def _set_powers(self, powers: np.ndarray) -> None:
        # Plan each column as (earlier column, variable): a monomial of degree
        # k is one of degree k − 1 times one variable, so each output column
        # costs a single multiplication.
        self.powers = powers
        self._plan: list[tuple[int, int]] = []
        column: dict[tuple[int, ...], int] = {}
        for j, p in enumerate(powers):
            term = tuple(int(i) for i in np.repeat(np.arange(len(p)), p))
            column[term] = j
            self._plan.append((column[term[:-1]] if len(term) > 1 else -1, term[-1]))

    def n_features(self, n_inputs: int) -> int:
        if self.interactions:  # monomials of degree 1..d in D variables
            return math.comb(n_inputs + self.degree, self.degree) - 1
        return n_inputs * self.degree

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.empty((len(x), len(self._plan)), dtype=x.dtype)
        for j, (prefix, var) in enumerate(self._plan):
            if prefix < 0:
                out[:, j] = x[:, var]
            else:
                np.multiply(out[:, prefix], x[:, var], out=out[:, j])
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"powers": self.powers}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], **params: Any) -> Polynomial:
        basis = cls(**params)
        basis._set_powers(np.asarray(state["powers"], dtype=np.int64))
        return basis


class RBF(BasisFunctions):
    """Gaussian bumps φ_j(x) = exp(−‖x − μ_j‖² / (2σ²)) around ``n_centers`` centers μ_j.

    The centers are distinct training inputs drawn with the config's seed.
    Saved parameters: ``centers`` (M, D) and ``sigma`` (1,).
    """

    name = "rbf"

    def __init__(self, n_centers: int = 10, sigma: float = 1.0) -> None:
        if not (sigma > 0 and math.isfinite(0.5 / sigma / sigma)):
            raise ValueError(f"sigma {sigma} is too small: 1/(2σ²) is not a finite number")
        self.n_centers, self.sigma = n_centers, sigma
        self.centers: np.ndarray | None = None

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> None:
        if self.n_centers > len(x):
            raise ValueError(
                f"rbf needs {self.n_centers} centers but the training set has {len(x)} rows"
            )
        self.centers = x[rng.choice(len(x), size=self.n_centers, replace=False)].copy()

    def n_features(self, n_inputs: int) -> int:
        return self.n_centers

    def __call__(self, x: np.ndarray) -> np.ndarray:
        c = self.centers.astype(x.dtype, copy=False)
        # ‖x − μ‖² = ‖x‖² − 2 x·μ + ‖μ‖²: one matrix product instead of an (N, M, D) array.
        sq = (x * x).sum(axis=1)[:, None] - 2 * (x @ c.T) + (c * c).sum(axis=1)[None, :]
        np.maximum(sq, 0, out=sq)  # rounding can leave −1e-16 where x = μ
        with np.errstate(under="ignore"):
            return np.exp(sq * (-0.5 / self.sigma / self.sigma)).astype(x.dtype, copy=False)

    def state(self) -> dict[str, np.ndarray]:
        return {"centers": self.centers, "sigma": np.array([self.sigma])}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], **params: Any) -> RBF:
        basis = cls(n_centers=len(state["centers"]), sigma=float(state["sigma"][0]))
        basis.centers = np.asarray(state["centers"])
        return basis


class Fourier(BasisFunctions):
    """φ(x) = [sin(x Ωᵀ), cos(x Ωᵀ)] for frequency vectors Ω (M, D): 2M features.

    Ω is given in the config (``frequencies``, one row per frequency vector)
    or drawn as N(0, scale²) with the config's seed (random Fourier
    features). Saved parameter: ``frequencies`` (M, D).
    """

    name = "fourier"

    def __init__(
        self,
        n_frequencies: int = 10,
        scale: float = 1.0,
        frequencies: list[list[float]] | None = None,
    ) -> None:
        self.n_frequencies, self.scale = n_frequencies, scale
        self.frequencies = None
        if frequencies is not None:
            try:
                self.frequencies = np.asarray(frequencies, dtype=np.float64)
            except ValueError:  # ragged rows
                self.frequencies = None
            if self.frequencies is None or self.frequencies.ndim != 2 or not self.frequencies.size:
                raise ValueError("frequencies must be a non-empty list of equal-length rows")
            self.n_frequencies = len(self.frequencies)

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> None:
        if self.frequencies is None:
            self.frequencies = rng.normal(0.0, self.scale, size=(self.n_frequencies, x.shape[1]))
        elif self.frequencies.shape[1] != x.shape[1]:
            raise ValueError(
                f"fourier frequencies have {self.frequencies.shape[1]} columns "
                f"but the inputs have {x.shape[1]}"
            )

    def n_features(self, n_inputs: int) -> int:
        return 2 * self.n_frequencies

    def __call__(self, x: np.ndarray) -> np.ndarray:
        phase = x @ self.frequencies.T.astype(x.dtype, copy=False)
        return np.concatenate([np.sin(phase), np.cos(phase)], axis=1)

    def state(self) -> dict[str, np.ndarray]:
        return {"frequencies": self.frequencies}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], **params: Any) -> Fourier:
        return cls(frequencies=np.asarray(state["frequencies"]))


#: The config's ``model.features.type`` values.
FEATURES: dict[str, type[BasisFunctions]] = {cls.name: cls for cls in (Polynomial, RBF, Fourier)}
