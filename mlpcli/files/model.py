"""``model.safetensors``: a trained network and what it needs to read new data.

Tensors (docs/design.md, "Run directory"): ``layers.{i}.weight`` (out, in)
and ``layers.{i}.bias`` (out,), ``input.mean`` / ``input.std`` when inputs are
standardized, ``features.*`` for basis functions, ``target.mean`` /
``target.std`` (K,) when regression targets are (outputs y = ŷ·std + mean). String metadata:
``format`` = ``mlpcli/1``, ``config`` (the resolved config as JSON),
``classes`` (JSON list), ``n_inputs``, ``features`` and ``targets`` (column
names, JSON lists), with categorical columns or imputed missing values the
``encoding`` (JSON: categories, policies, indicator columns; the numeric fill
values are the tensor ``input.fill``), and with ``data.class_weight`` the
weights c_k the loss used (``class_weight``, a JSON list in class order).
PyTorch reads it with ``safetensors.torch.load_file``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli import build
from mlpcli.config import Config, config_from_json, to_json
from mlpcli.data.dataset import Columns
from mlpcli.errors import ModelFileError
from mlpcli.files.safetensors import read_safetensors, write_safetensors
from mlpcli.nn.encoding import Encoder
from mlpcli.nn.heads import HEADS
from mlpcli.nn.inputs import InputTransform
from mlpcli.nn.model import MLP
from mlpcli.nn.outputs import TargetScale

MODEL_FORMAT = "mlpcli/1"


@dataclass
class SavedModel:
    """A network with what it needs to read new data: config, classes, column names."""

    model: MLP
    config: Config
    classes: np.ndarray | None
    feature_names: list[str]
    target_names: list[str]
    path: Path | None = None
    class_weight: np.ndarray | None = None  # c_k of the weighted loss, in class order

    @property
    def columns(self) -> Columns:
        """The training header, by which other CSV files are read (the text features:
        those its encoder one-hot encodes)."""
        encoder = self.model.inputs.encoder
        text = [] if encoder is None else encoder.text_names
        return Columns(self.feature_names, self.target_names, text)


def model_tensors(model: MLP, params: list[np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every tensor of the model file (optionally with other parameter values)."""
    values = params if params is not None else [p.value for p in model.parameters()]
    out = {p.name: v for p, v in zip(model.parameters(), values)}
    out.update(model.inputs.tensors())
    if model.target_scale is not None:
        out.update(model.target_scale.tensors())
    return out


def save_model(path: Path, saved: SavedModel, params: list[np.ndarray] | None = None) -> None:
    metadata = {
        "format": MODEL_FORMAT,
        "config": to_json(saved.config),
        "classes": json.dumps([] if saved.classes is None else saved.classes.tolist()),
        "n_inputs": str(saved.model.n_inputs),
        "features": json.dumps(saved.feature_names),
        "targets": json.dumps(saved.target_names),
    }
    if saved.model.inputs.encoder is not None:
        metadata["encoding"] = json.dumps(saved.model.inputs.encoder.metadata())
    if saved.class_weight is not None:
        metadata["class_weight"] = json.dumps(saved.class_weight.tolist())
    write_safetensors(path, model_tensors(saved.model, params), metadata)


