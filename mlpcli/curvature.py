"""How curved the error is at the current weights: η_opt, λ_max and 2/λ_max, whole and per layer.

The lecture: for a quadratic error the optimal step is η_opt = (∂²E/∂w²)⁻¹;
a smaller step converges slowly, one above 2/(∂²E/∂w²) diverges. A network's
Hessian H is too large to form, but products H v are exact and cheap
(``engine/hessian.py``), and two figures follow from them:

* **along the gradient** g, the quadratic model
  E(w − η g) ≈ E − η gᵀg + ½ η² gᵀHg is lowest at **η_opt = gᵀg / gᵀHg**
  (the curvature along g is gᵀHg / gᵀg);
* **the largest eigenvalue λ_max** of H, by power iteration: gradient descent
  on the quadratic model is stable iff η < **2/λ_max**, and η = 1/λ_max is the
  lecture's η_opt for the most curved direction, which it reaches in one step.

A direction that is zero outside one layer's weights and bias gives the same
figures for that layer's diagonal block H_ii of the Hessian: the lecture's
"a different learning rate may be optimal for different parts of the
network", as numbers. Everything here runs in float64.

With per-layer multipliers (``train.lr_scale``, S = diag(s), s_i repeated over
the entries of tensor i) the SGD step is w ← w − η S g. In the coordinates
u = S^{-1/2} w it is plain gradient descent on a Hessian S^{1/2} H S^{1/2}, so
the whole-network figures are those of that operator: η_opt = gᵀSg / gᵀSHSg
along −S g, and stability iff η < 2/λ_max(S^{1/2} H S^{1/2}). The per-layer
figures stay those of the blocks H_ii: what a user chooses ``lr_scale`` from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from mlpcli import build
from mlpcli.engine import HessianVectorProduct
from mlpcli.experiment import Batch, Experiment, rng

#: Power iteration: stop when the Rayleigh quotient changes by less than this, relatively...
TOL = 1e-6
#: ...or after this many Hessian-vector products.
MAX_ITERATIONS = 200

Vector = list  # one array (or None: zero) per parameter tensor


def _dot(a: Vector, b: Vector) -> float:
    return float(sum(np.vdot(x, y) for x, y in zip(a, b) if x is not None and y is not None))


def _scaled(vector: Vector, factors: Sequence[float] | None) -> Vector:
    """Tensor i of ``vector`` times ``factors[i]`` (None, or a factor of 1: unchanged)."""
    if factors is None:
        return vector
    return [a if a is None or f == 1.0 else a * f for a, f in zip(vector, factors)]


def scaled_hessian(
    hvp: HessianVectorProduct, scales: Sequence[float] | None
) -> Callable[[Vector], Vector]:
    """v ↦ S^{1/2} H S^{1/2} v for per-tensor learning-rate multipliers ``scales`` (None: H v).

    Gradient descent with per-tensor rates η·scales[i] is plain gradient descent
    with rate η on this operator (module docstring).
    """
    root = _roots(scales)
    if root is None:
        return hvp
    return lambda v: _scaled(hvp(_scaled(v, root)), root)


def _roots(scales: Sequence[float] | None) -> list[float] | None:
    return None if scales is None else [math.sqrt(s) for s in scales]


@dataclass(frozen=True)
class PowerIteration:
    """The largest eigenvalue of a symmetric operator, and how the iteration got there."""

    eigenvalue: float
    iterations: int  # Hessian-vector products used
    relative_change: float  # of the eigenvalue estimate in the last iteration
    converged: bool  # settled within tol (quotient and direction) before the iteration limit
    shifted: bool = False  # found on H − σI: the dominant eigenvalue was negative, or ±λ
    norm: float = math.nan  # ‖A v‖ at the last iterate: close to the spectral radius


def power_iteration(
    matvec: Callable[[Vector], Vector],
    start: Vector,
    *,
    tol: float = TOL,
    max_iterations: int = MAX_ITERATIONS,
    shift: float = 0.0,
) -> PowerIteration:
    """Dominant eigenvalue of A − shift·I by v ← A v / ‖A v‖ and the Rayleigh quotient vᵀAv.

    The quotient's error shrinks as (λ₂/λ₁)^{2k}. The iteration has converged when
    the quotient changes by at most ``tol`` relative to its size *and* v is an
    eigenvector to that precision, 1 − |vᵀAv| / ‖Av‖ ≤ tol (‖Av‖² − (vᵀAv)² is
    the squared residual). The second test matters when eigenvalues +a and −a
    are both dominant: v then swings between their eigenvectors, and the quotient
    stands still at a value below a while ‖Av‖ stays at a.
    """
    norm = math.sqrt(_dot(start, start))
    v = [None if s is None else s / norm for s in start]
    value, change, size = math.nan, math.inf, math.nan
    for k in range(1, max_iterations + 1):
        w = matvec(v)
        if shift:
            w = [None if a is None else a - shift * b for a, b in zip(w, v)]
        estimate = _dot(v, w)
        change = abs(estimate - value) / max(abs(estimate), 1e-300) if k > 1 else math.inf
        value = estimate
        size = math.sqrt(_dot(w, w))
        if size == 0.0:  # A v = 0: v is an eigenvector of eigenvalue 0
            return PowerIteration(shift, k, 0.0, True, norm=0.0)
        v = [None if a is None else a / size for a in w]
        if change <= tol and 1.0 - abs(value) / size <= tol:
            return PowerIteration(value + shift, k, change, True, norm=size)
    return PowerIteration(value + shift, max_iterations, change, False, norm=size)


def largest_eigenvalue(
    matvec: Callable[[Vector], Vector], start: Vector, **options: float
) -> PowerIteration:
    """λ_max, the largest (not the largest in magnitude) eigenvalue of a symmetric operator.

    Power iteration finds the eigenvalue of largest magnitude. At a saddle that
    may be a negative one, λ_min: then H − λ_min·I ⪰ 0, whose dominant eigenvalue
    is λ_max − λ_min, gives λ_max by a second iteration. When the first does not
    settle (±a of equal size, as at zero initial weights), H + ρI with ρ ≈ ‖H v‖,
    the spectral radius, puts +a ahead of −a. Every Rayleigh quotient is at most
    λ_max, so the larger of the two estimates is kept.
    """
    first = power_iteration(matvec, start, **options)
    if first.converged and first.eigenvalue >= 0:
        return first
    # Not converged with v still far from an eigenvector: eigenvalues ±a swap places each
    # step. (Merely slow convergence, λ₂ close to λ₁ > 0, leaves v near one: kept as it is.)
    mixed = not first.converged and 1.0 - abs(first.eigenvalue) / first.norm > math.sqrt(
        options.get("tol", TOL)
    )
    if not (first.converged or mixed):
        return first
    sigma = first.eigenvalue if first.converged else -first.norm
    second = power_iteration(matvec, start, shift=sigma, **options)
    best = second if second.eigenvalue >= first.eigenvalue else first
    return replace(best, iterations=first.iterations + second.iterations, shifted=best is second)


@dataclass(frozen=True)
class Block:
    """The curvature figures of one set of parameter tensors (all, or one layer's W and b)."""

    name: str
    parameters: int
    grad_norm: float  # ‖g‖
    # With learning-rate multipliers S (the whole network under train.lr_scale) the next
    # three are those of S^{1/2} H S^{1/2} (S = I otherwise):
    curvature: float  # gᵀSHSg / gᵀSg, the curvature along the step −Sg (NaN when g = 0)
    eta_opt: float | None  # gᵀSg / gᵀSHSg; None unless gᵀSHSg > 0 (no minimum along −Sg)
    power: PowerIteration

    @property
    def lambda_max(self) -> float:
        return self.power.eigenvalue

    @property
    def stability_bound(self) -> float | None:
        """2/λ_max: the largest stable step of gradient descent on the quadratic model."""
        return 2.0 / self.lambda_max if self.lambda_max > 0 else None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "parameters": self.parameters,
            "grad_norm": self.grad_norm,
            "curvature": self.curvature,
            "eta_opt": self.eta_opt,
            "lambda_max": self.lambda_max,
            "stability_bound": self.stability_bound,
            "power_iteration": asdict(self.power),
        }


