"""Built-in dataset generators, usable from a config (``train: {generator: moons, noise: 0.2}``).

Every generator takes the ``numpy.random.Generator`` first and its own
keyword parameters after it; the signatures are the config's schema (types
and defaults are read from them), so a parameter documented here is a
parameter a config may set. Each returns ``(x, y)``: x of shape (N, D) in
float64, y of shape (N,) integer class labels, or (N, 1) real targets for
``sine``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class BadParameter(ValueError):
    """A generator parameter is out of range; ``param`` names it for the message."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def _require(ok: bool, param: str, message: str) -> None:
    if not ok:
        raise BadParameter(param, message)


def _check_common(n_samples: int, noise: float, minimum: int = 2) -> None:
    _require(n_samples >= minimum, "n_samples", f"must be ≥ {minimum}")
    _require(noise >= 0, "noise", "must be ≥ 0")


def xor(rng: np.random.Generator, n_samples: int = 200, noise: float = 0.2) -> tuple:
    """The four corners of {−1, +1}² in turn, plus N(0, noise²) jitter; class 1 iff x₁·x₂ < 0.

    ``n_samples: 4, noise: 0`` gives exactly the lecture's four XOR points.
    """
    _check_common(n_samples, noise, minimum=4)
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    x = corners[np.arange(n_samples) % 4] + rng.normal(0.0, noise, (n_samples, 2))
    y = (np.arange(n_samples) % 4 == 1) | (np.arange(n_samples) % 4 == 2)
    return x, y.astype(np.int64)


def moons(rng: np.random.Generator, n_samples: int = 200, noise: float = 0.1) -> tuple:
    """Two interleaving half circles (class 0 on top, class 1 below), plus Gaussian noise."""
    _check_common(n_samples, noise)
    return _two_curves(
        rng,
        n_samples,
        noise,
        lambda t: np.stack([np.cos(t), np.sin(t)], 1),
        lambda t: np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1),
        lambda n: np.linspace(0, np.pi, n),
    )


def circles(
    rng: np.random.Generator, n_samples: int = 200, noise: float = 0.05, factor: float = 0.5
) -> tuple:
    """A unit circle (class 0) around a smaller one of radius ``factor`` (class 1)."""
    _check_common(n_samples, noise)
    _require(0 < factor < 1, "factor", "must be between 0 and 1 (exclusive)")
    return _two_curves(
        rng,
        n_samples,
        noise,
        lambda t: np.stack([np.cos(t), np.sin(t)], 1),
        lambda t: factor * np.stack([np.cos(t), np.sin(t)], 1),
        lambda n: np.linspace(0, 2 * np.pi, n, endpoint=False),
    )


def _two_curves(rng, n_samples: int, noise: float, first, second, angles) -> tuple:
    """Half the points (class 0) on curve ``first``, the rest (class 1) on ``second``,
    at evenly spaced ``angles(n)``, jittered by N(0, noise²) and shuffled."""
    n0 = n_samples // 2
    n1 = n_samples - n0
    x = np.concatenate([first(angles(n0)), second(angles(n1))])
    y = np.repeat([0, 1], [n0, n1])
    return _shuffled(rng, x + rng.normal(0.0, noise, x.shape), y)


def spirals(
    rng: np.random.Generator,
    n_samples: int = 300,
    classes: int = 3,
    noise: float = 0.2,
    turns: float = 1.0,
) -> tuple:
    """``classes`` interleaved spiral arms from the origin, one per class (the CS231n spiral).

    Arm k at radius r ∈ [0, 1] has angle 2π·turns·r + 2πk/K, jittered by N(0, noise²).
    """
    _check_common(n_samples, noise)
    _require(classes >= 2, "classes", "must be ≥ 2")
    _require(n_samples >= classes, "n_samples", f"must be ≥ classes ({classes})")
    _require(turns > 0, "turns", "must be > 0")
    y = np.arange(n_samples) % classes
    r = np.empty(n_samples)
    for k in range(classes):
        members = y == k
        r[members] = np.linspace(0.0, 1.0, members.sum())
    angle = 2 * np.pi * (turns * r + y / classes) + rng.normal(0.0, noise, n_samples)
    x = np.stack([r * np.sin(angle), r * np.cos(angle)], 1)
    return _shuffled(rng, x, y)


def blobs(
    rng: np.random.Generator,
    n_samples: int = 300,
    classes: int = 3,
    features: int = 2,
    spread: float = 1.0,
    box: float = 10.0,
) -> tuple:
    """``classes`` Gaussian clusters of std ``spread``, centers uniform in [−box, box]^D."""
    _require(n_samples >= classes, "n_samples", f"must be ≥ classes ({classes})")
    _require(classes >= 2, "classes", "must be ≥ 2")
    _require(features >= 1, "features", "must be ≥ 1")
    _require(spread > 0, "spread", "must be > 0")
    _require(box > 0, "box", "must be > 0")
    centers = rng.uniform(-box, box, (classes, features))
    y = np.arange(n_samples) % classes
    x = centers[y] + rng.normal(0.0, spread, (n_samples, features))
    return _shuffled(rng, x, y)


def sine(
    rng: np.random.Generator,
    n_samples: int = 200,
    noise: float = 0.0,
    low: float = -np.pi,
    high: float = np.pi,
) -> tuple:
    """Regression: x uniform in [low, high], t = sin(x) + N(0, noise²)."""
    _check_common(n_samples, noise)
    _require(high > low, "high", "must be > low")
    x = rng.uniform(low, high, (n_samples, 1))
    return x, TARGET_FUNCTIONS["sine"][0](x) + rng.normal(0.0, noise, x.shape)


def linear(
    rng: np.random.Generator, n_samples: int = 200, features: int = 2, margin: float = 0.1
) -> tuple:
    """A linearly separable set: x uniform in [−1, 1]^D, class 1 iff w·x > 0 for a random unit w.

    Each point is pushed ``margin`` further from the hyperplane, so the
    classes are separated by a gap of 2·margin (a perceptron converges).
    """
    _require(n_samples >= 2, "n_samples", "must be ≥ 2")
    _require(features >= 1, "features", "must be ≥ 1")
    _require(margin >= 0, "margin", "must be ≥ 0")
    w = rng.normal(size=features)
    w /= np.linalg.norm(w)
    x = rng.uniform(-1.0, 1.0, (n_samples, features))
    x[:2] = [0.5 * w, -0.5 * w]  # both classes always present
    side = np.where(x @ w > 0, 1.0, -1.0)
    x += (margin * side)[:, None] * w
    return x, (side > 0).astype(np.int64)


def _shuffled(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> tuple:
    order = rng.permutation(len(x))
    return x[order], y[order]


#: The config's ``generator`` values.
GENERATORS: dict[str, Callable[..., tuple]] = {
    f.__name__: f for f in (xor, moons, circles, spirals, blobs, sine, linear)
}

#: Generators whose targets are real numbers.
REGRESSION_GENERATORS = frozenset({"sine"})

#: The noise-free function a regression generator samples, and its formula (for pictures).
TARGET_FUNCTIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "sine": (np.sin, "sin(x)"),
}
