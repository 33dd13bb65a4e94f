"""The model's input transform: raw inputs x (N, n_inputs) -> first-layer inputs (N, D').

    x ─▶ [encode: one-hot, fill missing] ─▶ standardize (x − μ) / s ─▶ φ ─▶ first layer

Every step is fixed: fitted once on the training split (categories and fill
values, μ and s from its rows; φ's parameters from its standardized rows and
the config's seed), never trained, and saved with the model, so training,
``mlp eval``, ``mlp predict`` and every later reader apply exactly the same
map. The encoder (``nn/encoding.py``) is there only when some column is text
or missing values are imputed; one-hot and indicator columns are not
standardized (their μ is 0 and s is 1). Arrays that have been
through it are called *prepared*; everything read from a file is *raw*.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpcli.nn.encoding import Encoder
from mlpcli.nn.features import FEATURES, BasisFunctions


class Standardizer:
    """x' = (x − μ) / s with μ, s the per-column mean and standard deviation of the training inputs.

    A constant column gets s = 1 (it becomes all zeros instead of NaN).
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean, self.std = mean, std

    @classmethod
    def fit(cls, x: np.ndarray, rows: np.ndarray | None = None, chunk: int = 65536) -> Standardizer:
        """Per-column mean and std of ``x[rows]`` (all rows by default).

        Accumulated in float64 (a float32 mean over 10⁵ rows loses digits) and
        over chunks of rows, so the training rows are never gathered into a
        copy of the data. A column whose magnitudes reach 1e150 (or stay below
        1e-150) is divided by its largest one first, so that its sum of squares
        can neither overflow nor underflow to zero.
        """
        rows = np.arange(len(x)) if rows is None else rows
        blocks = [rows[start : start + chunk] for start in range(0, len(rows), chunk)]
        peak = np.zeros(x.shape[1])
        for r in blocks:
            np.maximum(peak, np.abs(x[r]).max(axis=0), out=peak)
        scale = np.where((peak >= 1e150) | ((peak > 0) & (peak < 1e-150)), peak, 1.0)
        scaled = bool((scale != 1.0).any())
        total = np.zeros(x.shape[1])
        for r in blocks:
            total += (x[r] / scale if scaled else x[r]).sum(axis=0, dtype=np.float64)
        mean = total / len(rows)
        sq = np.zeros(x.shape[1])
        for r in blocks:
            d = (x[r] / scale if scaled else x[r]) - mean
            sq += (d * d).sum(axis=0)
        std = np.sqrt(sq / len(rows)) * scale
        mean *= scale
        # A constant column has std 0, or rounding noise (0.1 summed n times): either way
        # it carries nothing, and dividing by the noise would blow new data up by 1e16.
        std[std <= 64 * np.finfo(np.float64).eps * peak] = 1.0
        return cls(mean.astype(x.dtype), std.astype(x.dtype))

    def __call__(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        if not inplace:
            return (x - self.mean) / self.std
        x -= self.mean
        x /= self.std
        return x


class InputTransform:
    """Standardization (optional) followed by basis functions φ (optional).

    Parameters
    ----------
    n_inputs : int
        Columns of the raw inputs.
    standardizer, basis, encoder :
        The fitted steps, or None for a step the config or the data leave out.
    """

    def __init__(
        self,
        n_inputs: int,
        standardizer: Standardizer | None = None,
        basis: BasisFunctions | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.n_inputs, self.standardizer, self.basis = n_inputs, standardizer, basis
        self.encoder = encoder

    @property
    def n_encoded(self) -> int:
        """Columns after the encoder (one-hot, indicators): what standardization sees."""
        return self.encoder.n_outputs if self.encoder is not None else self.n_inputs

    @property
    def n_features(self) -> int:
        """D', the width of the prepared inputs (the first layer's fan-in)."""
        return self.basis.n_features(self.n_encoded) if self.basis else self.n_encoded

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        rows: np.ndarray | None,
        *,
        standardize: bool,
        basis: BasisFunctions | None,
        rng: np.random.Generator,
        encoder: Encoder | None = None,
    ) -> InputTransform:
        """Fit on the training rows ``x[rows]`` (all rows when None) of raw inputs (N, n_inputs).

        μ and s come from those rows (after the fitted ``encoder``, if any); φ is
        fitted on the same rows, standardized.
        """
        n_inputs = x.shape[1]
        if encoder is not None:
            x = encoder(x)
        standardizer = Standardizer.fit(x, rows) if standardize else None
        if standardizer is not None and encoder is not None:
            zero_one = ~encoder.numeric_outputs()  # one-hot and indicator columns stay 0/1
            standardizer.mean[zero_one], standardizer.std[zero_one] = 0, 1
        if basis is not None:
            train = x if rows is None else x[rows]  # x[rows] is a copy: standardize it in place
            if standardizer is not None:
                train = standardizer(train, inplace=rows is not None)
            basis.fit(train, rng)
        return cls(n_inputs, standardizer, basis, encoder)

    def __call__(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        """Raw (N, n_inputs) -> prepared (N, D'). ``inplace`` standardizes ``x`` itself
        (for arrays the caller owns and reads no more as raw): no copy of a large dataset.
        With an encoder ``x`` may be a :class:`~mlpcli.data.dataset.Table`."""
        if self.encoder is not None:
            x, inplace = self.encoder(x), True  # a new array: ours to standardize in place
        if self.standardizer is not None:
            x = self.standardizer(x, inplace=inplace)
        if self.basis is not None:
            x = self.basis(x)
        return x

    # -- saved with the model ---------------------------------------------------------
    def tensors(self) -> dict[str, np.ndarray]:
        """``input.mean``, ``input.std`` and ``features.*``, as the model file names them."""
        out: dict[str, np.ndarray] = {} if self.encoder is None else self.encoder.tensors()
        if self.standardizer is not None:
            out["input.mean"] = self.standardizer.mean
            out["input.std"] = self.standardizer.std
        if self.basis is not None:
            out.update({f"features.{k}": v for k, v in self.basis.state().items()})
        return out

    @classmethod
    def from_tensors(
        cls,
        n_inputs: int,
        tensors: dict[str, np.ndarray],
        basis: dict[str, Any] | None,
        encoder: Encoder | None = None,
    ) -> InputTransform:
        """Rebuild from :meth:`tensors`; ``basis`` is the config's ``model.features`` section,
        ``encoder`` the rebuilt encoder (``Encoder.from_saved``), if the model has one.

        Raises ValueError (or KeyError, IndexError) when the tensors do not fit.
        """
        standardizer = None
        width = n_inputs if encoder is None else encoder.n_outputs
        if "input.mean" in tensors or "input.std" in tensors:
            mean, std = tensors.get("input.mean"), tensors.get("input.std")
            if mean is None or std is None or mean.shape != (width,) or std.shape != (width,):
                raise ValueError(f"input.mean and input.std must both have shape ({width},)")
            standardizer = Standardizer(mean, std)
        phi = None
        if basis is not None:
            params = {k: v for k, v in basis.items() if k != "type"}
            state = {
                k[len("features.") :]: v for k, v in tensors.items() if k.startswith("features.")
            }
            phi = FEATURES[basis["type"]].from_state(state, **params)
        return cls(n_inputs, standardizer, phi, encoder)