@dataclass(frozen=True)
class CurvatureReport:
    """What ``mlp lr`` measures: E on the batch, the whole Hessian, each layer's block."""

    loss: float  # E (data term + penalty) on the batch
    batch: int
    whole: Block
    layers: list[Block]
    adam_eta: float | None  # the η that minimizes E's quadratic model along Adam's first step
    lr_scale: list[float] | None = None  # train.lr_scale, per layer: whole and adam_eta use it
    # Per-layer multipliers from the blocks' λ_max (None: all 1, or a block without positive
    # curvature), and λ_max of S^½ H S^½ under them: the η that goes with them is 1/that.
    suggested_scale: list[float] | None = None
    suggested_lambda: float | None = None


def measure(
    hvp: HessianVectorProduct,
    names: Sequence[str],
    loss: float,
    batch: int,
    generator: np.random.Generator,
    *,
    scales: Sequence[float] | None = None,
    adam_eps: float = 1e-8,
    suggest: bool = True,
    **options: float,
) -> CurvatureReport:
    """Every figure of :class:`CurvatureReport` from the products of one recorded E.

    ``names`` are the layers (two tensors each, weight and bias, in
    ``hvp.params`` order); ``generator`` draws the power iterations' start
    vectors; ``scales`` are the learning-rate multipliers per tensor (``train.lr_scale``,
    see :func:`mlpcli.build.tensor_lr_scales`; None: all 1); ``suggest``: also per-layer
    multipliers from the blocks, and the whole network's λ_max under them.
    """
    n = len(hvp.params)
    whole = _block("all", range(n), hvp, generator, options, scales)
    layers = [
        _block(name, (2 * i, 2 * i + 1), hvp, generator, options) for i, name in enumerate(names)
    ]
    # Adam's first update is −η S g/(|g| + ε) (m̂ = g, v̂ = g² after bias correction): along
    # s = S g/(|g| + ε) the quadratic model E − η gᵀs + ½ η² sᵀHs is lowest at gᵀs / sᵀHs.
    s = _scaled([g / (np.abs(g) + adam_eps) for g in hvp.gradient], scales)
    s_hs = _dot(s, hvp(s))
    adam_eta = _dot(hvp.gradient, s) / s_hs if s_hs > 0 else None
    lr_scale = None if scales is None else list(scales[::2])  # W and b of a layer share one
    suggested = _layer_scales(layers) if suggest else None
    lam = None
    if suggested is not None:  # the blocks are coupled: measure the whole network under them
        tensors = [scale for scale in suggested for _ in (0, 1)]
        lam = _block("all", range(n), hvp, generator, options, tensors).lambda_max
    return CurvatureReport(loss, batch, whole, layers, adam_eta, lr_scale, suggested, lam)