def load_model(path: str | Path) -> SavedModel:
    """Rebuild the network saved in ``path`` (a model file or a run directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    tensors, meta = read_safetensors(path)
    if meta.get("format") != MODEL_FORMAT:
        raise ModelFileError(
            f"{path}: not an mlpcli model (format {meta.get('format')!r}, "
            f"expected {MODEL_FORMAT!r})"
        )
    try:
        return _rebuild(path, tensors, meta)
    except (KeyError, IndexError, ValueError, TypeError) as e:
        # A well-formed file whose parts disagree: crafted, or edited by hand.
        raise ModelFileError(f"{path}: tensors and metadata do not fit together ({e!r})") from None


def _rebuild(path: Path, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> SavedModel:
    config = config_from_json(meta.get("config", ""), str(path))
    classes, n_inputs, features, targets = _read_metadata(path, meta)
    spec = config.model.features
    try:
        encoder = None
        if "encoding" in meta:
            encoder = Encoder.from_saved(features, json.loads(meta["encoding"]), tensors)
        inputs = InputTransform.from_tensors(
            n_inputs, tensors, None if spec is None else spec.model_dump(), encoder
        )
    except (KeyError, ValueError, IndexError, TypeError) as e:
        raise ModelFileError(f"{path}: input tensors do not fit the config ({e})") from None
    last_name = f"layers.{len(config.model.hidden)}.weight"
    if last_name not in tensors or tensors[last_name].ndim != 2:
        raise ModelFileError(
            f"{path}: the file is for a different architecture (no 2-D {last_name})"
        )
    n_outputs = tensors[last_name].shape[0]
    if config.data.task == "classification":
        if classes is None or HEADS[config.loss]().n_outputs(len(classes)) != n_outputs:
            raise ModelFileError(
                f"{path}: {0 if classes is None else len(classes)} classes in the metadata "
                f"do not fit {n_outputs} outputs"
            )
    try:
        target_scale = TargetScale.from_tensors(tensors, n_outputs)
    except ValueError as e:
        raise ModelFileError(f"{path}: {e}") from None
    model = build.model(config, inputs, n_outputs, target_scale)
    load_parameters(model, tensors, str(path))
    weight = _class_weight(path, meta, classes)
    return SavedModel(model, config, classes, features, targets, path, weight)


def _class_weight(
    path: Path, meta: dict[str, str], classes: np.ndarray | None
) -> np.ndarray | None:
    """The loss's class weights from the metadata: one positive finite number per class."""
    if "class_weight" not in meta:
        return None
    try:
        weight = np.array(json.loads(meta["class_weight"]), dtype=np.float64)
    except (json.JSONDecodeError, ValueError, TypeError):
        raise ModelFileError(f"{path}: corrupt metadata (class_weight)") from None
    n = 0 if classes is None else len(classes)
    if weight.shape != (n,) or not (np.isfinite(weight) & (weight > 0)).all():
        raise ModelFileError(f"{path}: class_weight must hold one positive weight per class")
    return weight


def _read_metadata(
    path: Path, meta: dict[str, str]
) -> tuple[np.ndarray | None, int, list[str], list[str]]:
    """(classes, n_inputs, feature names, target names) from the model file's metadata."""
    try:
        classes_list = json.loads(meta.get("classes", "[]"))
        n_inputs = int(meta.get("n_inputs", ""))
        features = json.loads(meta.get("features", "null")) or [f"x{i}" for i in range(n_inputs)]
        targets = json.loads(meta.get("targets", "null")) or ["y"]
    except (json.JSONDecodeError, ValueError, TypeError):
        raise ModelFileError(f"{path}: corrupt metadata (classes, features or n_inputs)") from None

    def flat(values: object, kinds: tuple[type, ...]) -> bool:
        return isinstance(values, list) and all(
            isinstance(v, kinds) and not isinstance(v, bool) for v in values
        )

    if not (
        flat(classes_list, (int, float, str)) and flat(features, (str,)) and flat(targets, (str,))
    ):
        raise ModelFileError(f"{path}: corrupt metadata (classes, features or targets)")
    if len(features) != n_inputs:
        raise ModelFileError(f"{path}: corrupt metadata ({len(features)} feature names for "
                             f"{n_inputs} inputs)")  # fmt: skip
    return (np.array(classes_list) if classes_list else None), n_inputs, features, targets


def load_parameters(model: MLP, tensors: dict[str, np.ndarray], source: str) -> None:
    """Copy ``layers.*`` tensors into ``model``; every name and shape must match."""
    expected = {p.name: p for p in model.parameters()}
    given = {k for k in tensors if k.startswith("layers.")}
    missing, extra = sorted(set(expected) - given), sorted(given - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else []
        )
        raise ModelFileError(
            f"{source}: the file is for a different architecture ({'; '.join(parts)})"
        )
    for name, p in expected.items():
        t = tensors[name]
        if t.shape != p.value.shape:
            raise ModelFileError(
                f"{source}: tensor {name} has shape {tuple(t.shape)}, "
                f"but this network's is {p.value.shape}"
            )
        if not np.isfinite(t).all():
            raise ModelFileError(f"{source}: tensor {name} holds NaN or infinite values")
        p.value[...] = t


def init_from(model: MLP, source: Path) -> None:
    """Start ``model`` from the weights of a saved model file or run directory."""
    path = source / "model.safetensors" if source.is_dir() else source
    tensors, _ = read_safetensors(path)
    load_parameters(model, tensors, str(path))
