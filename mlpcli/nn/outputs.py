"""Standardized regression targets: train on t̂ = (t − μ) / s, report y = ŷ s + μ.

A target in raw units (a price, a blood value of 25–346) makes the squared
error, its gradient and its curvature s² times larger than for a target of
unit scale, so the learning rate that trains one diverges on the other.
Fitting μ and s per target column on the training rows and training the
network on t̂ removes the scale; every number a user sees (losses in
metrics.csv and the summary, ``mlp eval``, ``mlp predict``) is mapped back to
the original units, and the model file carries μ and s (``target.mean``,
``target.std``) so that any reader can do the same.

In original units the loss of one example is ½ Σ_k (y_k − t_k)² =
½ Σ_k s_k² (ŷ_k − t̂_k)²: each column's error weighs s_k² times its
standardized one, which is why the reported loss is computed from the outputs
mapped back, not by rescaling the training loss.
"""

from __future__ import annotations

import numpy as np

from mlpcli.nn.inputs import Standardizer


class TargetScale:
    """Per-column mean μ and standard deviation s of the training targets (K,) each."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.standardizer = Standardizer(mean, std)

    @property
    def mean(self) -> np.ndarray:
        return self.standardizer.mean

    @property
    def std(self) -> np.ndarray:
        return self.standardizer.std

    @classmethod
    def fit(cls, targets: np.ndarray, rows: np.ndarray | None = None) -> TargetScale:
        """From the training rows of (N, K) targets (a constant column gets s = 1)."""
        fitted = Standardizer.fit(targets, rows)
        return cls(fitted.mean, fitted.std)

    def encode(self, targets: np.ndarray) -> np.ndarray:
        """t (N, K) in original units -> t̂ = (t − μ) / s, a new array."""
        return self.standardizer(targets)

    def decode(self, outputs: np.ndarray, inplace: bool = False) -> np.ndarray:
        """ŷ (N, K) in standardized units -> y = ŷ s + μ (in place when asked)."""
        if not inplace:
            return outputs * self.std + self.mean
        outputs *= self.std
        outputs += self.mean
        return outputs

    def tensors(self) -> dict[str, np.ndarray]:
        return {"target.mean": self.mean, "target.std": self.std}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], n_outputs: int) -> TargetScale | None:
        """Rebuild from :meth:`tensors` (None when the file has neither); ValueError if they do
        not fit ``n_outputs``."""
        mean, std = tensors.get("target.mean"), tensors.get("target.std")
        if mean is None and std is None:
            return None
        if mean is None or std is None or mean.shape != (n_outputs,) or std.shape != (n_outputs,):
            raise ValueError(f"target.mean and target.std must both have shape ({n_outputs},)")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("target.mean and target.std must be finite, with std > 0")
        return cls(mean, std)