def _block(
    name: str,
    indices: Sequence[int],
    hvp: HessianVectorProduct,
    generator: np.random.Generator,
    options: dict,
    scales: Sequence[float] | None = None,
) -> Block:
    """The figures of the Hessian block of the tensors at ``indices`` (None elsewhere), of
    S^{1/2} H S^{1/2} with per-tensor multipliers ``scales`` (None: of H itself)."""
    inside = set(indices)
    operator = scaled_hessian(hvp, scales)

    def restrict(vector: Vector) -> Vector:
        return [a if i in inside else None for i, a in enumerate(vector)]

    def matvec(v: Vector) -> Vector:
        return restrict(operator(v))

    g = restrict(hvp.gradient)
    sg = _scaled(g, _roots(scales))  # S^{1/2} g
    gsg = _dot(sg, sg)  # gᵀSg
    ghg = _dot(sg, matvec(sg))  # gᵀSHSg
    start = restrict([generator.standard_normal(p.value.shape) for p in hvp.params])
    return Block(
        name=name,
        parameters=sum(hvp.params[i].value.size for i in indices),
        grad_norm=math.sqrt(_dot(g, g)),
        curvature=ghg / gsg if gsg > 0 else math.nan,
        eta_opt=gsg / ghg if ghg > 0 else None,
        power=largest_eigenvalue(matvec, start, **options),
    )


# -- what to do with it -------------------------------------------------------------------


@dataclass(frozen=True)
class Advice:
    """A recommended η for the configured optimizer, why, and per-layer multipliers."""

    lr: float | None  # None: the curvature gives no safe step here
    reason: str
    lr_scale: list[float] | None = None  # for train.lr_scale (SGD only)
    bound: tuple[float, str] | None = None  # the configured SGD's stability bound, its formula
    lr_with_scale: float | None = None  # the η to use with ``lr_scale``: 1/λ_max(S^½ H S^½)


ONE_OVER_LAMBDA = (
    "η = 1/λ_max is the lecture's η_opt = (∂²E/∂w²)⁻¹ for the most curved direction: it "
    "reaches that direction's minimum in one step while every flatter direction still "
    "converges, and it is half the stability bound 2/λ_max, room for the curvature to grow "
    "as training goes on"
)


def stability_bound(optimizer: Any, lam: float) -> tuple[float, str] | None:
    """The largest stable η of the configured SGD on a quadratic of top curvature ``lam``.

    On an eigendirection of curvature λ, with a = ηλ, the update is a linear
    recurrence whose roots stay inside the unit circle iff (Jury's test)
    a < 2 (plain), a < 2(1 + μ) (heavy ball: v ← μv + g, w ← w − ηv), or
    a < 2(1 + μ)/(1 + 2μ) (Nesterov: w ← w − η(g + μv)).
    """
    if optimizer.name != "sgd" or lam <= 0:
        return None
    mu = optimizer.momentum
    if not mu:
        return 2 / lam, "2/λ_max"
    if optimizer.nesterov:
        return 2 * (1 + mu) / ((1 + 2 * mu) * lam), "2(1 + μ)/((1 + 2μ) λ_max)"
    return 2 * (1 + mu) / lam, "2(1 + μ)/λ_max"


def recommend(report: CurvatureReport, optimizer: Any) -> Advice:
    """The η to start from, for ``optimizer`` (the config's ``train.optimizer`` section)."""
    scaled = report.lr_scale is not None
    if optimizer.name in ("adam", "adamw"):
        if report.adam_eta is None:
            return Advice(None, "E curves down along Adam's first step here: scan instead")
        moves = ("every weight of layer i by about η·lr_scale[i]" if scaled
                 else "every weight by about η")  # fmt: skip
        step = "−η S g/(|g| + ε), S = diag(train.lr_scale)" if scaled else "−η g/(|g| + ε)"
        return Advice(
            report.adam_eta,
            f"Adam's first step moves {moves} whatever its gradient (it is {step}), and "
            f"η = {report.adam_eta:.3g} minimizes the quadratic model of E along that step: "
            "larger rates overshoot from the start",
        )
    lam = report.whole.lambda_max
    if lam <= 0:
        return Advice(None, "the Hessian has no positive eigenvalue here: scan instead")
    bound = stability_bound(optimizer, lam)
    reason = ONE_OVER_LAMBDA
    if scaled:
        reason += (
            "; layer i steps at η·lr_scale[i] (train.lr_scale), so H, λ_max and the bound are "
            "those of S^½ H S^½, S = diag(lr_scale)"
        )
    if optimizer.momentum:  # the most curved direction converges at rate √μ for any such η
        reason += f"; with momentum μ = {optimizer.momentum:g} η is stable below {bound[1]}"
    suggested = report.suggested_scale
    with_scale = report.suggested_lambda
    if suggested is not None and not (with_scale and with_scale > 0):
        suggested = with_scale = None
    return Advice(1 / lam, reason, suggested, bound, None if with_scale is None else 1 / with_scale)


def _layer_scales(layers: Sequence[Block]) -> list[float] | None:
    """max_j λ_j / λ_i per layer, which gives every block the curvature of the most curved
    one; None when that is all 1 or a block has no positive curvature. The blocks are
    coupled, so the η to use with them is 1/λ_max of the whole S^½ H S^½ (measured)."""
    lams = [layer.lambda_max for layer in layers]
    if len(lams) < 2 or min(lams) <= 0:
        return None
    top = max(lams)
    scales = [float(f"{top / lam:.2g}") for lam in lams]
    return None if all(s == 1 for s in scales) else scales


# -- on an experiment -------------------------------------------------------------------


def first_batch(exp: Experiment, size: int | None = None) -> Batch:
    """(inputs, targets, class weights) of the batch E is measured on: the first training batch.

    ``size`` defaults to the configured batch size of the first epoch (the
    whole training split in batch mode). A batch smaller than the split takes
    the first rows of the first epoch's order, the very batch the trainer's
    first step sees: shuffled by the same ``shuffle`` stream, or in stored order
    with ``train.shuffle: false``, as the whole split always is. The weights are
    None without ``data.class_weight``.
    """
    n = len(exp.train)
    size = min(size or build.batches(exp.config, n).size_at(0), n)
    shuffled = exp.config.train.shuffle and size < n
    order = rng(exp.config.seed, "shuffle").permutation(n)[:size] if shuffled else np.arange(size)
    return exp.train.batch(order)


def in_float64(exp: Experiment) -> Experiment:
    """A float64 copy of ``exp``'s model (same weights, same input transform), same data."""
    if exp.dtype == np.float64:
        return exp
    config = exp.config.model_copy(update={"dtype": "float64"})
    model = build.model(config, exp.model.inputs, exp.model.n_outputs, exp.model.target_scale)
    for mine, theirs in zip(model.parameters(), exp.model.parameters()):
        mine.value[...] = theirs.value
    return replace(exp, config=config, model=model)


def _recorded(exp: Experiment, batch: int | None) -> tuple[HessianVectorProduct, float, int]:
    """H v of ``exp``'s error on its first batch, at the model's current weights, in float64:
    the error training minimizes, class weights included."""
    exp64 = in_float64(exp)
    x, targets, weights = first_batch(exp64, batch)
    x = x.astype(np.float64, copy=False)
    if targets.dtype.kind == "f":
        targets = targets.astype(np.float64, copy=False)
    if weights is not None:
        weights = weights.astype(np.float64, copy=False)
    e = exp64.objective()(x, targets, weights=weights).total
    return HessianVectorProduct(e, exp64.model.parameters()), float(e.value), len(x)


def curvature_of(exp: Experiment, batch: int | None = None, **options: float) -> CurvatureReport:
    """Measure the curvature of ``exp``'s error at its model's current weights (float64).

    ``options``: ``tol`` and ``max_iterations`` of the power iterations, and
    ``adam_eps``.
    """
    hvp, loss, size = _recorded(exp, batch)
    names = [layer.weight.name.rsplit(".", 1)[0] for layer in exp.model.layers]
    generator = rng(exp.config.seed, "curvature")
    scales = build.tensor_lr_scales(exp.config)
    suggest = exp.config.train.optimizer.name == "sgd"  # lr_scale is suggested for SGD alone
    return measure(hvp, names, loss, size, generator, scales=scales, suggest=suggest, **options)


def lambda_max_of(exp: Experiment, batch: int | None = None, **options: float) -> PowerIteration:
    """λ_max alone (no per-layer figures): the divergence hint's quick measurement, of
    S^{1/2} H S^{1/2} under the configured ``train.lr_scale``."""
    hvp, _, _ = _recorded(exp, batch)
    generator = rng(exp.config.seed, "curvature")
    start = [generator.standard_normal(p.value.shape) for p in hvp.params]
    operator = scaled_hessian(hvp, build.tensor_lr_scales(exp.config))
    return largest_eigenvalue(operator, start, **options)
